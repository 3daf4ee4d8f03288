"""The fake Slack answers as Slack documents (tests/support/slack_methods.json, from Slack's method
reference via slack-ruby/slack-api-ref): every documented error code can be produced, no other can
be injected, and the documented behaviours the bot depends on (truncation, trigger expiry, the
per-channel rate limit, forced invitations) hold."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.outbox.worker import OutboxWorker
from tests.support import signing
from tests.support.bot_server import running_bot, sqlite_url
from tests.support.fake_slack import DEFAULT_TOKEN, DOCUMENTED, FakeSlack

CASES = [(method, code) for method, spec in sorted(DOCUMENTED.items()) for code in sorted(spec["errors"])]


@pytest.fixture(scope="module")
def server() -> Iterator[FakeSlack]:
    with FakeSlack() as running:
        yield running


@pytest.fixture
def fake(server: FakeSlack) -> FakeSlack:
    server.reset()
    return server


@pytest.fixture
def client(fake: FakeSlack) -> WebClient:
    return WebClient(token=DEFAULT_TOKEN, base_url=fake.base_url)


def _error(call: Any, **kwargs: Any) -> SlackApiError:
    with pytest.raises(SlackApiError) as info:
        call(**kwargs)
    return info.value


def _modal() -> dict[str, Any]:
    return {"type": "modal", "title": {"type": "plain_text", "text": "Declare"}, "blocks": []}


class TestTheFacts:
    def test_the_methods_the_bot_calls_are_all_described(self) -> None:
        """The copied facts cover exactly the 20 Web API methods incidentbot calls (files.upload is retired)."""
        assert sorted(DOCUMENTED) == [
            "auth.test",
            "chat.getPermalink",
            "chat.postEphemeral",
            "chat.postMessage",
            "chat.update",
            "conversations.archive",
            "conversations.create",
            "conversations.history",
            "conversations.invite",
            "conversations.join",
            "conversations.replies",
            "conversations.setTopic",
            "conversations.unarchive",
            "files.completeUploadExternal",
            "files.getUploadURLExternal",
            "pins.add",
            "usergroups.users.list",
            "users.info",
            "views.open",
            "views.publish",
        ]

    def test_spot_checks_against_slacks_reference(self) -> None:
        """A few facts as Slack's pages state them, typed in here independently of the file."""
        invite = DOCUMENTED["conversations.invite"]
        assert set(invite["args"]) == {"channel", "users", "force"}
        assert [a for a, info in invite["args"].items() if info["required"]] == ["channel", "users"]
        assert {"cant_invite", "user_not_found", "org_user_not_in_team", "ura_max_channels"} <= set(invite["errors"])
        assert "msg_too_long" not in DOCUMENTED["chat.postMessage"]["errors"]  # it truncates instead
        assert "msg_too_long" in DOCUMENTED["chat.update"]["errors"]
        assert "expired_trigger_id" in DOCUMENTED["views.open"]["errors"]
        # 670 counted in ../shared/slack-api-facts/methods.json, and users.info's 13 (slack-api-ref, users.info.json),
        # conversations.archive's 35 and conversations.unarchive's 31 (slack-api-ref, methods/conversations/)
        assert len(CASES) == 749
        assert DOCUMENTED["users.info"]["args"] == {"user": {"required": True, "type": "user"}}


class TestEveryDocumentedCode:
    @pytest.mark.parametrize(("method", "code"), CASES)
    def test_can_be_produced_by_the_fake(self, fake: FakeSlack, client: WebClient, method: str, code: str) -> None:
        """fail_next(method, code) makes the next call of ``method`` answer ``ok: false`` with ``code``."""
        fake.fail_next(method, code, status=200)
        err = _error(client.api_call, api_method=method, params={})
        assert (err.response.status_code, err.response["ok"], err.response["error"]) == (200, False, code)

    @pytest.mark.parametrize(
        ("method", "code"),
        [
            ("chat.postMessage", "msg_too_long"),
            ("files.getUploadURLExternal", "invalid_auth"),
            ("conversations.invite", "user_is_deactivated"),
            ("chat.update", "made_up_error"),
        ],
    )
    def test_an_undocumented_code_cannot_be_injected(self, fake: FakeSlack, method: str, code: str) -> None:
        """A test cannot make the fake say what Slack never says for that method."""
        with pytest.raises(ValueError, match="documents no error"):
            fake.fail_next(method, code, status=200)

    def test_per_user_invite_refusals_take_documented_codes_only(self, fake: FakeSlack) -> None:
        """refuse_invite accepts conversations.invite's codes and refuses others."""
        fake.refuse_invite("U0BOB", "cant_invite")
        with pytest.raises(ValueError, match="documents no error"):
            fake.refuse_invite("U0BOB", "user_is_deactivated")


class TestDocumentedBehaviour:
    def test_post_message_truncates_text_beyond_40000_characters(self, fake: FakeSlack, client: WebClient) -> None:
        """A 45,178-character text is posted, cut to its first 40,000 characters (no msg_too_long)."""
        text = "".join(str(i % 10) for i in range(45_178))
        assert client.chat_postMessage(channel="C0GENERAL", text=text)["ok"]
        [message] = fake.messages("C0GENERAL")
        assert len(message["text"]) == 40_000 and message["text"] == text[:40_000]

    def test_post_message_keeps_exactly_40000_characters(self, fake: FakeSlack, client: WebClient) -> None:
        """The boundary: 40,000 characters are kept whole."""
        client.chat_postMessage(channel="C0GENERAL", text="y" * 40_000)
        assert len(fake.messages("C0GENERAL")[0]["text"]) == 40_000

    def test_update_refuses_text_beyond_40000_characters(self, client: WebClient) -> None:
        """chat.update documents msg_too_long, and answers it."""
        ts = client.chat_postMessage(channel="C0GENERAL", text="status")["ts"]
        err = _error(client.chat_update, channel="C0GENERAL", ts=ts, text="z" * 40_001)
        assert err.response["error"] == "msg_too_long"

    def test_a_fresh_trigger_id_opens_a_modal(self, client: WebClient) -> None:
        """A trigger issued now opens the modal."""
        assert client.views_open(trigger_id=signing.new_trigger_id(), view=_modal())["ok"]

    @pytest.mark.parametrize(("age", "error"), [(3.5, "expired_trigger_id"), (60.0, "expired_trigger_id")])
    def test_a_trigger_id_expires_after_3_seconds(self, client: WebClient, age: float, error: str) -> None:
        """A trigger issued more than 3 s before the request arrives is expired."""
        trigger = signing.new_trigger_id(issued_at=time.time() - age)
        assert _error(client.views_open, trigger_id=trigger, view=_modal()).response["error"] == error

    def test_a_trigger_id_is_judged_when_the_request_arrives(self, fake: FakeSlack, client: WebClient) -> None:
        """A slow answer does not expire a trigger that arrived in time (Slack checks it on arrival)."""
        fake.delay("views.open", 3.2)
        assert client.views_open(trigger_id=signing.new_trigger_id(), view=_modal())["ok"]

    @pytest.mark.parametrize("trigger", ["t1", "", "12345", "123.456.xyz"])
    def test_a_trigger_id_not_shaped_like_slacks_is_invalid(self, client: WebClient, trigger: str) -> None:
        """Slack's trigger ids look like 132456.7890123.abcdef; anything else is invalid_trigger_id."""
        assert _error(client.views_open, trigger_id=trigger, view=_modal()).response["error"] == "invalid_trigger_id"

    def test_a_trigger_id_opens_one_modal(self, client: WebClient) -> None:
        """The second use of one trigger is exchanged_trigger_id."""
        trigger = signing.new_trigger_id()
        client.views_open(trigger_id=trigger, view=_modal())
        assert _error(client.views_open, trigger_id=trigger, view=_modal()).response["error"] == (
            "exchanged_trigger_id"
        )

    def test_per_channel_rate_limit_on_post_message(self, fake: FakeSlack, client: WebClient) -> None:
        """With the limit on, a second message to one channel within 1 s is 429 with Retry-After: 1;
        another channel is not affected, and after a second the first takes messages again."""
        other = fake.add_channel(None, "other")
        fake.limit_channel_rate(1.0)
        assert client.chat_postMessage(channel="C0GENERAL", text="one")["ok"]
        err = _error(client.chat_postMessage, channel="C0GENERAL", text="two")
        assert (err.response.status_code, err.response["error"]) == (429, "ratelimited")
        assert err.response.headers["Retry-After"] == "1"
        assert client.chat_postMessage(channel=other, text="elsewhere")["ok"]
        time.sleep(1.05)
        assert client.chat_postMessage(channel="C0GENERAL", text="three")["ok"]
        assert [m["text"] for m in fake.messages("C0GENERAL")] == ["one", "three"]

    def test_without_the_limit_bursts_are_accepted(self, fake: FakeSlack, client: WebClient) -> None:
        """The per-channel limit is off unless a test turns it on."""
        for n in range(5):
            client.chat_postMessage(channel="C0GENERAL", text=f"burst {n}")
        assert len(fake.messages("C0GENERAL")) == 5

    def test_forced_invite_invites_the_valid_users_and_names_the_refused(
        self, fake: FakeSlack, client: WebClient
    ) -> None:
        """force=true: the valid ones join; the answer's errors array names the refused user and code."""
        channel = fake.add_channel(None, "inc-9-forced")
        fake.refuse_invite("U0CAROL", "cant_invite")
        err = _error(client.conversations_invite, channel=channel, users="U0BOB,U0CAROL,U0DAVE", force=True)
        assert err.response["errors"] == [{"user": "U0CAROL", "ok": False, "error": "cant_invite"}]
        assert set(fake.channel(channel).members) == {"UBOT", "U0BOB", "U0DAVE"}

    def test_an_invite_without_force_is_all_or_nothing(self, fake: FakeSlack, client: WebClient) -> None:
        """Without force, one refused user keeps everyone out."""
        channel = fake.add_channel(None, "inc-9-strict")
        fake.refuse_invite("U0CAROL", "ura_max_channels")
        err = _error(client.conversations_invite, channel=channel, users="U0BOB,U0CAROL")
        assert err.response["error"] == "ura_max_channels"
        assert fake.channel(channel).members == ["UBOT"]

    @pytest.mark.parametrize(
        ("status", "content_type", "body"),
        [
            (502, "text/html", "<html><body><h1>502 Bad Gateway</h1></body></html>"),
            (200, "text/html", "<!doctype html><title>Welcome to nginx!</title>"),
            (404, "application/json", "<html>Not Found</html>"),
        ],
    )
    def test_a_non_json_body_can_be_sent(self, fake: FakeSlack, status: int, content_type: str, body: str) -> None:
        """fail_next_raw answers with a proxy's page instead of Slack JSON."""
        fake.fail_next_raw("chat.postMessage", status, body, content_type)
        request = urllib.request.Request(fake.base_url + "chat.postMessage", data=b"channel=C0GENERAL&text=x")
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                got = (response.status, response.headers["Content-Type"], response.read().decode())
        except urllib.error.HTTPError as error:
            got = (error.code, error.headers["Content-Type"], error.read().decode())
        assert got == (status, content_type, body)

    def test_argument_problems_are_reported(self, fake: FakeSlack, client: WebClient) -> None:
        """A call naming an undocumented argument, or missing a required one, is listed."""
        client.api_call("chat.postMessage", json={"channel": "C0GENERAL", "text": "x", "colour": "red"})
        _error(client.api_call, api_method="conversations.invite", params={"channel": "C0GENERAL"})
        assert fake.argument_problems() == [
            "chat.postMessage: undocumented ['colour'], missing required []",
            "conversations.invite: undocumented [], missing required ['users']",
        ]


class TestEveryCallTheBotMakes:
    def test_uses_only_documented_methods_and_arguments(self, tmp_path: Path) -> None:
        """Declare, assemble (with a user group), note, pin a message and a thread reply, open the
        Home tab and the declare form, resolve (postmortem upload), schedule the review (users.info, the
        invite's upload), archive the channel an hour after the resolve and reopen (unarchive), announcing in a
        channel the bot must join first: every Web API method called is documented and names documented
        arguments."""
        with FakeSlack() as fake:
            fake.add_channel("C0INCIDENTS", "incidents", bot_member=False)
            fake.add_usergroup("S0NETOPS", "netops", ["U0CAROL"])
            settings = {"INCIDENT_ANNOUNCE_CHANNEL": "C0INCIDENTS", "INCIDENT_ARCHIVE_AFTER": "1h"}
            with running_bot(sqlite_url(tmp_path), fake.base_url, **settings) as bot:
                bot.command("declare sev1 CDN edge returning 502s", response_url=fake.response_url("a"))
                bot.drain()
                channel = str(fake.calls_to("conversations.create")[0].response["channel"]["id"])  # type: ignore[index]
                for text in ("assemble <@U0BOB|bob>:ops <!subteam^S0NETOPS|@netops>", "note edge CPU at 100%"):
                    bot.command(text, channel_id=channel, response_url=fake.response_url("b"))
                    bot.drain()
                top = fake.add_message(channel, f"{time.time():.6f}", "U0BOB", "CPU graph")
                reply = fake.add_message(channel, f"{time.time() + 0.5:.6f}", "U0CAROL", "WAF rule", thread_ts=top)
                for ts in (top, reply):
                    bot.event(signing.reaction_added_event("pushpin", channel=channel, ts=ts, item_user="U0BOB"))
                    bot.drain()
                bot.event(signing.app_home_opened_event("U0BOB"))
                bot.command("", trigger_id=signing.new_trigger_id())
                bot.command("resolve edge healthy again", channel_id=channel, response_url=fake.response_url("c"))
                bot.drain()
                review = "postmortem review tomorrow 15:00 <@U0BOB|bob>"
                bot.command(review, channel_id=channel, response_url=fake.response_url("d"))
                bot.drain()
                later = datetime.now(UTC) + timedelta(hours=2)  # the archive is due an hour after the resolve
                bot.call(OutboxWorker(bot.usecases.store, bot.worker.deliver, "later", clock=lambda: later).run_once())
                bot.command("INC-1 reopen edge down again", response_url=fake.response_url("e"))
                bot.drain()
            called = {c.method for c in fake.calls} - {"upload_url", "response_url"}
            assert called <= set(DOCUMENTED), called - set(DOCUMENTED)
            assert called - {"auth.test"} == set(DOCUMENTED) - {"auth.test"}  # the flow reached every method
            assert fake.argument_problems() == []
            assert fake.nonconforming_answers() == []
