"""The publishing targets the settings configure: CONFLUENCE_* and POSTMORTEM_GIT_* (None when off)."""

from __future__ import annotations

from bot.config import Settings
from bot.integrations.publishing.confluence import ConfluencePublisher
from bot.integrations.publishing.git import GitPublisher, GitTarget


def build_confluence(settings: Settings) -> ConfluencePublisher | None:
    """The Confluence publisher CONFLUENCE_* configure, or None when they are unset."""
    if not settings.confluence_url:
        return None
    return ConfluencePublisher(
        settings.confluence_url,
        settings.confluence_space,
        settings.confluence_user,
        settings.confluence_api_token.get(),
        settings.confluence_parent_id,
    )


def build_git_publisher(settings: Settings) -> GitPublisher | None:
    """The Git publisher POSTMORTEM_GIT_* configure, or None when POSTMORTEM_GIT_REPO is unset."""
    if settings.postmortem_git_repo is None:
        return None
    return GitPublisher(
        GitTarget(settings.postmortem_git_repo, settings.postmortem_git_branch, settings.postmortem_git_dir)
    )
