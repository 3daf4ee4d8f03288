"""Every error Slack documents for the methods the bot calls has a deliberate answer, through the real
outbox worker and SlackDeliverer against the fake Slack: temporary errors are retried, setup faults
are dead items logged once with their fix, channel errors stop the item, one user's errors keep only
that user out; a proxy's HTML is a readable temporary failure, never a crash."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from slack_sdk.web.async_client import AsyncWebClient
from structlog.testing import capture_logs

from bot.app import UseCases, wire_usecases
from bot.cli.demo import ReplayClock
from bot.domain.effects import Effect, OutboxItem
from bot.domain.grammar import parse_command
from bot.outbox.worker import OutboxWorker, RetryPolicy
from bot.slack.api_errors import BY_METHOD, ERRORS, WHEN_EVERYONE_REFUSED, ErrorClass, classify
from bot.slack.delivery import SlackDeliverer, SlackEffect
from bot.slack.web_api import SlackWebApi
from bot.store import open_store
from bot.usecases.shared import Actor
from bot.views.postmortem import PostmortemRenderer
from tests.support.cli import incidentbot
from tests.support.fake_slack import DEFAULT_TOKEN, DOCUMENTED, FakeSlack

if TYPE_CHECKING:
    from tests.support.slack_driver import SlackDriver

ALICE = Actor("U0ALICE", "alice")


@dataclass
class Harness:
    """The outbox worker delivering Slack effects of a service to the fake Slack, on a still clock."""

    fake: FakeSlack
    usecases: UseCases
    clock: ReplayClock
    worker: OutboxWorker
    web_api: SlackWebApi

    def incident(self, with_channel: bool = True) -> tuple[int, str]:
        """A new incident (no effects queued) and, unless told otherwise, a channel bound to it."""
        number = self.usecases.incidents.run(
            parse_command("declare sev2 Checkout API returning 500s"), ALICE
        ).incident.number
        if not with_channel:
            return number, ""
        channel = self.fake.add_channel(None, f"inc-{number}-checkout", members=["U0ALICE"])
        self.usecases.incidents.bind_channel(number, channel)
        return number, channel

    def deliver(self, *effects: Effect) -> None:
        if effects:
            self.usecases.outbox.enqueue(list(effects))
        asyncio.run(self.worker.drain(timeout=10))

    def later(self, seconds: float = 600) -> None:
        """Move the clock past any backoff and deliver what is due."""
        self.clock.now += timedelta(seconds=seconds)
        self.deliver()

    def items(self, status: str | None = None) -> list[OutboxItem]:
        return self.usecases.outbox.items(status)


def _harness(fake: FakeSlack, usecases: UseCases, clock: ReplayClock, announce: str | None = None) -> Harness:
    web_api = SlackWebApi(AsyncWebClient(token=DEFAULT_TOKEN, base_url=fake.base_url), "inc", announce)
    deliverer = SlackDeliverer(
        usecases.incidents,
        usecases.alerts,
        usecases.changes,
        usecases.budgets,
        usecases.outbox,
        web_api,
        PostmortemRenderer(),
    )
    policy = RetryPolicy(base_seconds=1, max_seconds=30)
    worker = OutboxWorker(usecases.store, deliverer, "w-test", clock=clock, policy=policy)
    return Harness(fake, usecases, clock, worker, web_api)


@pytest.fixture()
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as running:
        yield running


@pytest.fixture()
def harness(fake: FakeSlack, usecases: UseCases, clock: ReplayClock) -> Harness:
    """On SQLite and PostgreSQL (the ``usecases`` fixture)."""
    return _harness(fake, usecases, clock, announce="C0GENERAL")


@pytest.fixture()
def sqlite_harness(fake: FakeSlack, tmp_path: Path, clock: ReplayClock) -> Iterator[Harness]:
    """SQLite only: for the sweep over every documented code (hundreds of deliveries)."""
    store = open_store(f"sqlite:///{tmp_path / 'sweep.db'}")
    yield _harness(fake, wire_usecases(store, clock=clock), clock, announce="C0GENERAL")
    store.dispose()


def _post(number: int, text: str = "hello") -> Effect:
    return Effect(SlackEffect.POST_LINE, {"text": text}, number)


# ------------------------------------------------------------------------------------ the table


class TestTheTable:
    @pytest.mark.parametrize("method", sorted(DOCUMENTED))
    def test_every_documented_code_is_classified(self, method: str) -> None:
        """A code Slack documents for a method the bot calls but the table lacks fails here, by name."""
        unclassified = [code for code in DOCUMENTED[method]["errors"] if classify(method, code) is None]
        assert unclassified == []

    def test_the_table_names_no_code_slack_does_not_document(self) -> None:
        """Every code in the table is documented for at least one method the bot calls (no stale rows)."""
        documented = {code for spec in DOCUMENTED.values() for code in spec["errors"]}
        # answered by views.open, and to org-wide apps not granted the workspace; neither documented
        assert sorted(set(ERRORS) - documented) == ["invalid_arguments", "team_access_not_granted"]
        assert {code for _, code in BY_METHOD} <= documented
        for method, code in WHEN_EVERYONE_REFUSED:
            assert code in DOCUMENTED[method]["errors"], (method, code)

    @pytest.mark.parametrize(
        ("method", "code", "expected"),
        [
            ("chat.postMessage", "ratelimited", ErrorClass.TEMPORARY),
            ("chat.postMessage", "fatal_error", ErrorClass.TEMPORARY),
            ("chat.postMessage", "service_unavailable", ErrorClass.TEMPORARY),
            ("chat.postMessage", "team_added_to_org", ErrorClass.TEMPORARY),
            ("chat.update", "update_failed", ErrorClass.TEMPORARY),
            ("files.completeUploadExternal", "file_not_found", ErrorClass.TEMPORARY),
            ("chat.postMessage", "channel_not_found", ErrorClass.CHANNEL),
            ("chat.postMessage", "is_archived", ErrorClass.CHANNEL),
            ("chat.postMessage", "restricted_action_read_only_channel", ErrorClass.CHANNEL),
            ("conversations.invite", "not_in_channel", ErrorClass.CHANNEL),
            ("pins.add", "too_many_pins", ErrorClass.CHANNEL),
            ("chat.postMessage", "missing_scope", ErrorClass.SETUP),
            ("chat.postMessage", "token_revoked", ErrorClass.SETUP),
            ("chat.postMessage", "no_permission", ErrorClass.SETUP),
            ("chat.postMessage", "invalid_blocks", ErrorClass.SETUP),
            ("files.getUploadURLExternal", "file_uploads_disabled", ErrorClass.SETUP),
            ("usergroups.users.list", "plan_upgrade_required", ErrorClass.SETUP),
            ("conversations.invite", "no_permission", ErrorClass.USER),
            ("conversations.invite", "cant_invite", ErrorClass.USER),
            ("conversations.invite", "user_is_restricted", ErrorClass.USER),
            ("conversations.setTopic", "user_is_restricted", ErrorClass.SETUP),
            ("chat.update", "team_not_found", ErrorClass.CHANNEL),
            ("pins.add", "not_in_channel", ErrorClass.CHANNEL),
            ("pins.add", "restricted_action", ErrorClass.SETUP),
            ("chat.postEphemeral", "user_not_in_channel", ErrorClass.USER),
            ("views.open", "expired_trigger_id", ErrorClass.USER),
        ],
    )
    def test_examples(self, method: str, code: str, expected: ErrorClass) -> None:
        """Representative codes, each with the class its Slack description implies."""
        assert classify(method, code) is expected


# ------------------------------------------------------------------------------ each class, end to end


class TestEachClassThroughTheOutbox:
    def test_temporary_is_retried_after_retry_after_then_delivered(self, harness: Harness) -> None:
        """429 ratelimited with Retry-After: 30 is rescheduled no earlier than 30 s, then posted."""
        number, channel = harness.incident()
        harness.fake.fail_next("chat.postMessage", "ratelimited", status=429, retry_after=30)
        before = harness.clock.now
        harness.deliver(_post(number, "edge CPU back to normal"))
        [item] = harness.items("pending")
        assert item.next_attempt_at >= before + timedelta(seconds=30)
        assert item.last_error.startswith("chat.postMessage: ratelimited (HTTP 429, temporary)")
        harness.later()
        assert harness.items() == []
        assert [m["text"] for m in harness.fake.messages(channel)] == ["edge CPU back to normal"]

    @pytest.mark.parametrize("code", ["fatal_error", "service_unavailable", "request_timeout", "team_added_to_org"])
    def test_other_temporary_codes_are_retried(self, harness: Harness, code: str) -> None:
        """Slack's transient codes on HTTP 200 are retried with backoff, then delivered."""
        number, channel = harness.incident()
        harness.fake.fail_next("chat.postMessage", code, status=200)
        harness.deliver(_post(number))
        assert [i.status for i in harness.items()] == ["pending"]
        harness.later()
        assert harness.items() == [] and len(harness.fake.messages(channel)) == 1

    def test_channel_error_is_dead_and_does_not_block_the_incident(self, harness: Harness) -> None:
        """is_archived: the item is dead with the reason; the incident's next item still goes out."""
        number, channel = harness.incident()
        harness.fake.fail_next("chat.postMessage", "is_archived", status=200)
        harness.deliver(_post(number, "first"), _post(number, "second"))
        [dead] = harness.items("dead")
        assert dead.last_error == "chat.postMessage: is_archived (HTTP 200, channel): the channel is archived"
        assert [m["text"] for m in harness.fake.messages(channel)] == ["second"]

    def test_setup_fault_is_dead_and_logged_once_with_its_fix(self, harness: Harness) -> None:
        """missing_scope on two items: both dead with the fix; one slack_setup_fault log line, with Slack's `needed`."""
        number, _ = harness.incident()
        harness.fake.fail_next("chat.postMessage", "missing_scope", status=200, times=2)
        with capture_logs() as logs:
            harness.deliver(_post(number, "one"), _post(number, "two"))
        dead = harness.items("dead")
        assert len(dead) == 2
        for item in dead:
            assert "missing_scope (HTTP 200, setup)" in item.last_error
            assert "oauth_config.scopes.bot (manifest.yml) and reinstall" in item.last_error
        faults = [e for e in logs if e["event"] == "slack_setup_fault"]
        assert len(faults) == 1
        assert (faults[0]["method"], faults[0]["error"]) == ("chat.postMessage", "missing_scope")
        assert "reinstall" in faults[0]["fix"]
        assert not [e for e in logs if e["event"] == "outbox_delivery_crashed"]

    def test_one_users_error_keeps_only_that_user_out(self, harness: Harness) -> None:
        """An invitation where one of three is refused: the item completes, the other two are in."""
        number, channel = harness.incident()
        harness.fake.refuse_invite("U0CAROL", "cant_invite")
        harness.deliver(Effect(SlackEffect.INVITE, {"users": ["U0BOB", "U0CAROL", "U0DAVE"], "notify": None}, number))
        assert harness.items() == []
        assert set(harness.fake.channel(channel).members) == {"UBOT", "U0ALICE", "U0BOB", "U0DAVE"}


class TestNotSlackJson:
    @pytest.mark.parametrize(
        ("status", "content_type", "body", "reason"),
        [
            (
                502,
                "text/html",
                "<html><body><h1>502 Bad Gateway</h1></body></html>",
                "chat.postMessage: no Slack answer (HTTP 502, temporary): Slack answered HTTP 502 without a Slack "
                "JSON body (text/html): a proxy or Slack itself is failing",
            ),
            (
                502,
                "application/json",
                "<html><body><h1>502 Bad Gateway</h1></body></html>",
                "chat.postMessage: no Slack answer (HTTP 502, temporary): Slack answered HTTP 502 without a Slack "
                "JSON body (application/json: <html><body><h1>502 Bad Gateway</h1></body></html>): a proxy or "
                "Slack itself is failing",
            ),
            (
                200,
                "text/html",
                "<!doctype html><title>Welcome to nginx!</title>",
                "chat.postMessage: no Slack answer (HTTP 200, temporary): Slack answered HTTP 200 without a Slack "
                "JSON body (text/html): check SLACK_API_URL (it should end in /api/ and serve Slack's Web API)",
            ),
            (
                404,
                "text/html",
                "<html>Not Found</html>",
                "chat.postMessage: no Slack answer (HTTP 404, temporary): Slack answered HTTP 404 without a Slack "
                "JSON body (text/html): check SLACK_API_URL (it should end in /api/ and serve Slack's Web API)",
            ),
        ],
    )
    def test_a_proxy_page_is_a_readable_temporary_failure(
        self, harness: Harness, status: int, content_type: str, body: str, reason: str
    ) -> None:
        """HTML instead of Slack JSON: retried, with a reason a person can act on, and no crash logged."""
        number, channel = harness.incident()
        harness.fake.fail_next_raw("chat.postMessage", status, body, content_type)
        with capture_logs() as logs:
            harness.deliver(_post(number))
        [item] = harness.items()
        assert (item.status, item.last_error) == ("pending", reason)
        assert not [e for e in logs if e["event"] == "outbox_delivery_crashed"]
        harness.later()
        assert harness.items() == [] and len(harness.fake.messages(channel)) == 1

    def test_incidentbot_outbox_shows_the_reason(self, fake: FakeSlack, tmp_path: Path, clock: ReplayClock) -> None:
        """`incidentbot outbox` (a real process) prints the readable reason, not AttributeError or a traceback."""
        url = f"sqlite:///{tmp_path / 'cli.db'}"
        store = open_store(url)
        h = _harness(fake, wire_usecases(store, clock=clock), clock)
        number, _ = h.incident()
        fake.fail_next_raw("chat.postMessage", 502, "<html>502 Bad Gateway</html>", "application/json")
        h.deliver(_post(number))
        store.dispose()
        result = incidentbot("outbox", "--format", "json", database_url=url, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        [item] = json.loads(result.stdout)["items"]
        assert item["status"] == "pending"
        assert item["last_error"] == (
            "chat.postMessage: no Slack answer (HTTP 502, temporary): Slack answered HTTP 502 without a Slack JSON "
            "body (application/json: <html>502 Bad Gateway</html>): a proxy or Slack itself is failing"
        )
        text = incidentbot("outbox", database_url=url, cwd=tmp_path)
        assert "HTTP 502 without a Slack JSON body" in text.stdout
        assert "AttributeError" not in text.stdout + text.stderr and "Traceback" not in text.stdout + text.stderr


class TestUploadOfTheBytes:
    @pytest.mark.parametrize("status", [500, 503, 403])
    def test_a_failed_upload_url_post_is_retried_without_a_crash(self, harness: Harness, status: int) -> None:
        """The raw POST of the postmortem's bytes failing (slack_sdk's SlackRequestError) is a readable
        temporary failure, not a crash with a traceback; the retry uploads the draft."""
        number, channel = harness.incident()
        harness.fake.fail_next("upload_url", "x", status=status)
        with capture_logs() as logs:
            harness.deliver(Effect(SlackEffect.UPLOAD_POSTMORTEM, {"template": None, "notify": None}, number))
        [item] = harness.items()
        assert item.status == "pending"
        assert item.last_error.startswith(f"upload: Failed to upload a file (status: {status}")
        assert not [e for e in logs if e["event"] == "outbox_delivery_crashed"]
        harness.later()
        assert harness.items() == []
        assert [f.channel_id for f in harness.fake.uploaded_files] == [channel]


class TestStatusMessagePin:
    def test_a_rate_limited_pin_is_retried_alone(self, harness: Harness) -> None:
        """pins.add answering 429 after the status message is posted: one message, pinned on retry."""
        number, channel = harness.incident()
        harness.fake.fail_next("pins.add", "ratelimited", status=429, retry_after=5)
        harness.deliver(Effect(SlackEffect.REFRESH, {}, number))
        [item] = harness.items()
        assert (item.kind, item.status) == ("slack.pin_status", "pending")
        harness.later()
        assert harness.items() == []
        status = [m for m in harness.fake.messages(channel) if m.get("blocks")]
        assert len(status) == 1
        assert list(harness.fake.channel(channel).pins) == [status[0]["ts"]]

    def test_a_pin_refused_for_good_is_not_retried(self, harness: Harness) -> None:
        """too_many_pins: the status message stays unpinned, nothing is queued, the message is not re-posted."""
        number, channel = harness.incident()
        harness.fake.fail_next("pins.add", "too_many_pins", status=200)
        harness.deliver(Effect(SlackEffect.REFRESH, {}, number))
        assert harness.items() == []
        assert harness.fake.channel(channel).pins == {}
        assert len([m for m in harness.fake.messages(channel) if m.get("blocks")]) == 1


class TestPushpinWhileRateLimited:
    def test_a_rate_limited_message_read_is_retried_not_dropped(self, harness: Harness) -> None:
        """conversations.history answering 429 leaves the pin queued; once Slack answers, it is on the timeline."""
        number, channel = harness.incident()
        ts = f"{harness.clock.now.timestamp() + 1:.6f}"
        harness.fake.add_message(channel, ts, "U0BOB", "half the edge servers at 100% CPU")
        harness.clock.now += timedelta(seconds=5)
        harness.fake.fail_next("conversations.history", "ratelimited", status=429, retry_after=20)
        pin = {"channel": channel, "ts": ts, "reactor": "U0ALICE", "event_id": "Ev0PIN1", "item_user": "U0BOB"}
        harness.deliver(Effect(SlackEffect.PIN_MESSAGE, pin, number))
        [item] = harness.items()
        assert item.status == "pending" and "conversations.history: ratelimited" in item.last_error
        harness.later()
        pins = [e for e in harness.usecases.incidents.timeline(number)[1] if e.kind.value == "pinned"]
        assert [(p.text, p.actor) for p in pins] == [("half the edge servers at 100% CPU", "U0BOB")]
        assert harness.items() == []


class TestPerChannelRateLimit:
    def test_lines_beyond_one_per_second_are_retried_in_order(self, slack: SlackDriver) -> None:
        """With Slack's ~1 message/s per channel enforced and the bot's pacing off (the suite's default), posts
        draw 429s; honouring Retry-After, three quick notes all reach the channel, each once, in order (a line
        retried may go out in one message with the next: lines are read from every message)."""
        channel_id = slack.declare()
        slack.fake.limit_channel_rate(1.0)
        for n in range(3):
            slack.command(f"note update number {n}", channel_id=channel_id)
        deadline = time.monotonic() + 20
        while True:
            texts = [str(p.get("text")) for p in slack.posted(channel_id)]
            lines = [line for text in texts for line in text.split("\n") if "update number" in line]
            if len(lines) == 3 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert [line.rsplit(" ", 1)[-1] for line in lines] == ["0", "1", "2"]
        refused = [c for c in slack.fake.calls_to("chat.postMessage") if c.status == 429]
        assert refused, "the limit was never hit: the test proves nothing"
        assert slack.bot.usecases.outbox.items("dead") == []


# ------------------------------------------------------------------- every documented code, wired


def _trigger(h: Harness, method: str, index: int, number: int, channel: str) -> Effect:
    """An outbox effect for incident ``number`` whose delivery makes ``method`` the call that fails."""
    if method == "conversations.create":
        fresh, _ = h.incident(with_channel=False)
        return Effect(SlackEffect.CREATE_CHANNEL, {}, fresh)
    if method == "chat.postMessage":
        return _post(number)
    if method in ("chat.update", "conversations.setTopic"):
        return Effect(SlackEffect.REFRESH, {}, number)
    if method == "conversations.invite":
        user = f"U0GUEST{index:04d}"
        h.fake.add_user(user, f"guest{index}")
        return Effect(SlackEffect.INVITE, {"users": [user], "notify": None}, number)
    if method == "conversations.history":
        ts = f"{h.clock.now.timestamp() + 1:.6f}"
        h.fake.add_message(channel, ts, "U0BOB", f"pinned {index}")
        h.clock.now += timedelta(seconds=2)
        payload = {"channel": channel, "ts": ts, "reactor": "U0ALICE", "event_id": f"Ev{index:08d}", "item_user": None}
        return Effect(SlackEffect.PIN_MESSAGE, payload, number)
    if method == "conversations.join":
        # An incident is announced once (its announcement's place is recorded): each code gets a new one.
        fresh, _ = h.incident()
        h.fake.fail_next("chat.postMessage", "not_in_channel", status=200)
        return Effect(SlackEffect.ANNOUNCE, {"declared_by": "U0ALICE"}, fresh)
    assert method in ("files.getUploadURLExternal", "files.completeUploadExternal")
    return Effect(SlackEffect.UPLOAD_POSTMORTEM, {"template": None, "notify": None}, number)


HANDLED_BY_THE_CALLER = {
    ("conversations.create", "name_taken"): "the next name is tried",
    ("chat.update", "message_not_found"): "the status message is posted again",
    ("chat.update", "cant_update_message"): "the status message is posted again",
    ("chat.update", "edit_window_closed"): "the status message is posted again",
}
OUTBOX_METHODS = [
    "chat.postMessage",
    "chat.update",
    "conversations.setTopic",
    "conversations.create",
    "conversations.invite",
    "conversations.history",
    "conversations.join",
    "files.getUploadURLExternal",
    "files.completeUploadExternal",
]


def _expected(method: str, code: str) -> str:
    if (method, code) in HANDLED_BY_THE_CALLER:
        return "delivered"
    kind = classify(method, code)
    if kind is ErrorClass.TEMPORARY:
        return "retried"
    if method == "conversations.invite" and kind is ErrorClass.USER:
        return "delivered"  # that user is reported; the job is done
    return "dead"


class TestEveryDocumentedCodeThroughTheOutbox:
    @pytest.mark.parametrize("method", OUTBOX_METHODS)
    def test_each_code_gets_its_classs_answer(self, sqlite_harness: Harness, method: str) -> None:
        """For every documented code of ``method``: temporary -> retried then delivered; handled by the
        caller or one user's -> the item completes; otherwise dead, its reason naming method and code.
        Never a crash."""
        h = sqlite_harness
        wrong: list[str] = []
        number, channel = h.incident()
        h.deliver(Effect(SlackEffect.REFRESH, {}, number))  # the status message exists: chat.update is next
        with capture_logs() as logs:
            for index, code in enumerate(sorted(DOCUMENTED[method]["errors"])):
                effect = _trigger(h, method, index, number, channel)
                h.fake.fail_next(method, code, status=429 if code == "ratelimited" else 200, retry_after=0)
                seen = {i.id for i in h.items()}
                h.deliver(effect)
                left = [i for i in h.items() if i.id not in seen]
                if not left:
                    got = "delivered"
                elif left[0].status == "dead":
                    got = "dead" if f"{method}: {code} (HTTP" in left[0].last_error else f"dead: {left[0].last_error}"
                else:
                    h.later()
                    still = [i for i in h.items() if i.id == left[0].id]
                    got = "retried" if not still else f"stuck: {still[0].last_error}"
                if got != _expected(method, code):
                    wrong.append(f"{code}: expected {_expected(method, code)}, got {got}")
        assert wrong == []
        assert not [e for e in logs if e["event"] == "outbox_delivery_crashed"]


# ------------------------------------------------------------------------------------- invitations


def _invite(number: int, users: list[str], channel: str) -> Effect:
    """An invitation whose caller is told by an ephemeral note in ``channel``."""
    notify = {"response_url": None, "channel": channel, "user": "U0ALICE", "text": ""}
    return Effect(SlackEffect.INVITE, {"users": users, "notify": notify}, number)


def _notes(h: Harness) -> list[str]:
    return [str(e["text"]) for e in h.fake.ephemerals if e.get("to_user") == "U0ALICE"]


def _people(h: Harness, count: int) -> list[str]:
    users = [f"U0P{n:03d}" for n in range(count)]
    for user in users:
        h.fake.add_user(user, user.lower())
    return users


UNKNOWN = '{"ok": false, "error": "invite_policy_changed"}'
"""A conversations.invite answer with a code no method reference documents, and no `errors` array."""


class TestInvitations:
    def test_an_unknown_code_on_a_multi_user_invite_falls_back_to_one_at_a_time(self, harness: Harness) -> None:
        """The unknown code answers only the call for three: each invited alone gets in; the item completes."""
        number, channel = harness.incident()
        users = _people(harness, 3)
        harness.fake.fail_next_raw("conversations.invite", 200, UNKNOWN, "application/json")
        harness.deliver(_invite(number, users, channel))
        assert harness.items() == []
        assert set(users) <= set(harness.fake.channel(channel).members)
        assert _notes(harness) == []

    def test_an_unknown_code_for_one_person_keeps_only_them_out(self, harness: Harness) -> None:
        """The call for three and the first one-person call answer the unknown code: only that person is out,
        and the caller reads a readable reason."""
        number, channel = harness.incident()
        users = _people(harness, 3)
        harness.fake.fail_next_raw("conversations.invite", 200, UNKNOWN, "application/json", times=2)
        harness.deliver(_invite(number, users, channel))
        assert harness.items() == []
        members = harness.fake.channel(channel).members
        assert users[0] not in members and {users[1], users[2]} <= set(members)
        assert _notes(harness) == [
            "Could not add <@U0P000> (Slack answered an undocumented error 'invite_policy_changed')."
        ]

    def test_an_unknown_code_for_everyone_is_a_setup_fault_naming_the_item(self, harness: Harness) -> None:
        """The same unknown code for all three, each alone: dead, the reason and the note name the outbox item."""
        number, channel = harness.incident()
        users = _people(harness, 3)
        harness.fake.fail_next_raw("conversations.invite", 200, UNKNOWN, "application/json", times=4)
        harness.deliver(_invite(number, users, channel))
        [dead] = harness.items("dead")
        assert dead.last_error == (
            "conversations.invite: invite_policy_changed (HTTP 200, setup): Slack answered an undocumented error "
            f"'invite_policy_changed'; report it with outbox item #{dead.id}"
        )
        assert _notes(harness) == [
            f"Nobody could be added to <#{channel}>: Slack answered an undocumented error 'invite_policy_changed'; "
            f"report it with outbox item #{dead.id}."
        ]

    def test_added_refused_and_stopped_are_told_in_one_message(self, harness: Harness) -> None:
        """One at a time: the first is added, the second refused, the third hits is_archived: one note says all
        of it; no "Nobody could be added"."""
        number, channel = harness.incident()
        users = _people(harness, 4)
        harness.fake.fail_next("conversations.invite", "cant_invite", status=200)  # the call for four, no array
        harness.fake.refuse_invite(users[1], "cant_invite")
        harness.fake.refuse_invite(users[2], "is_archived")
        harness.deliver(_invite(number, users, channel))
        [dead] = harness.items("dead")
        assert dead.last_error == "conversations.invite: is_archived (HTTP 200, channel): the channel is archived"
        assert _notes(harness) == [
            f"Added <@U0P000> to <#{channel}>. Could not add <@U0P001> (Slack does not allow inviting them to this "
            "channel). Stopped before <@U0P002>, <@U0P003>: the channel is archived."
        ]

    @pytest.mark.parametrize("code", ["no_permission", "user_is_restricted"])
    @pytest.mark.parametrize("with_errors_array", [False, True])
    def test_the_same_refusal_for_everyone_is_a_setup_fault_said_once(
        self, harness: Harness, code: str, with_errors_array: bool
    ) -> None:
        """Six people all refused with no_permission / user_is_restricted (alone, or in Slack's `errors`
        array): the token or channel is at fault: dead item with the fix, one slack_setup_fault, one note."""
        number, channel = harness.incident()
        users = _people(harness, 6)
        for user in users:
            harness.fake.refuse_invite(user, code)
        if not with_errors_array:
            harness.fake.fail_next("conversations.invite", code, status=200)
        with capture_logs() as logs:
            harness.deliver(_invite(number, users, channel))
        [dead] = harness.items("dead")
        fix = {
            "no_permission": "Slack lets the bot invite nobody here: allow apps to invite people to channels "
            "(workspace settings, Permissions) and check the app has the channels:manage scope",
            "user_is_restricted": "the channel refuses every person invited (a channel restricted to some members, "
            "or the bot is a restricted user): check the channel's posting and membership settings",
        }[code]
        assert dead.last_error == f"conversations.invite: {code} (HTTP 200, setup): {fix}"
        assert _notes(harness) == [f"Nobody could be added to <#{channel}>: {fix}."]
        faults = [e for e in logs if e["event"] == "slack_setup_fault"]
        assert [(f["error"], f["fix"]) for f in faults] == [(code, fix)]

    def test_one_no_permission_among_six_is_that_persons(self, harness: Harness) -> None:
        """Only one of six refused with no_permission: a personal refusal, the five others are in."""
        number, channel = harness.incident()
        users = _people(harness, 6)
        harness.fake.refuse_invite(users[3], "no_permission")
        harness.deliver(_invite(number, users, channel))
        assert harness.items() == []
        assert _notes(harness) == ["Could not add <@U0P003> (the bot may not invite this person)."]

    def test_missing_scope_names_the_needed_scope_to_the_caller_and_in_the_dead_item(self, harness: Harness) -> None:
        """missing_scope with Slack's `needed`: the scope is in the dead item's reason and the caller's note."""
        number, channel = harness.incident()
        users = _people(harness, 2)
        extra = {"needed": "channels:manage", "provided": "chat:write,commands"}
        harness.fake.fail_next("conversations.invite", "missing_scope", status=200, extra=extra)
        harness.deliver(_invite(number, users, channel))
        fix = (
            "the app lacks the scope channels:manage: add it under oauth_config.scopes.bot (manifest.yml) and reinstall"
        )
        [dead] = harness.items("dead")
        assert dead.last_error == f"conversations.invite: missing_scope (HTTP 200, setup): {fix}"
        assert _notes(harness) == [f"Nobody could be added to <#{channel}>: {fix}."]

    def test_missing_scope_of_a_post_names_the_needed_scope(self, harness: Harness) -> None:
        """chat.postMessage answering missing_scope, needed chat:write: the dead item says so."""
        number, _ = harness.incident()
        harness.fake.fail_next("chat.postMessage", "missing_scope", status=200, extra={"needed": "chat:write"})
        harness.deliver(_post(number))
        [dead] = harness.items("dead")
        assert dead.last_error == (
            "chat.postMessage: missing_scope (HTTP 200, setup): the app lacks the scope chat:write: add it under "
            "oauth_config.scopes.bot (manifest.yml) and reinstall"
        )


class TestPushpinThatCanNeverBeRead:
    @pytest.mark.parametrize(
        ("code", "reason"),
        [
            ("not_in_channel", "the bot is not a member of the channel"),
            ("channel_not_found", "the channel does not exist or the app cannot see it"),
        ],
    )
    def test_the_reactor_is_told_once_why_it_was_not_pinned(self, harness: Harness, code: str, reason: str) -> None:
        """conversations.history refusing for good: the item is dead and the reactor gets one ephemeral note."""
        number, channel = harness.incident()
        ts = f"{harness.clock.now.timestamp() + 1:.6f}"
        harness.fake.add_message(channel, ts, "U0BOB", "half the edge servers at 100% CPU")
        harness.clock.now += timedelta(seconds=5)
        harness.fake.fail_next("conversations.history", code, status=200)
        pin = {"channel": channel, "ts": ts, "reactor": "U0ALICE", "event_id": "Ev0PIN9", "item_user": "U0BOB"}
        harness.deliver(Effect(SlackEffect.PIN_MESSAGE, pin, number))
        harness.later()
        assert [i.status for i in harness.items()] == ["dead"]
        assert _notes(harness) == [f"Your :pushpin: was not added to the INC-{number} timeline: {reason}."]


class TestTopicRestricted:
    def test_set_topic_user_is_restricted_is_a_setup_fault_with_the_fix(self, harness: Harness) -> None:
        """conversations.setTopic "Setting the topic is a restricted action": the bot is restricted, a setup fault."""
        number, _ = harness.incident()
        harness.fake.fail_next("conversations.setTopic", "user_is_restricted", status=200)
        with capture_logs() as logs:
            harness.deliver(Effect(SlackEffect.REFRESH, {}, number))
        [dead] = harness.items("dead")
        assert dead.last_error == (
            "conversations.setTopic: user_is_restricted (HTTP 200, setup): the bot may not set channel topics "
            "(a workspace setting restricts it): ask an admin to allow it"
        )
        assert [e["error"] for e in logs if e["event"] == "slack_setup_fault"] == ["user_is_restricted"]


class TestDeadItemsInTheCli:
    def test_dead_items_show_the_needed_scope_and_no_next_time(
        self, fake: FakeSlack, tmp_path: Path, clock: ReplayClock
    ) -> None:
        """`incidentbot outbox --status dead` (a real process): the reason names the needed scope; no `next=`."""
        url = f"sqlite:///{tmp_path / 'cli.db'}"
        store = open_store(url)
        h = _harness(fake, wire_usecases(store, clock=clock), clock)
        number, _ = h.incident()
        fake.fail_next("chat.postMessage", "missing_scope", status=200, extra={"needed": "chat:write"})
        h.deliver(_post(number))
        [dead] = h.items("dead")
        store.dispose()
        text = incidentbot("outbox", "--status", "dead", database_url=url, cwd=tmp_path)
        assert text.returncode == 0, text.stderr
        assert text.stdout.strip() == (
            f"#{dead.id}  dead  slack.post_line  INC-{number}  attempts=1  chat.postMessage: "
            "missing_scope (HTTP 200, setup): the app lacks the scope chat:write: add it under "
            "oauth_config.scopes.bot (manifest.yml) and reinstall"
        )
        listed = json.loads(
            incidentbot("outbox", "--status", "dead", "--format", "json", database_url=url, cwd=tmp_path).stdout
        )
        assert listed["items"][0]["next_attempt_at"] is None


class TestUploadRefusedForAScope:
    def test_the_caller_reads_the_needed_scope(self, harness: Harness) -> None:
        """files.getUploadURLExternal answering missing_scope (needed files:write): the caller's note names it."""
        number, channel = harness.incident()
        harness.fake.fail_next(
            "files.getUploadURLExternal", "missing_scope", status=200, extra={"needed": "files:write"}
        )
        notify = {"response_url": None, "channel": channel, "user": "U0ALICE", "text": ""}
        harness.deliver(Effect(SlackEffect.UPLOAD_POSTMORTEM, {"template": None, "notify": notify}, number))
        assert [i.status for i in harness.items()] == ["dead"]
        assert _notes(harness) == [
            f"Slack refused the postmortem upload for INC-{number} (missing_scope: the app lacks the scope "
            "files:write: add it under oauth_config.scopes.bot (manifest.yml) and reinstall); "
            f"`incidentbot postmortem INC-{number}` renders it locally."
        ]
