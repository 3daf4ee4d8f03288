"""The bot's identity (auth.test) against the fake Slack: every documented auth.test error is either a
refused token (start-up stops) or an outage (serve anyway, check again in the background), and no
request ever waits for Slack."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from slack_sdk.web.async_client import AsyncWebClient
from structlog.testing import capture_logs

from bot.slack.identity import BotIdentity, SlackSetupFault, TokenRefused
from tests.support.bot_server import BOT_TOKEN
from tests.support.fake_slack import BOT_ID, BOT_USER_ID, DOCUMENTED, FakeSlack

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
TEMPORARY = {
    "fatal_error",
    "internal_error",
    "org_login_required",
    "ratelimited",
    "request_timeout",
    "service_unavailable",
    "team_added_to_org",
}
"""Slack is busy, failing or migrating (their descriptions in the method reference): serve, check again later."""
SETUP = sorted(set(AUTH_TEST_ERRORS) - TOKEN_REFUSED - TEMPORARY)
"""Every other documented auth.test code: a scope, a workspace policy, a malformed request: stop with the fix."""


def _identity(fake: FakeSlack) -> BotIdentity:
    return BotIdentity(AsyncWebClient(token=BOT_TOKEN, base_url=fake.base_url), retry_delays=(0.05,))


def _start_refused(identity: BotIdentity) -> str:
    """Run start-up, expecting it to stop; returns its one line."""

    async def scenario() -> str:
        with pytest.raises(SlackSetupFault) as caught:
            await identity.start()
        assert identity._retrying is None  # nothing keeps retrying in the background
        return caught.value.user_message

    return asyncio.run(scenario())


class TestStartUp:
    def test_the_list_is_the_facts_file(self) -> None:
        """AUTH_TEST_ERRORS is exactly what Slack documents for auth.test (tests/support/slack_methods.json)."""
        assert sorted(DOCUMENTED["auth.test"]["errors"]) == AUTH_TEST_ERRORS

    @pytest.mark.parametrize("error", sorted(TOKEN_REFUSED | TEMPORARY))
    def test_refused_token_stops_and_temporary_is_retried_until_slack_answers(
        self, fake_slack: FakeSlack, error: str
    ) -> None:
        """Refused-token errors raise TokenRefused; temporary answers start the background check, which
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

    @pytest.mark.parametrize("error", SETUP)
    def test_every_setup_fault_stops_start_up_with_one_line_naming_the_fix(
        self, fake_slack: FakeSlack, error: str
    ) -> None:
        """missing_scope, ekm_access_denied, a malformed request...: start-up stops at once (one auth.test
        call, no background retry) with one line naming the code and what to do."""
        fake_slack.fail_next("auth.test", error, status=200, times=3)
        line = _start_refused(_identity(fake_slack))
        assert line.startswith(f"Slack refused auth.test ({error}): ") and "\n" not in line
        assert len(line) > len(f"Slack refused auth.test ({error}): ") + 20  # a fix, not just the code
        assert len(fake_slack.calls_to("auth.test")) == 1

    @pytest.mark.parametrize(
        ("error", "line"),
        [
            (
                "missing_scope",
                "Slack refused auth.test (missing_scope): the app lacks a scope: add it under "
                "oauth_config.scopes.bot (manifest.yml) and reinstall.",
            ),
            (
                "ekm_access_denied",
                "Slack refused auth.test (ekm_access_denied): administrators suspended posting (Enterprise Key "
                "Management): a workspace admin setting forbids it; ask an admin to allow it for the app.",
            ),
        ],
    )
    def test_examples_of_the_issue(self, fake_slack: FakeSlack, error: str, line: str) -> None:
        """The issue's examples, with their exact line."""
        fake_slack.fail_next("auth.test", error, status=200)
        assert _start_refused(_identity(fake_slack)) == line

    def test_team_access_not_granted_stops_start_up(self, fake_slack: FakeSlack) -> None:
        """An org-wide app not granted the workspace (a code the method reference omits) stops start-up."""
        body = '{"ok": false, "error": "team_access_not_granted"}'
        fake_slack.fail_next_raw("auth.test", 200, body, "application/json")
        assert _start_refused(_identity(fake_slack)) == (
            "Slack refused auth.test (team_access_not_granted): the app is installed on the Enterprise "
            "organisation but not granted this workspace: an org admin must add it to the workspace."
        )

    @pytest.mark.parametrize(
        ("status", "body", "seen"),
        [
            (200, "<!doctype html><title>Welcome to nginx!</title>", "HTTP 200 without a Slack JSON body (text/html)"),
            (404, "<html>Not Found</html>", "HTTP 404 without a Slack JSON body (text/html)"),
        ],
    )
    def test_slack_api_url_serving_a_web_page_stops_start_up(
        self, fake_slack: FakeSlack, status: int, body: str, seen: str
    ) -> None:
        """SLACK_API_URL answering a web page (200 text/html) or 404: a misconfiguration, not an outage."""
        fake_slack.fail_next_raw("auth.test", status, body, "text/html", times=3)
        assert _start_refused(_identity(fake_slack)) == (
            f"SLACK_API_URL {fake_slack.base_url}: auth.test: Slack answered {seen}: check SLACK_API_URL "
            "(it should end in /api/ and serve Slack's Web API)."
        )

    def test_a_proxy_502_page_is_slack_down_with_a_readable_reason(self, fake_slack: FakeSlack) -> None:
        """A 502 HTML page: serve, check again in the background, with the outbox's readable reason."""
        fake_slack.fail_next_raw("auth.test", 502, "<html>502 Bad Gateway</html>", "text/html")
        identity = _identity(fake_slack)

        async def scenario() -> None:
            await identity.start()
            for _ in range(200):
                if identity.known is not None:
                    break
                await asyncio.sleep(0.02)
            await identity.stop()

        with capture_logs() as logs:
            asyncio.run(scenario())
        assert identity.known is not None
        [unverified] = [e for e in logs if e["event"] == "slack_identity_unverified"]
        assert unverified["reason"] == (
            "Slack answered HTTP 502 without a Slack JSON body (text/html): a proxy or Slack itself is failing"
        )

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


class TestServeStopsOnASetupFault:
    def test_slack_api_url_serving_a_web_page_stops_serve_in_one_line(
        self, fake_slack: FakeSlack, tmp_path: Path
    ) -> None:
        """`incidentbot serve` (a real process) whose SLACK_API_URL answers a 200 web page exits with one line."""
        fake_slack.fail_next_raw("auth.test", 200, "<!doctype html><title>Welcome to nginx!</title>", times=5)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "INCIDENT_", "LOG_", "DATABASE_"))}
        env.update(
            DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite'}",
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_SIGNING_SECRET="secret",
            SLACK_API_URL=fake_slack.base_url,
        )
        result = subprocess.run(
            [sys.executable, "-m", "bot.cli.main", "--env-file", "", "serve", "--host", "127.0.0.1", "--port", "0"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 1 and "Traceback" not in result.stderr + result.stdout
        # Log events (server_starting) go to stderr too; the error is the one line that says `incidentbot:`.
        assert [line for line in result.stderr.splitlines() if line.startswith("incidentbot:")] == [
            f"incidentbot: SLACK_API_URL {fake_slack.base_url}: auth.test: Slack answered HTTP 200 without a Slack "
            "JSON body (text/html): check SLACK_API_URL (it should end in /api/ and serve Slack's Web API)."
        ]
        assert len(fake_slack.calls_to("auth.test")) == 1
