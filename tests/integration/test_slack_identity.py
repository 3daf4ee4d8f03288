"""The bot's identity (auth.test) against the fake Slack: every documented auth.test error is either a
refused token (start-up stops) or an outage (serve anyway, check again in the background), and no
request ever waits for Slack."""

from __future__ import annotations

import asyncio

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.identity import BotIdentity, TokenRefused
from tests.support.bot_server import BOT_TOKEN
from tests.support.fake_slack import BOT_ID, BOT_USER_ID, FakeSlack

AUTH_TEST_ERRORS = [
    "access_denied",
    "accesslimited",
    "account_inactive",
    "deprecated_endpoint",
    "ekm_access_denied",
    "enterprise_is_restricted",
    "fatal_error",
    "internal_error",
    "invalid_arg_name",
    "invalid_array_arg",
    "invalid_auth",
    "invalid_charset",
    "invalid_form_data",
    "invalid_post_type",
    "is_bot",
    "method_deprecated",
    "missing_post_type",
    "missing_scope",
    "no_permission",
    "not_allowed_token_type",
    "not_authed",
    "org_login_required",
    "ratelimited",
    "request_timeout",
    "service_unavailable",
    "team_added_to_org",
    "token_expired",
    "token_revoked",
    "two_factor_setup_required",
    "unknown_method",
]
"""Every error Slack's method reference documents for auth.test (slack-api-facts/methods.json)."""
TOKEN_REFUSED = {
    "account_inactive",
    "invalid_auth",
    "not_allowed_token_type",
    "not_authed",
    "token_expired",
    "token_revoked",
}
"""The token itself is wrong: no retry can help, so start-up stops with one line."""


def _identity(fake: FakeSlack) -> BotIdentity:
    return BotIdentity(AsyncWebClient(token=BOT_TOKEN, base_url=fake.base_url), retry_delays=(0.05,))


class TestStartUp:
    @pytest.mark.parametrize("error", AUTH_TEST_ERRORS)
    def test_each_documented_error_stops_startup_or_is_retried_until_slack_answers(
        self, fake_slack: FakeSlack, error: str
    ) -> None:
        """Refused-token errors raise TokenRefused; any other answer starts the background check, which
        learns the bot's identity once Slack answers again."""
        fake_slack.fail_next("auth.test", error, status=200, times=3)
        identity = _identity(fake_slack)

        async def scenario() -> None:
            if error in TOKEN_REFUSED:
                with pytest.raises(TokenRefused, match=f"Slack refused SLACK_BOT_TOKEN \\({error}\\)"):
                    await identity.start()
                return
            await identity.start()
            assert identity.known is None
            for _ in range(200):
                if identity.known is not None:
                    break
                await asyncio.sleep(0.02)
            await identity.stop()

        asyncio.run(scenario())
        if error not in TOKEN_REFUSED:
            assert identity.known is not None
            assert (identity.known.bot_user_id, identity.known.bot_id) == (BOT_USER_ID, BOT_ID)
            assert [c.ok for c in fake_slack.calls_to("auth.test")] == [False, False, False, True]

    @pytest.mark.parametrize(("status", "retry_after"), [(429, 1), (500, None), (503, None)])
    def test_http_errors_are_outages_and_retry_after_is_honoured(
        self, fake_slack: FakeSlack, status: int, retry_after: int | None
    ) -> None:
        """429 (waiting its Retry-After) and 5xx never stop start-up; the next check waits at least Retry-After."""
        fake_slack.fail_next("auth.test", "ratelimited" if status == 429 else "internal_error", status=status)
        identity = _identity(fake_slack)

        async def scenario() -> float:
            loop = asyncio.get_running_loop()
            started = loop.time()
            await identity.start()
            while identity.known is None and loop.time() - started < 10:
                await asyncio.sleep(0.02)
            await identity.stop()
            return loop.time() - started

        took = asyncio.run(scenario())
        assert identity.known is not None
        assert took >= (retry_after or 0.05)


class TestAuthorize:
    def test_unknown_identity_authorizes_with_the_token_alone_and_without_calling_slack(
        self, fake_slack: FakeSlack
    ) -> None:
        """Before auth.test ever succeeded, a request is authorized with the bot token and the request's
        team; after, with the cached bot user and bot ids. No call per request either way."""
        fake_slack.stop()  # nothing answers
        identity = _identity(fake_slack)

        async def scenario() -> None:
            before = await identity(context=None, enterprise_id=None, team_id="T0TEST", user_id="U0ALICE")  # type: ignore[arg-type]
            assert (before.bot_token, before.team_id, before.user_id, before.bot_user_id) == (
                BOT_TOKEN,
                "T0TEST",
                "U0ALICE",
                None,
            )
            await identity.stop()

        asyncio.run(scenario())
        fake_slack.start(port=fake_slack.port)
        identity = _identity(fake_slack)

        async def known() -> None:
            await identity.start()
            calls = len(fake_slack.calls_to("auth.test"))
            for user in ("U0ALICE", "U0BOB", "U0CAROL"):
                result = await identity(context=None, enterprise_id=None, team_id="T0TEST", user_id=user)  # type: ignore[arg-type]
                assert (result.bot_user_id, result.bot_id, result.user_id, result.bot_token) == (
                    BOT_USER_ID,
                    BOT_ID,
                    user,
                    BOT_TOKEN,
                )
            assert len(fake_slack.calls_to("auth.test")) == calls == 1

        asyncio.run(known())
