"""Who the bot is in Slack (``auth.test``), learned once and cached, so no request waits for Slack.

bolt's single-workspace authorization calls ``auth.test`` on the first request after each start;
while Slack's Web API is unreachable or answers 429/5xx, every command then gets HTTP 500 or "your
installation is no longer available" and nothing is recorded. Here bolt is given an ``authorize``
function instead (bolt's documented hook: "Authorization", docs.slack.dev/tools/bolt-python): the
token is checked at start, and while Slack is down the check is retried in the background with
backoff. Requests are authorized by their signature alone (bolt verifies it before authorizing)
with the bot token we were given; the outbox makes Slack catch up once it answers again.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

import aiohttp
import structlog
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.async_authorize import AsyncAuthorize
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import ConfigError
from bot.slack.api_errors import REINSTALL, ErrorClass, SlackFailure, classify, failure_of

log = structlog.get_logger("incidentbot.slack")

REFUSED_TOKEN_ERRORS = frozenset(
    {"not_authed", "invalid_auth", "account_inactive", "token_revoked", "token_expired", "not_allowed_token_type"}
)
"""``auth.test`` errors that mean the token itself is wrong (Slack's method reference): retrying cannot help."""
RETRY_DELAYS = (1.0, 2.0, 5.0, 10.0, 30.0, 60.0)
"""Seconds between background checks while Slack is unavailable; the last repeats.
A 429's Retry-After wins when it is longer."""
START_CHECK_SECONDS = 5.0
"""How long start-up waits for the first ``auth.test`` before serving without it."""


class SlackSetupFault(ConfigError):
    """``auth.test`` answered a setup fault (the table's class SETUP, or SLACK_API_URL serving no Slack JSON).

    No retry can help: start-up stops with this one line naming the fix."""


class TokenRefused(SlackSetupFault):
    """Slack answered ``auth.test`` with an error that means SLACK_BOT_TOKEN is wrong, revoked or expired."""


class SlackUnavailable(Exception):
    """Slack did not answer ``auth.test`` this time (network error, timeout, 429, 5xx); ``after`` seconds hint."""

    def __init__(self, reason: str, after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.after = after


class BotIdentity(AsyncAuthorize):
    """The bot's ``auth.test`` answer (team, bot user id, bot id), cached after the first success.

    It is bolt's ``authorize`` (``AsyncApp(authorize=identity)``): called once per request, it never calls Slack.
    """

    def __init__(self, client: AsyncWebClient, retry_delays: Sequence[float] = RETRY_DELAYS) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # bolt leaves it unannotated
        self.client = client
        self.retry_delays = tuple(retry_delays)
        self.known: AuthorizeResult | None = None
        self.refused = False
        """True once Slack answered a setup fault to the background check (start-up had already passed)."""
        self._retrying: asyncio.Task[None] | None = None

    @property
    def token(self) -> str | None:
        return self.client.token

    async def state(self) -> str:
        """What ``/healthz`` reports: ``verified`` (auth.test answered), ``unverified`` (Slack has not
        answered yet: degraded, checked again in the background) or ``refused`` (a setup fault)."""
        if self.refused:
            return "refused"
        return "unverified" if self.known is None else "verified"

    async def check(self) -> AuthorizeResult:
        """Call ``auth.test`` once and cache the answer.

        Raises TokenRefused when Slack refuses the token, SlackSetupFault for any other setup fault
        (a missing scope, a workspace policy, SLACK_API_URL serving a web page or a 404), and
        SlackUnavailable when Slack did not answer (network, 429, 5xx, a temporary code).
        """
        try:
            response = await self.client.auth_test()
        except SlackApiError as exc:
            raise auth_test_failure(failure_of(exc), self.client.base_url) from exc
        except (aiohttp.ClientError, TimeoutError, ConnectionError) as exc:
            raise SlackUnavailable(f"network: {type(exc).__name__}") from exc
        self.known = AuthorizeResult.from_auth_test_response(
            bot_token=self.token,
            bot_scopes=response.headers.get("x-oauth-scopes"),
            auth_test_response=response,
        )
        log.info(
            "slack_identity_verified",
            team=self.known.team_id,
            bot_user=self.known.bot_user_id,
            bot=self.known.bot_id,
        )
        return self.known

    async def start(self, timeout: float = START_CHECK_SECONDS) -> None:
        """At start-up: check the token; if Slack is unavailable, serve anyway and keep checking in the background.

        Raises SlackSetupFault (start-up stops with its one line) on a setup fault, TokenRefused among them.
        """
        try:
            await asyncio.wait_for(self.check(), timeout)
        except (SlackUnavailable, TimeoutError) as exc:
            wait = max(self.retry_delays[0], (exc.after if isinstance(exc, SlackUnavailable) else None) or 0.0)
            log.warning("slack_identity_unverified", reason=_reason(exc), retry_in=wait)
            self._keep_checking(wait)

    async def stop(self) -> None:
        """Cancel the background check, if one runs."""
        task, self._retrying = self._retrying, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _keep_checking(self, wait: float = 0.0) -> None:
        if self.known is None and (self._retrying is None or self._retrying.done()):
            self._retrying = asyncio.create_task(self._check_until_known(wait))

    async def _check_until_known(self, wait: float) -> None:
        """Check after ``wait`` seconds, then with backoff (a 429's Retry-After when longer) until Slack answers."""
        attempt = 0
        while self.known is None:
            await asyncio.sleep(wait)
            attempt += 1
            try:
                await self.check()
            except SlackUnavailable as exc:
                wait = max(self.retry_delays[min(attempt, len(self.retry_delays) - 1)], exc.after or 0.0)
                log.info("slack_identity_retry", attempt=attempt, reason=exc.reason, retry_in=wait)
            except SlackSetupFault as exc:
                # Slack came back and answers a setup fault: said once with its fix.
                self.refused = True
                log.error("slack_setup_fault", method="auth.test", fix=exc.user_message)
                return

    async def __call__(
        self,
        *,
        context: AsyncBoltContext,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None,
        actor_enterprise_id: str | None = None,
        actor_team_id: str | None = None,
        actor_user_id: str | None = None,
    ) -> AuthorizeResult:
        """bolt's ``authorize`` hook, called with keywords once per request."""
        return self.authorize(enterprise_id, team_id, user_id)

    def authorize(self, enterprise_id: str | None, team_id: str | None, user_id: str | None) -> AuthorizeResult:
        """The cached identity for a request of ``user_id``, or while it is unknown the token alone.

        Never calls Slack: a request whose signature bolt verified is served even while Slack is down.
        """
        known = self.known
        if known is None:
            self._keep_checking()
            return AuthorizeResult(enterprise_id=enterprise_id, team_id=team_id, bot_token=self.token, user_id=user_id)
        return AuthorizeResult(
            enterprise_id=known.enterprise_id or enterprise_id,
            team_id=known.team_id or team_id,
            team=known.team,
            url=known.url,
            bot_id=known.bot_id,
            bot_user_id=known.bot_user_id,
            bot_token=self.token,
            bot_scopes=known.bot_scopes,
            user_id=user_id,
        )


def auth_test_failure(failure: SlackFailure, api_url: str) -> SlackSetupFault | SlackUnavailable:
    """What a failed ``auth.test`` means at start-up: a setup fault (stop) or Slack being down (retry).

    A reply that is not Slack JSON is Slack being down only for HTTP 5xx and 429; a 200 web page or
    a 404 means SLACK_API_URL serves something else: a misconfiguration, not an outage.
    """
    code = failure.code
    if code is None:
        if failure.status >= 500 or failure.status == 429:
            return SlackUnavailable(failure.detail, failure.retry_after)
        return SlackSetupFault(f"SLACK_API_URL {api_url}: auth.test: {failure.detail}.")
    kind, reason = failure.meaning
    if kind is ErrorClass.TEMPORARY:
        return SlackUnavailable(f"{code} (HTTP {failure.status}): {reason}", failure.retry_after)
    if code in REFUSED_TOKEN_ERRORS:
        return TokenRefused(
            f"Slack refused SLACK_BOT_TOKEN ({code}): copy the Bot User OAuth Token (xoxb-...) from "
            "OAuth & Permissions of your Slack app."
        )
    if classify("auth.test", code) is None:
        reason = f"an error Slack does not document for auth.test: {REINSTALL}"
    return SlackSetupFault(f"Slack refused auth.test ({code}): {reason}.")


def _reason(exc: BaseException) -> str:
    return exc.reason if isinstance(exc, SlackUnavailable) else f"no answer in {START_CHECK_SECONDS:.0f} s"
