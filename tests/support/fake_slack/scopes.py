"""The scopes a call needs on a private channel, as Slack's method reference lists them.

Each conversations method names the scope per kind of channel: ``channels:*`` for public channels,
``groups:*`` for private ones (docs.slack.dev, reference/methods/conversations.create, .invite,
.setTopic, .history, .replies, .info, .members: "Required scopes ... groups:write" / "groups:history" /
"groups:read"). Slack answers a call made without the scope with ``missing_scope``, naming the scope
``needed`` and the ones ``provided`` ("Web API basics", "Scopes and permissions"). The fake enforces the
``groups:*`` ones, the scopes a private incident needs; the public channels' scopes are not checked here.
"""

from __future__ import annotations

from typing import Any

from tests.support.fake_slack.constants import BOT_USER_ID
from tests.support.fake_slack.params import flag
from tests.support.fake_slack.records import SlackError
from tests.support.fake_slack.state import Workspace

PRIVATE_CHANNEL_SCOPES = {
    "conversations.invite": "groups:write",
    "conversations.setTopic": "groups:write",
    "conversations.setPurpose": "groups:write",
    "conversations.archive": "groups:write",
    "conversations.unarchive": "groups:write",
    "conversations.kick": "groups:write",
    "conversations.rename": "groups:write",
    "conversations.history": "groups:history",
    "conversations.replies": "groups:history",
    "conversations.info": "groups:read",
    "conversations.members": "groups:read",
}
"""Method -> the scope it needs when its ``channel`` is private."""


def needed_scope(ws: Workspace, method: str, params: dict[str, Any]) -> str | None:
    """The ``groups:*`` scope ``method`` called with ``params`` needs, or None (a public channel, a private one the
    bot is not in, another method)."""
    if method == "conversations.create":
        return "groups:write" if flag(params, "is_private") else None
    scope = PRIVATE_CHANNEL_SCOPES.get(method)
    channel = ws.channels.get(str(params.get("channel") or ""))
    if scope is None or channel is None or not channel.is_private:
        return None
    # A private channel the bot is not in is invisible to it: Slack answers channel_not_found (the method's own
    # check) rather than tell a token that lacks the scope the channel exists.
    return scope if BOT_USER_ID in channel.members else None


def check_scope(ws: Workspace, method: str, params: dict[str, Any], granted: list[str]) -> None:
    """Raise ``missing_scope`` (with ``needed`` and ``provided``) when the token lacks the scope the call needs."""
    scope = needed_scope(ws, method, params)
    if scope is not None and scope not in granted:
        raise SlackError("missing_scope", needed=scope, provided=",".join(granted))
