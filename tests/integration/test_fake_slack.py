"""Self-test of tests/support/fake_slack/ and tests/support/signing.py with the real Slack SDK."""

from __future__ import annotations

import json
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from slack_bolt import App, BoltRequest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook import WebhookClient

try:
    from tests.support import fake_slack, signing
except ModuleNotFoundError:  # the repo root is not on sys.path when pytest runs from elsewhere
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from tests.support import fake_slack, signing

FakeSlack = fake_slack.FakeSlack
TOKEN = fake_slack.DEFAULT_TOKEN
SECRET = "s3cr3t-signing"


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
    return WebClient(token=TOKEN, base_url=fake.base_url)


def error_of(call: Any, *args: Any, **kwargs: Any) -> SlackApiError:
    with pytest.raises(SlackApiError) as info:
        call(*args, **kwargs)
    return info.value


def post_raw(url: str, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": content_type, **(headers or {})})
    with urllib.request.urlopen(request, timeout=5) as response:
        result: dict[str, Any] = json.loads(response.read())
    return result


# ----------------------------------------------------------------------------- server basics and auth


def test_base_url_and_auth_test(fake: FakeSlack, client: WebClient) -> None:
    assert fake.base_url.startswith("http://127.0.0.1:") and fake.base_url.endswith("/api/")
    result = client.auth_test()
    assert (result["user_id"], result["bot_id"], result["team_id"]) == ("UBOT", "BBOT", "T0TEST")
    call = fake.wait_for("auth.test")[0]
    assert call.headers["Authorization"] == f"Bearer {TOKEN}"


def test_missing_and_wrong_token(fake: FakeSlack) -> None:
    assert error_of(WebClient(base_url=fake.base_url).auth_test).response["error"] == "not_authed"
    wrong = WebClient(token="xoxb-nope", base_url=fake.base_url)
    assert error_of(wrong.auth_test).response["error"] == "invalid_auth"


def test_token_in_form_body_and_json_values_decoded(fake: FakeSlack) -> None:
    blocks = json.dumps([{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}])
    body = f"token={TOKEN}&channel=C0GENERAL&text=%5Bnot+json&blocks={blocks}".encode()
    answer = post_raw(fake.base_url + "chat.postMessage", body, "application/x-www-form-urlencoded")
    assert answer["ok"] is True
    params = fake.calls_to("chat.postMessage")[0].params
    assert params["blocks"][0]["type"] == "section" and params["text"] == "[not json"


def test_multipart_and_bad_json_bodies(fake: FakeSlack) -> None:
    boundary = "b0undary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="channel"\r\n\r\nC0GENERAL\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="text"\r\n\r\nfrom multipart\r\n'
        f"--{boundary}--\r\n"
    ).encode()
    auth = {"Authorization": f"Bearer {TOKEN}"}
    answer = post_raw(fake.base_url + "chat.postMessage", body, f"multipart/form-data; boundary={boundary}", auth)
    assert answer["message"]["text"] == "from multipart"
    answer = post_raw(fake.base_url + "chat.postMessage", b"{nope", "application/json", auth)
    assert answer == {"ok": False, "error": "invalid_json"}


def test_reset_restores_the_seed(fake: FakeSlack, client: WebClient) -> None:
    client.conversations_create(name="inc-temp")
    fake.fail_next("auth.test")
    fake.reset()
    assert fake.calls == [] and client.auth_test()["ok"]
    with pytest.raises(KeyError):
        fake.channel("inc-temp")


def test_unknown_method(client: WebClient) -> None:
    assert error_of(client.api_call, "nope.never").response["error"] == "unknown_method"


def test_calls_are_thread_safe_and_wait_for_waits(fake: FakeSlack, client: WebClient) -> None:
    threads = [threading.Thread(target=client.auth_test) for _ in range(8)]
    for thread in threads:
        thread.start()
    assert len(fake.wait_for("auth.test", count=8, timeout=5)) == 8
    for thread in threads:
        thread.join()


def test_wait_for_timeout_lists_calls_seen(fake: FakeSlack, client: WebClient) -> None:
    client.auth_test()
    with pytest.raises(AssertionError, match=r"chat.postMessage.*\n.*auth.test -> ok"):
        fake.wait_for("chat.postMessage", timeout=0.05)


# ----------------------------------------------------------------------------- conversations


def test_create_channel_unique_ids_and_name_taken(fake: FakeSlack, client: WebClient) -> None:
    first = client.conversations_create(name="inc-2024-db-down")["channel"]
    second = client.conversations_create(name="inc-2", is_private=True)["channel"]
    assert first["id"].startswith("C") and first["id"] != second["id"]
    assert second["is_private"] is True and first["is_member"] is True
    assert error_of(client.conversations_create, name="inc-2024-db-down").response["error"] == "name_taken"
    assert fake.channel("inc-2").is_private


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("", "invalid_name_required"),
        ("Bad Name", "invalid_name_specials"),
        ("a" * 81, "invalid_name_maxlength"),
        ("inc#1", "invalid_name_specials"),
        ("general", "name_taken"),
    ],
)
def test_create_channel_name_validation(client: WebClient, name: str, error: str) -> None:
    assert error_of(client.conversations_create, name=name).response["error"] == error


def test_invite(fake: FakeSlack, client: WebClient) -> None:
    channel = client.conversations_create(name="inc-invite")["channel"]["id"]
    client.conversations_invite(channel=channel, users=["U0ALICE", "U0BOB"])
    assert set(fake.channel(channel).members) == {"UBOT", "U0ALICE", "U0BOB"}
    # Partly already there: the others are invited.
    client.conversations_invite(channel=channel, users="U0ALICE,U0CAROL")
    assert "U0CAROL" in fake.channel(channel).members
    err = error_of(client.conversations_invite, channel=channel, users="U0ALICE,U0BOB").response
    assert err["error"] == "already_in_channel" and len(err["errors"]) == 2
    err = error_of(client.conversations_invite, channel=channel, users="U0DAVE,U0NOBODY").response
    assert err["error"] == "user_not_found"
    assert err["errors"] == [{"user": "U0NOBODY", "ok": False, "error": "user_not_found"}]
    assert "U0DAVE" not in fake.channel(channel).members  # all or nothing
    assert error_of(client.conversations_invite, channel=channel, users="UBOT").response["error"] == "cant_invite_self"
    assert error_of(client.conversations_invite, channel="C404", users="U0DAVE").response["error"] == (
        "channel_not_found"
    )
    forced = error_of(client.conversations_invite, channel=channel, users="U0DAVE,U0NOBODY", force=True).response
    assert forced["errors"] == [{"user": "U0NOBODY", "ok": False, "error": "user_not_found"}]
    assert "U0DAVE" in fake.channel(channel).members  # force: the valid ones are invited all the same


def test_topic_join_info_members(fake: FakeSlack, client: WebClient) -> None:
    channel = fake.add_channel("C0ANNOUNCE", "incidents", ["U0ALICE"], bot_member=False)
    assert error_of(client.conversations_setTopic, channel=channel, topic="x").response["error"] == "not_in_channel"
    assert client.conversations_join(channel=channel)["channel"]["is_member"] is True
    assert client.conversations_join(channel=channel)["warning"] == "already_in_channel"
    assert client.conversations_setTopic(channel=channel, topic="SEV1")["channel"]["topic"]["value"] == "SEV1"
    assert error_of(client.conversations_setTopic, channel=channel, topic="x" * 251).response["error"] == "too_long"
    assert client.conversations_info(channel=channel)["channel"]["name"] == "incidents"
    assert client.conversations_members(channel=channel)["members"] == ["U0ALICE", "UBOT"]


# ----------------------------------------------------------------------------- messages


def test_post_message_history_and_threads(fake: FakeSlack, client: WebClient) -> None:
    human = fake.add_message("C0GENERAL", "1732458000.000050", "U0ALICE", "db is down")
    first = client.chat_postMessage(channel="C0GENERAL", text="one")
    second = client.chat_postMessage(channel="#general", text="two", blocks=[{"type": "divider"}])
    client.chat_postMessage(channel="C0GENERAL", text="reply", thread_ts=first["ts"])
    assert float(human) < float(first["ts"]) < float(second["ts"])
    history = client.conversations_history(channel="C0GENERAL")["messages"]
    assert [m["text"] for m in history] == ["two", "one", "db is down"]
    assert history[1]["reply_count"] == 1 and history[0]["bot_id"] == "BBOT"
    one = client.conversations_history(channel="C0GENERAL", latest=human, inclusive=True, limit=1)["messages"]
    assert [m["user"] for m in one] == ["U0ALICE"]
    before = client.conversations_history(channel="C0GENERAL", latest=second["ts"], limit=1)["messages"]
    assert before[0]["text"] == "one"
    replies = client.conversations_replies(channel="C0GENERAL", ts=first["ts"])["messages"]
    assert [m["text"] for m in replies] == ["one", "reply"]


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"channel": "C404", "text": "x"}, "channel_not_found"),
        ({"channel": "C0GENERAL", "blocks": [{"type": "divider"}] * 51}, "invalid_blocks"),
        (
            {
                "channel": "C0GENERAL",
                "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}],
            },
            "invalid_blocks",
        ),
        (
            {
                "channel": "C0GENERAL",
                "blocks": [{"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}],
            },
            "invalid_blocks",
        ),
        ({"channel": "C0GENERAL", "blocks": {"type": "divider"}}, "invalid_blocks"),
        ({"channel": "C0GENERAL"}, "no_text"),
    ],
)
@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
def test_post_message_errors(client: WebClient, kwargs: dict[str, Any], error: str) -> None:
    assert error_of(client.chat_postMessage, **kwargs).response["error"] == error


def test_update_ephemeral_permalink_pins_reactions(fake: FakeSlack, client: WebClient) -> None:
    ts = client.chat_postMessage(channel="C0GENERAL", text="status")["ts"]
    assert client.chat_update(channel="C0GENERAL", ts=ts, text="status v2")["text"] == "status v2"
    assert error_of(client.chat_update, channel="C0GENERAL", ts="1.000001", text="x").response["error"] == (
        "message_not_found"
    )
    assert client.chat_postEphemeral(channel="C0GENERAL", user="U0ALICE", text="psst")["message_ts"]
    assert fake.ephemerals[0]["to_user"] == "U0ALICE"
    link = client.chat_getPermalink(channel="C0GENERAL", message_ts=ts)["permalink"]
    assert link.endswith(f"/archives/C0GENERAL/p{ts.replace('.', '')}")
    client.pins_add(channel="C0GENERAL", timestamp=ts)
    assert error_of(client.pins_add, channel="C0GENERAL", timestamp=ts).response["error"] == "already_pinned"
    assert error_of(client.pins_add, channel="C0GENERAL", timestamp="1.5").response["error"] == "message_not_found"
    client.reactions_add(channel="C0GENERAL", timestamp=ts, name="eyes")
    assert error_of(client.reactions_add, channel="C0GENERAL", timestamp=ts, name="eyes").response["error"] == (
        "already_reacted"
    )
    assert fake.messages("C0GENERAL")[-1]["reactions"] == [{"name": "eyes", "users": ["UBOT"], "count": 1}]


# ----------------------------------------------------------------------------- views, users, groups


def modal(title: str = "Declare incident", blocks: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": "declare",
        "title": {"type": "plain_text", "text": title},
        "submit": {"type": "plain_text", "text": "Declare"},
        "blocks": blocks or [],
    }


def test_views(fake: FakeSlack, client: WebClient) -> None:
    first = signing.new_trigger_id()
    view = client.views_open(trigger_id=first, view=modal())["view"]
    assert view["id"].startswith("V") and view["callback_id"] == "declare"
    assert error_of(client.views_open, trigger_id=first, view=modal()).response["error"] == "exchanged_trigger_id"
    too_long = error_of(client.views_open, trigger_id=signing.new_trigger_id(), view=modal("x" * 25)).response
    assert too_long["error"] == "invalid_arguments"
    many = error_of(
        client.views_open, trigger_id=signing.new_trigger_id(), view=modal(blocks=[{"type": "divider"}] * 101)
    )
    assert many.response["error"] == "invalid_blocks"
    updated = client.views_update(view_id=view["id"], view=modal("Step 2"), hash=view["hash"])["view"]
    assert updated["id"] == view["id"] and updated["hash"] != view["hash"]
    assert error_of(client.views_update, view_id="V404", view=modal()).response["error"] == "not_found"
    home = {"type": "home", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}]}
    assert client.views_publish(user_id="U0ALICE", view=home)["view"]["type"] == "home"
    assert fake.home_views["U0ALICE"]["blocks"][0]["type"] == "section"


def test_users_and_usergroups(fake: FakeSlack, client: WebClient) -> None:
    fake.add_usergroup("S0NETOPS", "netops", ["U0CAROL", "U0DAVE"])
    assert client.usergroups_users_list(usergroup="S0NETOPS")["users"] == ["U0CAROL", "U0DAVE"]
    assert error_of(client.usergroups_users_list, usergroup="S404").response["error"] == "no_such_subteam"
    user = client.users_info(user="U0BOB")["user"]
    assert (user["name"], user["real_name"], user["tz"]) == ("bob", "Bob", "Europe/London")
    assert error_of(client.users_info, user="U404").response["error"] == "user_not_found"


# ----------------------------------------------------------------------------- files v2


def test_files_upload_v2_sync(fake: FakeSlack, client: WebClient) -> None:
    result = client.files_upload_v2(
        channel="C0GENERAL",
        content=b"# Postmortem\n",
        filename="postmortem.md",
        title="Postmortem",
        initial_comment="Draft attached",
    )
    assert result["file"]["title"] == "Postmortem"
    [uploaded] = fake.uploaded_files
    assert (uploaded.filename, uploaded.content, uploaded.channel_id, uploaded.initial_comment) == (
        "postmortem.md",
        b"# Postmortem\n",
        "C0GENERAL",
        "Draft attached",
    )
    assert [c.method for c in fake.calls] == [
        "files.getUploadURLExternal",
        "upload_url",
        "files.completeUploadExternal",
    ]
    assert fake.calls_to("files.completeUploadExternal")[0].params["files"][0]["id"] == uploaded.file_id
    assert fake.messages("C0GENERAL")[-1]["files"][0]["id"] == uploaded.file_id


def test_complete_upload_without_bytes_fails(client: WebClient) -> None:
    file_id = client.files_getUploadURLExternal(filename="a.txt", length=3)["file_id"]
    err = error_of(client.files_completeUploadExternal, files=[{"id": file_id, "title": "a"}], channel_id="C0GENERAL")
    assert err.response["error"] == "file_not_found"


async def test_async_client(fake: FakeSlack) -> None:
    client = AsyncWebClient(token=TOKEN, base_url=fake.base_url)
    channel = (await client.conversations_create(name="inc-async"))["channel"]["id"]
    await client.conversations_invite(channel=channel, users=["U0ALICE"])
    fake.add_usergroup("S0ONCALL", "oncall", ["U0ERIN"])
    assert (await client.usergroups_users_list(usergroup="S0ONCALL"))["users"] == ["U0ERIN"]
    posted = await client.chat_postMessage(channel=channel, text="hello", blocks=[{"type": "divider"}])
    result = await client.files_upload_v2(channel=channel, content="timeline", filename="t.txt", title="Timeline")
    assert result["file"]["name"] == "t.txt"
    assert fake.uploaded_files[0].content == b"timeline"
    assert fake.messages(channel)[0]["ts"] == posted["ts"]
    with pytest.raises(SlackApiError) as info:
        await client.conversations_create(name="inc-async")
    assert info.value.response["error"] == "name_taken"


# ----------------------------------------------------------------------------- failure injection


def test_fail_next_rate_limit(fake: FakeSlack, client: WebClient) -> None:
    fake.fail_next("chat.postMessage", retry_after=7)
    err = error_of(client.chat_postMessage, channel="C0GENERAL", text="x")
    assert err.response.status_code == 429 and err.response["error"] == "ratelimited"
    assert err.response.headers["Retry-After"] == "7"
    assert fake.messages("C0GENERAL") == []
    assert client.chat_postMessage(channel="C0GENERAL", text="x")["ok"]


def test_channel_rate_limit_answers_like_slack(fake: FakeSlack, client: WebClient) -> None:
    """`limit_channel_rate(1.0)`: a second post to one channel within the second is refused the way Slack
    documents a rate limit (HTTP 429, `Retry-After` in seconds, `ratelimited`) and not stored; another channel
    is not held back."""
    fake.limit_channel_rate(1.0)
    assert client.chat_postMessage(channel="C0GENERAL", text="first")["ok"]
    err = error_of(client.chat_postMessage, channel="C0GENERAL", text="second")
    assert err.response.status_code == 429 and err.response["error"] == "ratelimited"
    assert err.response.headers["Retry-After"] == "1"
    assert [m["text"] for m in fake.messages("C0GENERAL")] == ["first"]
    other = fake.add_channel(None, "other")
    assert client.chat_postMessage(channel=other, text="elsewhere")["ok"]


def test_rate_limit_retry_handler(fake: FakeSlack, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("slack_sdk.http_retry.builtin_handlers.random.random", lambda: 0.0)
    client = WebClient(token=TOKEN, base_url=fake.base_url, retry_handlers=[RateLimitErrorRetryHandler()])
    fake.fail_next("chat.postMessage", retry_after=0)
    assert client.chat_postMessage(channel="C0GENERAL", text="x")["ok"]
    assert [c.status for c in fake.calls_to("chat.postMessage")] == [429, 200]


def test_failure_rate_and_delay(fake: FakeSlack, client: WebClient) -> None:
    fake.set_failure_rate(1.0, statuses=(500,), seed=1)
    assert error_of(client.users_info, user="U0BOB").response.status_code == 500
    assert client.auth_test()["ok"]  # excluded by default
    fake.set_failure_rate(0.0)
    fake.fail_next("views.open", error="expired_trigger_id", status=200)
    expired = error_of(client.views_open, trigger_id=signing.new_trigger_id(), view=modal()).response
    assert expired["error"] == "expired_trigger_id"
    fake.delay("auth.test", 0.2)
    started = time.monotonic()
    client.auth_test()
    assert time.monotonic() - started >= 0.2


def test_a_held_method_is_answered_only_once_released(fake: FakeSlack, client: WebClient) -> None:
    """`hold` keeps calls unanswered (and unrecorded) until `release`; other methods answer meanwhile."""
    fake.hold("users.info")
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(client.users_info, user="U0BOB")
        assert client.auth_test()["ok"]
        time.sleep(0.3)
        assert not pending.done() and fake.calls_to("users.info") == []
        fake.release("users.info")
        assert pending.result(timeout=10)["user"]["id"] == "U0BOB"
    assert [c.ok for c in fake.calls_to("users.info")] == [True]
    assert client.users_info(user="U0BOB")["ok"]  # no longer held


# ----------------------------------------------------------------------------- response_url and signing


def test_response_url(fake: FakeSlack) -> None:
    hook = WebhookClient(fake.response_url("cmd1"))
    assert hook.send(text="working on it", response_type="ephemeral").status_code == 200
    call = fake.wait_for(fake_slack.RESPONSE_URL_METHOD)[0]
    assert call.params == {"text": "working on it", "response_type": "ephemeral"}
    assert call.path.endswith("/cmd1")
    statuses = [hook.send(text="again").status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 200, 404]


def test_sign_request_is_valid() -> None:
    body = signing.slash_command_body("declare db down")
    headers = signing.sign_request(SECRET, body)
    verifier = SignatureVerifier(SECRET)
    assert verifier.is_valid(body, headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"])
    old = signing.sign_request(SECRET, body, timestamp=int(time.time()) - 600)
    assert not verifier.is_valid(body, old["X-Slack-Request-Timestamp"], old["X-Slack-Signature"])


def dispatch(app: App, body: str) -> Any:
    return app.dispatch(BoltRequest(body=body, headers=dict(signing.signed_headers(SECRET, body))))


def test_bolt_understands_the_bodies(fake: FakeSlack) -> None:
    app = App(signing_secret=SECRET, client=WebClient(token=TOKEN, base_url=fake.base_url))
    seen: dict[str, Any] = {}

    @app.command("/incident")
    def on_command(ack: Any, respond: Any, command: dict[str, Any]) -> None:
        ack()
        respond(f"declaring: {command['text']}")

    @app.view("declare")
    def on_submit(ack: Any, view: dict[str, Any]) -> None:
        seen["values"] = view["state"]["values"]
        ack()

    @app.action("ack_incident")
    def on_action(ack: Any, body: dict[str, Any]) -> None:
        seen["action"] = body["actions"][0]["value"]
        ack()

    @app.event("reaction_added")
    def on_reaction(event: dict[str, Any]) -> None:
        seen["reaction"] = event["reaction"]

    body = signing.slash_command_body("db down", response_url=fake.response_url("slash"))
    assert dispatch(app, body).status == 200
    assert fake.wait_for("response_url")[0].params["text"] == "declaring: db down"

    values = {"title": {"title_input": signing.text_input("DB down")}}
    assert dispatch(app, signing.view_submission_body("declare", values)).status == 200
    assert seen["values"]["title"]["title_input"]["value"] == "DB down"

    assert dispatch(app, signing.block_actions_body("ack_incident", value="INC-1")).status == 200
    assert seen["action"] == "INC-1"

    event = signing.reaction_added_event("pushpin", ts="1732458000.000100", item_user="U0BOB")
    assert dispatch(app, signing.event_callback_body(event)).status == 200
    deadline = time.monotonic() + 2
    while "reaction" not in seen and time.monotonic() < deadline:
        time.sleep(0.01)
    assert seen["reaction"] == "pushpin"

    challenge = dispatch(app, signing.url_verification_body("abc123"))
    assert json.loads(challenge.body) == {"challenge": "abc123"}
    bad = app.dispatch(BoltRequest(body=body, headers=dict(signing.signed_headers("wrong", body))))
    assert bad.status == 401


@pytest.mark.parametrize("method", ["pins.add", "chat.postEphemeral", "conversations.history", "chat.getPermalink"])
def test_an_archived_channel_answers_only_codes_slack_documents(
    fake: FakeSlack, client: WebClient, method: str
) -> None:
    """A tester's finding: pins.add in an archived channel answered is_archived, which docs.slack.dev does not
    list for pins.add; it answers restricted_action (documented: no permission to add pins to the channel)."""
    from tests.support.fake_slack.reference import DOCUMENTED

    channel = fake.add_channel(None, "inc-9-x", ["U0ALICE"])
    ts = fake.add_message(channel, None, "UBOT", "status")  # the bot's message
    fake.archive_by_hand(channel)
    params = {"channel": channel, "timestamp": ts, "ts": ts, "message_ts": ts, "user": "U0ALICE", "text": "x"}
    try:
        client.api_call(method, json=params)
    except SlackApiError as exc:
        assert exc.response["error"] in DOCUMENTED[method]["errors"], (method, exc.response["error"])
        if method == "pins.add":
            assert exc.response["error"] == "restricted_action"
    else:
        assert method != "pins.add"
