"""Building the slack-bolt AsyncApp: the client pointed at SLACK_API_URL, and every listener registered."""

from __future__ import annotations

from dataclasses import dataclass

from slack_bolt.async_app import AsyncApp
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings
from bot.postmortem.render import PostmortemRenderer
from bot.service import IncidentService
from bot.slack.effects import SlackEffects


@dataclass(frozen=True)
class SlackDeps:
    """What every listener needs: the use cases, the Slack calls, the postmortem renderer."""

    service: IncidentService
    effects: SlackEffects
    renderer: PostmortemRenderer


def build_client(settings: Settings) -> AsyncWebClient:
    """A Web API client for SLACK_API_URL that retries 429 (honouring Retry-After) and 5xx a few times."""
    client = AsyncWebClient(token=settings.slack_bot_token.get(), base_url=settings.slack_api_url)
    client.retry_handlers.extend([
        AsyncRateLimitErrorRetryHandler(max_retry_count=2),
        AsyncServerErrorRetryHandler(max_retry_count=2),
    ])
    if not any(isinstance(h, AsyncConnectionErrorRetryHandler) for h in client.retry_handlers):
        client.retry_handlers.append(AsyncConnectionErrorRetryHandler())
    return client


def build_app(settings: Settings, service: IncidentService, client: AsyncWebClient | None = None) -> AsyncApp:
    """The bolt app with the /incident command, interactivity and events."""
    from bot.slack.listeners import commands, events, interactions

    client = client or build_client(settings)
    app = AsyncApp(
        client=client,
        signing_secret=settings.slack_signing_secret.get(),
        process_before_response=False,
    )
    deps = SlackDeps(
        service=service,
        effects=SlackEffects(client, settings.channel_prefix, settings.announce_channel),
        renderer=PostmortemRenderer(settings.templates_dir),
    )
    commands.register(app, deps)
    interactions.register(app, deps)
    events.register(app, deps)
    return app
