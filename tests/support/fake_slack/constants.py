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
DEFAULT_USERS = {"U0ALICE": "alice", "U0BOB": "bob", "U0CAROL": "carol", "U0DAVE": "dave", "U0ERIN": "erin"}

UPLOAD_METHOD = "upload_url"
RESPONSE_URL_METHOD = "response_url"
RESPONSE_URL_MAX_USES = 5

MESSAGE_TEXT_LIMIT = 40_000
"""chat.postMessage truncates `text` beyond 40,000 characters (Slack's method reference, "Truncating content")."""
TRIGGER_LIFETIME_SECONDS = 3.0
"""A trigger_id can open a modal within 3 s of the interaction (Slack: "Handling user interaction")."""
