"""The Web API methods, one module per Slack API family; importing this package registers them all."""

from __future__ import annotations

from tests.support.fake_slack.methods import auth, chat, conversations, files, pins, reactions, users, views

__all__ = ["auth", "chat", "conversations", "files", "pins", "reactions", "users", "views"]
