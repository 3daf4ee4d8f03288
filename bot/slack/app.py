"""Building the slack-bolt AsyncApp: the client pointed at SLACK_API_URL, and every listener registered."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ParamSpec, Protocol, TypeVar

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped, warning_token_skipped
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncConnectionErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.config import Settings
from bot.metrics import SLACK_API_ERRORS
from bot.outbox.worker import in_delivery
from bot.slack.identity import BotIdentity
from bot.slack.pacing import SlackPacer
from bot.slack.turns import TurnTaking
from bot.slack.web_api import SlackWebApi
from bot.usecases.budgets import BudgetUseCases
from bot.usecases.followups import FollowupUseCases
from bot.usecases.incidents import IncidentUseCases
from bot.usecases.outbox import OutboxUseCases
from bot.usecases.publishing import PublishingUseCases
from bot.views.postmortem import PostmortemRenderer

P = ParamSpec("P")
T = TypeVar("T")


class Readers(Protocol):
    """Where read-only queries run, never behind writers: the server's readers' pool
    (``bot.store.threads.DatabaseThreads``, given by ``bot.app``)."""

    async def read(self, func: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """Run ``func`` (which only reads) in the readers' pool and return its result."""
        ...


@dataclass(frozen=True)
class SlackDeps:
    """What every listener needs: the use cases it calls (incidents, budgets, outbox), the Slack calls,
    the renderer, the outbox's doorbell, and the readers' thread pool (read-only queries run there,
    never behind writers)."""

    incidents: IncidentUseCases
    budgets: BudgetUseCases
    outbox: OutboxUseCases
    web_api: SlackWebApi
    renderer: PostmortemRenderer
    threads: Readers
    followups: FollowupUseCases | None = None
    wake_outbox: Callable[[], None] = lambda: None
    publishing: PublishingUseCases | None = None
    turns: TurnTaking = field(default_factory=TurnTaking)


class CountingWebClient(AsyncWebClient):
    """slack_sdk's client, counting every failed Web API call in ``incidentbot_slack_api_errors_total``."""

    async def api_call(self, api_method: str, **kwargs: Any) -> AsyncSlackResponse:
        try:
            return await super().api_call(api_method, **kwargs)
        except SlackApiError as exc:
            code = exc.response.get("error") if isinstance(exc.response.data, dict) else None
            status = getattr(exc.response, "status_code", 0)
            SLACK_API_ERRORS.labels(method=api_method, code=str(code or f"http_{status}")).inc()
            raise
        except (aiohttp.ClientError, TimeoutError, ConnectionError):
            SLACK_API_ERRORS.labels(method=api_method, code="network_error").inc()
            raise


def build_client(settings: Settings) -> AsyncWebClient:
    """A Web API client for SLACK_API_URL.

    Every failed call is counted for /metrics (``incidentbot_slack_api_errors_total``).
    Connection errors are retried here; 429 (with its Retry-After) and 5xx are left to the outbox,
    which reschedules the item instead of holding a worker in a sleep.
    """
    client = CountingWebClient(token=settings.slack_bot_token.get(), base_url=settings.slack_api_url, timeout=15)
    if not any(isinstance(h, AsyncConnectionErrorRetryHandler) for h in client.retry_handlers):
        client.retry_handlers.append(AsyncConnectionErrorRetryHandler())
    return client


def build_deps(
    settings: Settings,
    incidents: IncidentUseCases,
    budgets: BudgetUseCases,
    outbox: OutboxUseCases,
    client: AsyncWebClient,
    threads: Readers,
    followups: FollowupUseCases | None = None,
    publishing: PublishingUseCases | None = None,
) -> SlackDeps:
    return SlackDeps(
        incidents=incidents,
        budgets=budgets,
        outbox=outbox,
        web_api=SlackWebApi(
            client,
            settings.channel_prefix,
            settings.announce_channel,
            private_announce=settings.private_announce,
            pacer=SlackPacer() if settings.slack_pacing else None,
            paced=in_delivery,
        ),
        renderer=PostmortemRenderer(settings.templates_dir),
        threads=threads,
        followups=followups,
        publishing=publishing,
    )


class _TokenWarningFilter(logging.Filter):
    """Drops bolt's start-up warnings that SLACK_BOT_TOKEN "will be ignored": bolt reads that variable
    itself, but the token does reach every call through our client and our ``authorize``."""

    MESSAGES = frozenset({warning_client_prioritized_and_token_skipped(), warning_token_skipped()})

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() not in self.MESSAGES


def build_app(deps: SlackDeps, settings: Settings, identity: BotIdentity | None = None) -> AsyncApp:
    """The bolt app with the /incident command, interactivity and events, and its one error router.

    Requests are authorized by ``identity`` (see bot.slack.identity), never by a Web API call per
    request; ``identity.start()`` checks the token (the server does it at start-up).
    """
    from bot.slack import errors
    from bot.slack.listeners import commands, events, interactions

    identity = identity or BotIdentity(deps.web_api.client)
    bolt_logger = logging.getLogger("slack_bolt.AsyncApp")
    if not any(isinstance(f, _TokenWarningFilter) for f in bolt_logger.filters):
        bolt_logger.addFilter(_TokenWarningFilter())
    app = AsyncApp(
        client=deps.web_api.client,
        signing_secret=settings.slack_signing_secret.get(),
        authorize=identity,
        process_before_response=False,
        # bolt names its loggers after the app; unnamed, it takes the caller's file name ("app.py") from
        # inspect.stack(), which reads the source of every frame on the stack at each start.
        name="app.py",
    )
    commands.register(app, deps)
    interactions.register(app, deps)
    events.register(app, deps)
    errors.register(app, deps.web_api)
    return app
