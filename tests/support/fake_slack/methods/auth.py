"""auth.test: the bot's identity."""

from __future__ import annotations

from typing import Any

from tests.support.fake_slack.constants import (
    BOT_ID,
    BOT_NAME,
    BOT_USER_ID,
    TEAM_DOMAIN,
    TEAM_ID,
    TEAM_NAME,
)
from tests.support.fake_slack.registry import api_method
from tests.support.fake_slack.state import Workspace


@api_method("auth.test")
def _auth_test(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    return {
        "url": f"https://{TEAM_DOMAIN}.slack.com/",
        "team": TEAM_NAME,
        "user": BOT_NAME,
        "team_id": TEAM_ID,
        "user_id": BOT_USER_ID,
        "bot_id": BOT_ID,
        "is_enterprise_install": False,
    }
