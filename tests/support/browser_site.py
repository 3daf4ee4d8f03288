"""The web view served for a browser: the real bot on a port chosen first (INCIDENT_WEB_URL must be the very
address the browser uses, so that the provider sends it back to the bot), Sign in with Slack pointed at
the fake provider (``tests.support.fake_oidc``) whose only registered redirect URL is the bot's callback,
and a fake Slack for the rest of the bot."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.support.bot_server import RunningBot, running_bot, sqlite_url
from tests.support.fake_oidc import FakeSlackOpenID
from tests.support.fake_slack import FakeSlack
from tests.support.serve_process import free_port

ROOT = Path(__file__).resolve().parents[2]
SESSION_SECRET = "browser-session-secret-0123456789abcdef0123"
SESSION_COOKIE = "incidentbot_session"


@dataclass
class Site:
    """The running bot serving the web view at ``url`` (``http://127.0.0.1:PORT``), and the provider it trusts."""

    bot: RunningBot
    provider: FakeSlackOpenID
    url: str


@contextmanager
def served_site(folder: Path, prepare: Callable[[str], None] | None = None) -> Iterator[Site]:
    """The bot on a SQLite database in ``folder``, which ``prepare(database_url)`` fills first (the seed, an
    incident...); the slos.yml catalogue; no postmortem reminders (they would add entries mid-test)."""
    database = sqlite_url(folder)
    if prepare is not None:
        prepare(database)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with (
        FakeSlack() as slack,
        FakeSlackOpenID(redirect_uris=(url + "/auth/callback",)) as provider,
        running_bot(
            database,
            slack.base_url,
            port=port,
            INCIDENT_WEB_URL=url,
            SLACK_CLIENT_ID=provider.client_id,
            SLACK_CLIENT_SECRET=provider.client_secret,
            SLACK_TEAM_ID=provider.team_id,
            SLACK_OIDC_ISSUER=provider.issuer,
            INCIDENT_WEB_SESSION_SECRET=SESSION_SECRET,
            INCIDENT_SLO_FILE=str(ROOT / "slos.yml"),
            INCIDENT_POSTMORTEM_REMINDER_DAYS="off",
        ) as bot,
    ):
        yield Site(bot, provider, url)


def sign_in(page: Page, site: Site, path: str = "/") -> None:
    """Open ``path`` as Alice (U0ALICE) of the bot's workspace: the web view sends the browser through the
    provider and back to ``path``."""
    site.provider.sign_in_as("U0ALICE", "Alice Example", "alice@example.com")
    page.goto(site.url + path)
    expect(page).to_have_url(site.url + path)
