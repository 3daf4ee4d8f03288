"""An in-process fake of the Slack Web API for tests (stdlib only).

`FakeSlack` runs a `ThreadingHTTPServer` on 127.0.0.1 (random port) that answers the Web API methods
incidentbot uses the way Slack documents them: HTTP 200 with `{"ok": true, ...}` or
`{"ok": false, "error": "<code>"}`, with state (users, channels, messages, pins, reactions, views,
files) so answers stay realistic. Point `WebClient(base_url=fake.base_url)` at it.

Besides `/api/<method>` it serves two non-API endpoints, recorded as calls too:

* `/upload/v1/<file_id>`: the `upload_url` of `files.getUploadURLExternal`; recorded as method
  `"upload_url"` with params `{"file_id", "length"}`.
* `/response/<name>`: a `response_url` (see `FakeSlack.response_url`); recorded as method
  `"response_url"` with the posted JSON as params. Like Slack, a response_url takes 5 posts; the
  6th gets HTTP 404 `used_url`.

Deliberate simplifications are noted on the handlers (e.g. `conversations.invite`).

The fake answers from Slack's method reference (`tests/support/slack_methods.json`: arguments and
documented error codes of the methods incidentbot calls, from slack-ruby/slack-api-ref, MIT):

* `fail_next` refuses an error code the method does not document, so a test cannot invent one;
  every documented code can be injected. `fail_next_raw` sends a non-JSON body (a proxy's HTML 502).
* every call to a documented method is checked against its argument list: `argument_problems()`
  lists undocumented argument names and missing required ones; `nonconforming_answers()` lists
  answers whose error code the method does not document (a bug in the fake).
* `chat.postMessage` truncates `text` beyond 40,000 characters, as Slack does (no `msg_too_long`).
* a `trigger_id` from `tests.support.signing.new_trigger_id` carries its issue time and expires
  after 3 s (`expired_trigger_id`); one not in Slack's `<digits>.<digits>.<hex>` shape is
  `invalid_trigger_id`.
* `limit_channel_rate(per_second)` answers `chat.postMessage` beyond about 1 message per second per
  channel with HTTP 429 and `Retry-After`, like Slack's special per-channel limit.
* `refuse_invite(user, error)` makes `conversations.invite` refuse one person with a documented code.

The package, by concern:

* `fake`: `FakeSlack` itself (start, seed, inspect); `server`: the HTTP front and routing;
* `state`: the workspace (users, channels, messages, pins, views, files); `constants`: its identity;
* `methods/`: the Web API methods, one module per API family (auth, users, conversations, chat, pins,
  reactions, views, files), registered in `registry`;
* `params`: reading arguments; `blocks`: Block Kit limits; `records`: `RecordedCall`, `UploadedFile`,
  `Headers` and `SlackError`;
* `reference`: Slack's method reference and the conformance checks; `recording`: the call log and
  `wait_for`;
* `faults`: error injection; `rate_limits`: the per-channel limit of chat.postMessage.
"""

from __future__ import annotations

from tests.support.fake_slack.blocks import blocks_errors
from tests.support.fake_slack.constants import (
    APP_ID,
    BOT_ID,
    BOT_NAME,
    BOT_USER_ID,
    DEFAULT_TOKEN,
    DEFAULT_USERS,
    GENERAL_CHANNEL_ID,
    GRANTED_SCOPES,
    MESSAGE_TEXT_LIMIT,
    RESPONSE_URL_MAX_USES,
    RESPONSE_URL_METHOD,
    TEAM_DOMAIN,
    TEAM_ID,
    TEAM_NAME,
    TRIGGER_LIFETIME_SECONDS,
    UPLOAD_METHOD,
)
from tests.support.fake_slack.fake import FakeSlack
from tests.support.fake_slack.methods.conversations import check_channel_name
from tests.support.fake_slack.methods.views import trigger_issued_at
from tests.support.fake_slack.params import parse_params
from tests.support.fake_slack.records import Headers, RecordedCall, SlackError, UploadedFile
from tests.support.fake_slack.reference import DOCUMENTED, METHODS_FILE
from tests.support.fake_slack.registry import api_methods
from tests.support.fake_slack.state import Channel, Workspace

__all__ = [
    "APP_ID",
    "BOT_ID",
    "BOT_NAME",
    "BOT_USER_ID",
    "DEFAULT_TOKEN",
    "DEFAULT_USERS",
    "DOCUMENTED",
    "GENERAL_CHANNEL_ID",
    "GRANTED_SCOPES",
    "MESSAGE_TEXT_LIMIT",
    "METHODS_FILE",
    "RESPONSE_URL_MAX_USES",
    "RESPONSE_URL_METHOD",
    "TEAM_DOMAIN",
    "TEAM_ID",
    "TEAM_NAME",
    "TRIGGER_LIFETIME_SECONDS",
    "UPLOAD_METHOD",
    "Channel",
    "FakeSlack",
    "Headers",
    "RecordedCall",
    "SlackError",
    "UploadedFile",
    "Workspace",
    "api_methods",
    "blocks_errors",
    "check_channel_name",
    "parse_params",
    "trigger_issued_at",
]
