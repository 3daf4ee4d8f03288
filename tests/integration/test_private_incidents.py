"""Private incidents through the real entry points: a private incident declared from the modal (title,
description), given a service, a note and a follow-up by its members, then read by a non-member on every
surface (slash commands, App Home, the announcement, PagerDuty, the CLI). Everything the fakes recorded
and everything the CLI printed is scanned for the incident's words: none reach a non-member; members
read them.

Members are the incident's declarer, lead and IRT (README: Private incidents).

The CLI's `list` and its three refusals (timeline, postmortem, `run "INC-1 status"` for a non-member) run as real
processes; its other reads run the same entry function in this process (``incidentbot_here``), with the same clean
environment and folder.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.app import filing_state, record_filed
from bot.cli.demo import ReplayClock
from bot.domain.grammar import parse_command
from bot.domain.privacy import PrivatePublication
from bot.integrations.trackers.delivery import TrackerDeliverer
from bot.integrations.trackers.github import GitHubTracker
from bot.integrations.trackers.plan import TrackerPlan
from bot.outbox.worker import OutboxWorker, route_by_kind
from bot.store import IncidentStore
from bot.usecases.shared import Actor
from bot.usecases.wiring import wire_usecases
from tests.support import signing
from tests.support.bot_server import RunningBot, running_bot, sqlite_url
from tests.support.cli import assert_one_line_error, incidentbot, run_incidentbot
from tests.support.fake_github import TOKEN as GITHUB_TOKEN
from tests.support.fake_github import FakeGitHub
from tests.support.fake_pagerduty import ROUTING_KEY, FakePagerDuty
from tests.support.fake_slack import DEFAULT_TOKEN, FakeSlack
from tests.support.fake_slack.params import flag

TITLE = "Payroll export leaks SSNs zq7x"
DESCRIPTION = "Nightly job copies ledger-q9k to a public bucket"
SERVICE = "payroll-svc-w3"
NOTE = "suspect the vault-r8m credentials"
FOLLOWUP = "rotate keys of bucket-k5p"
SECRETS = ("zq7x", "payroll export", "ledger-q9k", SERVICE, "vault-r8m", "bucket-k5p")
"""Words only the incident's members may read (compared in lower case)."""

ALICE, BOB, CAROL = "U0ALICE", "U0BOB", "U0CAROL"
MEMBERS = (ALICE, CAROL)
"""Alice declares the incident and assembles Carol; Bob is in the workspace but not in the incident."""


def leaked(text: str) -> list[str]:
    """The secret words found in ``text``."""
    lowered = text.lower()
    return [s for s in SECRETS if s.lower() in lowered]


class Workspace:
    """People using the running bot: each slash command's response_url is named after its user."""

    def __init__(self, bot: RunningBot, fake: FakeSlack) -> None:
        self.bot, self.fake, self.sent = bot, fake, 0
        self.replies: dict[str, list[str]] = {ALICE: [], BOB: [], CAROL: []}

    def say(self, user: str, text: str, channel: str = "C0GENERAL") -> str:
        """``/incident text`` typed by ``user`` in ``channel``; every answer they read (ack and response_url)."""
        self.sent += 1
        name = f"{user}-{self.sent}"
        before = len(self.fake.calls_to("response_url"))
        result = self.bot.command(
            text,
            user_id=user,
            user_name=user.lower(),
            channel_id=channel,
            response_url=self.fake.response_url(name),
        )
        self.bot.drain()
        assert result.status == 200, result.body
        answers = [result.body] + [
            json.dumps(c.params) for c in self.fake.calls_to("response_url")[before:] if c.path.endswith(f"/{name}")
        ]
        self.replies[user] += answers
        return "\n".join(answers)

    def home(self, user: str) -> str:
        """The App Home ``user`` sees after opening it."""
        assert self.bot.event(signing.app_home_opened_event(user)).status == 200
        self.bot.drain()
        return json.dumps(self.fake.home_views[user])


def members_only(call: Any, private_channel: str) -> bool:
    """True for a Slack call only the incident's members read: into its private channel, a DM, ephemeral or
    Home tab of a member, the answer to a member's command."""
    params = call.params
    if call.method == "response_url":
        return call.path.rsplit("/", 1)[-1].split("-")[0] in MEMBERS
    if call.method == "views.publish":
        return params.get("user_id") in MEMBERS
    if call.method == "chat.postEphemeral":
        return params.get("user") in MEMBERS and params.get("channel") == private_channel
    channel = params.get("channel") or params.get("channel_id")
    return channel == private_channel or channel in MEMBERS


@pytest.fixture()
def private_bot(
    migrated_database: None, database_url: str, fake_slack: FakeSlack, pagerduty: FakePagerDuty
) -> Iterator[RunningBot]:
    """The bot on each database, announcing in #general, paging the fake PagerDuty."""
    with running_bot(
        database_url, fake_slack.base_url, PAGERDUTY_ROUTING_KEY=ROUTING_KEY, PAGERDUTY_EVENTS_URL=pagerduty.url
    ) as running:
        yield running


def declare_from_modal(bot: RunningBot, fake: FakeSlack) -> str:
    """Alice submits the declare modal with the private box ticked; returns the new channel's id."""
    values = {
        "declare_title": {"title_input": signing.text_input(TITLE)},
        "declare_severity": {"severity_select": signing.static_select("sev1")},
        "declare_description": {"description_input": signing.text_input(DESCRIPTION)},
        "declare_private": {
            "private_checkbox": {
                "type": "checkboxes",
                "selected_options": [{"text": {"type": "plain_text", "text": "Private incident"}, "value": "private"}],
            }
        },
    }
    body = signing.view_submission_body(
        "incident_declare_modal", values, private_metadata=json.dumps({"channel_id": "C0GENERAL"})
    )
    assert bot.interaction(body).status == 200
    bot.drain()
    created = [c for c in fake.calls_to("conversations.create") if c.ok]
    assert len(created) == 1, [c.describe() for c in fake.calls]
    return str(created[0].response["channel"]["id"])  # type: ignore[index]


class TestPrivateIncidentOnEverySurface:
    def test_nothing_of_a_private_incident_reaches_a_non_member(
        self,
        private_bot: RunningBot,
        fake_slack: FakeSlack,
        pagerduty: FakePagerDuty,
        database_url: str,
        tmp_path: Path,
    ) -> None:
        """Declared private from the modal and worked on by its members: Bob, not a member, reads no word of it in
        Slack, PagerDuty nor the CLI; Alice and Carol read its title."""
        people = Workspace(private_bot, fake_slack)
        channel = declare_from_modal(private_bot, fake_slack)

        created = fake_slack.calls_to("conversations.create")[0]
        assert flag(created.params, "is_private") is True
        assert created.params["name"] == "inc-1-private-incident"
        assert fake_slack.channel(channel).is_private
        assert private_bot.usecases.incidents.get(1).private is True
        declared = private_bot.usecases.incidents.timeline(1)[1][0]
        assert (declared.kind.value, declared.data.get("private")) == ("declared", True)

        people.say(ALICE, f"service {SERVICE}", channel)
        people.say(ALICE, f"note {NOTE}", channel)
        assert "INC-1 is a private incident" in people.say(BOB, "INC-1 followups")  # none yet: refused all the same
        people.say(ALICE, f"followup {FOLLOWUP} @carol".replace("@carol", "<@U0CAROL|carol>"), channel)
        people.say(ALICE, "assemble <@U0CAROL|carol>", channel)

        # Bob, outside: every reading command, and App Home.
        bob_list = people.say(BOB, "list")
        assert "INC-1" in bob_list and "private incident" in bob_list
        for text in ("INC-1 status", "INC-1 timeline", "INC-1 followups", "INC-1 postmortem"):
            refused = people.say(BOB, text)
            assert "INC-1 is a private incident" in refused, (text, refused)
        people.say(BOB, "followups")
        bob_home = people.home(BOB)
        assert "INC-1" in bob_home and "private incident" in bob_home
        # Strict roles are on for a private incident though INCIDENT_STRICT_ROLES is not set.
        assert "INC-1 is a private incident: only its declarer, lead and IRT may change it." in people.say(
            BOB, "INC-1 severity sev3"
        )
        assert private_bot.usecases.incidents.get(1).severity.value == "sev1"

        # The members read it.
        assert TITLE in people.say(ALICE, "list")
        assert TITLE in people.say(CAROL, "INC-1 status")
        assert TITLE in people.home(CAROL)

        people.say(ALICE, "resolve the bucket is closed", channel)  # the postmortem draft goes to the channel
        assert fake_slack.uploaded_files and {f.channel_id for f in fake_slack.uploaded_files} == {channel}

        announcements = [c for c in fake_slack.calls_to("chat.postMessage") if c.params.get("channel") == "C0GENERAL"]
        assert len(announcements) == 1
        assert "INC-1: a private incident was declared." in announcements[0].params["text"]

        pages = pagerduty.wait_for(2)  # the trigger, and the resolve
        assert pages[0]["payload"]["summary"] == "private incident INC-1"
        assert pages[0]["payload"]["source"] == "incidentbot"

        outside = [c for c in fake_slack.calls if not members_only(c, channel)]
        assert {c.method for c in outside} >= {"chat.postMessage", "views.publish", "conversations.create"}
        for call in outside:
            seen = json.dumps([call.params, call.response], ensure_ascii=False, default=str)
            assert not leaked(seen), (call.method, seen[:600])
        assert not leaked("\n".join(people.replies[BOB]))
        assert not leaked(json.dumps(pagerduty.events))
        assert leaked(json.dumps([c.params for c in fake_slack.calls if members_only(c, channel)])), "members read it"

        # The CLI, on the same database: titles and details only with --include-private. `list` and the refusals
        # are real processes, the other reads the entry function in this process.
        def cli(*args: str, process: bool = False) -> str:
            result = run_incidentbot(*args, process=process, database_url=database_url, cwd=tmp_path)
            assert result.returncode == 0, result.stderr
            return result.stdout

        hidden = {
            "list": cli("list", process=True),
            "list json": cli("list", "--format", "json"),
            "report": cli("report"),
            "report json": cli("report", "--format", "json"),
            "report csv": cli("report", "--format", "csv"),
            "followups": cli("followups"),
            "followups csv": cli("followups", "--format", "csv"),
            "followups json": cli("followups", "INC-1", "--format", "json"),
        }
        for surface, out in hidden.items():
            assert not leaked(out), (surface, out)
        assert "private incident" in hidden["list"]
        assert json.loads(hidden["list json"])["incidents"][0]["private"] is True
        assert "(private)" in hidden["report csv"]
        assert "a follow-up of a private incident" in hidden["followups csv"]
        for verb in ("timeline", "postmortem"):
            result = incidentbot(verb, "INC-1", database_url=database_url, cwd=tmp_path)
            assert_one_line_error(result, "INC-1 is a private incident", "--include-private")
            assert not leaked(result.stdout + result.stderr)
        assert not leaked(cli("run", "list", "--user", BOB)) and TITLE in cli("run", "list", "--user", ALICE)
        assert not leaked(cli("run", "followups", "--user", ALICE))
        result = incidentbot("run", "INC-1 status", "--user", BOB, database_url=database_url, cwd=tmp_path)
        assert_one_line_error(result, "INC-1 is a private incident")
        assert TITLE in cli("run", "INC-1 status", "--user", CAROL)
        assert TITLE in cli("list", "--include-private")
        assert TITLE in cli("timeline", "INC-1", "--include-private")
        assert NOTE in cli("timeline", "INC-1", "--format", "json", "--include-private")
        assert SERVICE in cli("report", "--format", "csv", "--include-private")
        assert FOLLOWUP in cli("followups", "--include-private")


class TestPrivateAnnouncementSetting:
    def test_off_announces_nothing_and_a_public_incident_is_announced_as_before(
        self, fake_slack: FakeSlack, tmp_path: Path
    ) -> None:
        """INCIDENT_PRIVATE_ANNOUNCE=off: the announce channel hears nothing of a private incident, and the whole
        announcement of a public one."""
        with running_bot(sqlite_url(tmp_path), fake_slack.base_url, INCIDENT_PRIVATE_ANNOUNCE="off") as bot:
            people = Workspace(bot, fake_slack)
            people.say(ALICE, f"declare --private sev2 {TITLE}")
            assert [flag(c.params, "is_private") for c in fake_slack.calls_to("conversations.create")] == [True]
            assert not [c for c in fake_slack.calls_to("chat.postMessage") if c.params.get("channel") == "C0GENERAL"]
            people.say(ALICE, "declare sev2 Checkout is slow")
            general = [c for c in fake_slack.calls_to("chat.postMessage") if c.params.get("channel") == "C0GENERAL"]
            assert len(general) == 1 and "Checkout is slow" in general[0].params["text"]
            assert flag(fake_slack.calls_to("conversations.create")[1].params, "is_private") is False


class TestPrivateChannelScopes:
    def test_without_groups_write_slack_refuses_the_private_channel_naming_the_scope(
        self, fake_slack: FakeSlack, tmp_path: Path
    ) -> None:
        """A token lacking groups:write (the manifest asks for it): conversations.create is_private gets
        missing_scope, needed groups:write; a public incident's channel is still created."""
        fake_slack.scopes.remove("groups:write")
        with running_bot(sqlite_url(tmp_path), fake_slack.base_url) as bot:
            people = Workspace(bot, fake_slack)
            people.say(ALICE, f"declare --private sev3 {TITLE}")
            refused = fake_slack.calls_to("conversations.create")[0]
            assert (refused.response or {}).get("error") == "missing_scope"
            assert (refused.response or {}).get("needed") == "groups:write"
            people.say(ALICE, "declare sev3 Checkout is slow")
            assert [c.ok for c in fake_slack.calls_to("conversations.create")][-1] is True
            fake_slack.scopes.append("groups:write")  # let the shutdown drain finish


class TestFakeSlackPrivateChannels:
    """The fake answers as Slack documents for private channels (``tests/support/fake_slack/scopes.py``)."""

    def test_a_private_channel_the_bot_is_not_in_is_not_found(self, fake_slack: FakeSlack) -> None:
        """Slack hides a private channel from a non-member: channel_not_found, not not_in_channel."""
        fake_slack.add_channel("G0SECRET", "secret-room", members=[ALICE], is_private=True, bot_member=False)
        fake_slack.add_channel("C0OPEN", "open-room", members=[ALICE], bot_member=False)
        client = WebClient(token=DEFAULT_TOKEN, base_url=fake_slack.base_url)
        for method, extra in (
            ("chat_postMessage", {"text": "hello"}),
            ("conversations_history", {}),
            ("conversations_members", {}),
            ("conversations_info", {}),
        ):
            with pytest.raises(SlackApiError) as refused:
                getattr(client, method)(channel="G0SECRET", **extra)
            assert refused.value.response["error"] == "channel_not_found", method
        with pytest.raises(SlackApiError) as public:
            client.chat_postMessage(channel="C0OPEN", text="hello")
        assert public.value.response["error"] == "not_in_channel"

    @pytest.mark.parametrize(
        ("scope", "method", "arguments"),
        [
            ("groups:write", "conversations_create", {"name": "inc-9", "is_private": True}),
            ("groups:write", "conversations_setTopic", {"channel": "G0SECRET", "topic": "x"}),
            ("groups:write", "conversations_invite", {"channel": "G0SECRET", "users": "U0BOB"}),
            ("groups:history", "conversations_history", {"channel": "G0SECRET"}),
            ("groups:read", "conversations_info", {"channel": "G0SECRET"}),
        ],
    )
    def test_a_private_channel_call_without_its_scope_is_missing_scope(
        self, fake_slack: FakeSlack, scope: str, method: str, arguments: dict[str, Any]
    ) -> None:
        """Without the groups:* scope the call needs, Slack answers missing_scope naming it; with it, the call works."""
        fake_slack.add_channel("G0SECRET", "secret-room", members=[ALICE], is_private=True)
        client = WebClient(token=DEFAULT_TOKEN, base_url=fake_slack.base_url)
        if scope in fake_slack.scopes:
            fake_slack.scopes.remove(scope)
        with pytest.raises(SlackApiError) as refused:
            getattr(client, method)(**arguments)
        assert (refused.value.response["error"], refused.value.response["needed"]) == ("missing_scope", scope)
        fake_slack.scopes.append(scope)
        assert getattr(client, method)(**arguments)["ok"] is True
        assert client.conversations_create(name="inc-10", is_private=False)["ok"] is True


class TestPrivatePublication:
    def test_publishing_a_private_incident_is_refused_and_queues_nothing(
        self, store: IncidentStore, clock: ReplayClock
    ) -> None:
        """With Confluence and Git configured, a private incident's postmortem is refused (publication is read by
        people outside it); a public one's is queued to both targets."""
        usecases = wire_usecases(store, clock, publish_targets=("confluence", "git"))
        alice = Actor(ALICE, "alice")
        usecases.incidents.run(parse_command(f"declare --private sev2 {TITLE}"), alice)
        usecases.incidents.run(parse_command("declare sev2 Checkout is slow"), alice)
        with pytest.raises(PrivatePublication, match="INC-1 is a private incident") as refused:
            usecases.publishing.request(alice, 1)
        assert not leaked(refused.value.user_message)
        assert [i.kind for i in usecases.outbox.items("pending")] == []
        usecases.publishing.request(alice, 2)
        assert sorted(i.kind for i in usecases.outbox.items("pending")) == ["publish.confluence", "publish.git"]


class TestPrivateFollowupFiledInTracker:
    async def test_the_issue_names_a_private_incident_and_not_its_title(
        self, store: IncidentStore, clock: ReplayClock
    ) -> None:
        """A follow-up of a private incident filed in (fake) GitHub: every request GitHub received names
        "private incident", never the incident's title, description nor service."""
        usecases = wire_usecases(store, clock=clock, standing_plans=[TrackerPlan({})], tracker="github")
        alice = Actor(ALICE, "alice")
        usecases.incidents.run(parse_command(f"declare --private sev1 {TITLE}"), alice)
        usecases.incidents.run(parse_command(f"INC-1 service {SERVICE}"), alice)
        usecases.incidents.run(parse_command("INC-1 followup add an alarm on public buckets"), alice)
        github = FakeGitHub()
        await github.start()
        try:
            tracker = GitHubTracker("acme/web", GITHUB_TOKEN, github.url, timeout_seconds=2)
            deliverer = TrackerDeliverer(tracker, record_filed(usecases), filing_state(usecases))
            worker = OutboxWorker(usecases.store, route_by_kind({"tracker": deliverer}), "w1", clock=clock)
            await worker.run_once()
            sent = json.dumps([r.body for r in github.requests], default=str)
        finally:
            await github.stop()
        assert usecases.incidents.get(1).followups[0].tracker_key is not None
        assert "private incident" in sent and "add an alarm on public buckets" in sent
        assert leaked(sent) == []


class TestBarePrivateDeclare:
    def test_declare_private_alone_opens_the_form_with_the_box_ticked(
        self, fake_slack: FakeSlack, tmp_path: Path
    ) -> None:
        """``/incident declare --private``: the declare form opens (Slack accepts it) with its private box ticked."""
        with running_bot(sqlite_url(tmp_path), fake_slack.base_url) as bot:
            result = bot.command("declare --private", trigger_id=signing.new_trigger_id())
            bot.drain()
            assert result.status == 200, result.body
            [opened] = fake_slack.calls_to("views.open")
            assert opened.ok, opened.describe()
            view = opened.params["view"]
            view = json.loads(view) if isinstance(view, str) else view
            [box] = [b for b in view["blocks"] if b.get("block_id") == "declare_private"]
            assert [o["value"] for o in box["element"]["initial_options"]] == ["private"]
            assert fake_slack.calls_to("conversations.create") == []
