"""The tracker the settings name (``TRACKER=github|jira``), or None when none is configured."""

from __future__ import annotations

from bot.config import Settings
from bot.integrations.trackers.github import DEFAULT_GITHUB_URL, GitHubTracker
from bot.integrations.trackers.jira import JiraTracker
from bot.integrations.trackers.port import Tracker


def build_tracker(settings: Settings, *, timeout_seconds: float = 15.0) -> Tracker | None:
    """A GitHubTracker or JiraTracker for ``settings`` (already validated by ``bot.config``), or None."""
    if settings.tracker == "github":
        return GitHubTracker(
            settings.tracker_project,
            settings.tracker_token.get(),
            settings.tracker_url or DEFAULT_GITHUB_URL,
            timeout_seconds=timeout_seconds,
        )
    if settings.tracker == "jira":
        return JiraTracker(
            settings.tracker_url,
            settings.tracker_project,
            settings.tracker_user,
            settings.tracker_token.get(),
            timeout_seconds=timeout_seconds,
        )
    return None
