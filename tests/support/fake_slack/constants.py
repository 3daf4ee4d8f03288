"""The fake workspace's fixed identity (team, bot, seed users) and the limits Slack documents."""

from __future__ import annotations

DEFAULT_TOKEN = "xoxb-test-token"
TEAM_ID = "T0TEST"
TEAM_NAME = "Test Team"
TEAM_DOMAIN = "testteam"
BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"
BOT_NAME = "incidentbot"
APP_ID = "A0INCIDENT"
GENERAL_CHANNEL_ID = "C0GENERAL"
GRANTED_SCOPES = (
    "commands",
    "channels:manage",
    "channels:join",
    "channels:history",
    "chat:write",
    "pins:write",
    "reactions:read",
    "usergroups:read",
    "users:read",
    "users:read.email",
    "files:write",
    "groups:write",
    "groups:history",
)
"""The bot token's scopes in the fake workspace by default: what manifest.yml asks for (copied here, so a
test can compare the two). Slack reports a token's granted scopes in the ``x-oauth-scopes`` header of
every Web API answer to a call made with it, comma-separated (Slack, "Web API basics": response headers
``x-oauth-scopes`` and ``x-accepted-oauth-scopes``; bolt reads it from auth.test as ``bot_scopes``)."""
DEFAULT_USERS = {"U0ALICE": "alice", "U0BOB": "bob", "U0CAROL": "carol", "U0DAVE": "dave", "U0ERIN": "erin"}

UPLOAD_METHOD = "upload_url"
RESPONSE_URL_METHOD = "response_url"
RESPONSE_URL_MAX_USES = 5

MESSAGE_TEXT_LIMIT = 40_000
"""chat.postMessage truncates `text` beyond 40,000 characters (Slack's method reference, "Truncating content")."""
TRIGGER_LIFETIME_SECONDS = 3.0
"""A trigger_id can open a modal within 3 s of the interaction (Slack: "Handling user interaction")."""
