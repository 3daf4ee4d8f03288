"""``incidentbot doctor``: every set-up mistake the bot can find before the first incident, as a checklist.

Each check gives ``ok``, ``warn`` (works, but probably not as meant) or ``FAIL`` with the fix; the exit
status is 0 when nothing failed. It reads, never writes: a missing SQLite database is not created, the
write check is rolled back, and Slack is only asked ``auth.test`` and ``conversations.info``.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings, read_settings
from bot.errors import BotError, ConfigError
from bot.integrations.publishing.build import build_confluence, build_git_publisher
from bot.integrations.publishing.git import GitError
from bot.integrations.slo_catalog import load_catalog
from bot.integrations.statuspage.client import StatuspageClient
from bot.integrations.trackers.build import build_tracker
from bot.integrations.trackers.port import TrackerError
from bot.slack.api_errors import failure_of
from bot.slack.identity import SlackUnavailable, auth_test_failure
from bot.store.probe import DatabaseProbe
from bot.views.postmortem import PostmortemRenderer
from bot.web.oidc import SignInRefused, SlackOpenID

OK, WARN, FAIL = "ok", "warn", "FAIL"
MANIFEST = "manifest.yml"
SLACK_TIMEOUT_SECONDS = 10
STRONG_WEBHOOK_TOKEN_CHARS = 32
"""`openssl rand -hex 16` and longer: what .env.example suggests (it says `rand -hex 32`)."""


@dataclass(frozen=True)
class Check:
    """One line of the checklist: its name, the outcome (ok, warn, FAIL), what was found, and the fix."""

    name: str
    status: str
    detail: str
    fix: str = ""


def run(env_file: str | None, manifest: Path | None = None) -> tuple[list[Check], bool]:
    """All checks, in order; True when none failed. Each invalid setting is one failing line with its
    fix; every check that does not depend on an invalid setting still runs (one that does says so)."""
    checks: list[Check] = []
    try:
        settings, problems = read_settings(env_file=env_file or None)
    except ConfigError as exc:  # the settings file itself is unreadable: say so, check the environment alone
        checks.append(Check("configuration", FAIL, exc.user_message, "the checks below read the environment only"))
        env_file = None
        settings, problems = read_settings(env_file=None)
    invalid = {problem.name for problem in problems}
    checks += [Check("configuration", FAIL, p.message, SETTING_FIXES.get(p.name, _SETTING_FIX)) for p in problems]
    if not checks:
        source = f"{env_file} and the environment" if env_file and Path(env_file).is_file() else "the environment"
        checks.append(Check("configuration", OK, f"settings read from {source}"))
    checks.extend(_secrets(settings, app_token_ok="SLACK_APP_TOKEN" not in invalid))
    checks.extend(_database(settings.database_url, tracker=settings.tracker is not None))
    checks.extend(asyncio.run(_slack(settings, read_manifest(manifest), "SLACK_API_URL" not in invalid)))
    checks.append(_webhook_token(settings))
    checks.extend(asyncio.run(web_checks(settings)))
    tracker = None if any(name.startswith("TRACKER") for name in invalid) else asyncio.run(tracker_check(settings))
    if tracker is not None:
        checks.append(tracker)
    checks.extend(asyncio.run(publishing_checks(settings)))
    statuspage = None if any(n.startswith("STATUSPAGE") for n in invalid) else asyncio.run(statuspage_check(settings))
    if statuspage is not None:
        checks.append(statuspage)
    checks.append(
        _not_checked("SLO catalogue", "INCIDENT_SLO_FILE")
        if "INCIDENT_SLO_FILE" in invalid
        else _slo_catalogue(settings)
    )
    checks.append(
        _not_checked("templates", "INCIDENT_TEMPLATES_DIR")
        if "INCIDENT_TEMPLATES_DIR" in invalid
        else _templates(settings)
    )
    return checks, all(c.status != FAIL for c in checks)


_SETTING_FIX = "correct it in .env or the environment"
SETTING_FIXES = {
    "SLACK_APP_TOKEN": "paste the xapp-... token from Basic Information > App-Level Tokens, or leave it unset for HTTP",
    "SLACK_API_URL": "leave SLACK_API_URL unset for Slack itself (https://slack.com/api/), or give an http(s) URL",
    "INCIDENT_CHANNEL_PREFIX": "set INCIDENT_CHANNEL_PREFIX to e.g. inc, or leave it unset",
    "INCIDENT_TEMPLATES_DIR": "point INCIDENT_TEMPLATES_DIR at the folder of your .md.j2 templates, or leave it unset",
    "LOG_FORMAT": "set LOG_FORMAT to console or json",
    "LOG_LEVEL": "set LOG_LEVEL to DEBUG, INFO, WARNING, ERROR or CRITICAL",
    "INCIDENT_STRICT_ROLES": "set INCIDENT_STRICT_ROLES to true or false",
    "INCIDENT_SLO_FILE": "point INCIDENT_SLO_FILE at your slos.yml, or leave it unset for no error budgets",
    "PAGERDUTY_EVENTS_URL": "leave PAGERDUTY_EVENTS_URL unset for PagerDuty itself, or give an http(s) URL",
    "INCIDENT_NUDGE_MINUTES": "write it as sev1=15,sev2=30 (minutes from 1 to 1440), or off",
    "INCIDENT_ALERT_SEVERITY_MAP": "write it as label=sevN pairs, e.g. page=sev1,minor=sev4",
    "INCIDENT_ALERT_MAX_BYTES": "give a number of bytes from 1048576 to 1073741824, or leave it unset (32 MiB)",
    "CONFLUENCE_URL": "set all of CONFLUENCE_URL, CONFLUENCE_SPACE, CONFLUENCE_USER, CONFLUENCE_API_TOKEN, or none",
    "CONFLUENCE_SPACE": "give the space key (OPS, in the space's URL) or its id",
    "CONFLUENCE_USER": "give the email of the Atlassian account that created CONFLUENCE_API_TOKEN",
    "CONFLUENCE_API_TOKEN": "create an API token at id.atlassian.com > Security > API tokens (README, Publishing)",
    "CONFLUENCE_PARENT_ID": "give the parent page's id (the number in its URL), or leave it unset",
    "POSTMORTEM_GIT_REPO": "clone the postmortem repository and point POSTMORTEM_GIT_REPO at the clone",
    "POSTMORTEM_GIT_BRANCH": "give an existing branch name, or leave it unset for the clone's current branch",
    "POSTMORTEM_GIT_DIR": "give a folder inside the repository (postmortems), or leave it unset",
}
"""The fix doctor prints under each invalid setting."""


def _not_checked(name: str, setting: str) -> Check:
    return Check(name, WARN, f"not checked: {setting} is invalid", "see above")


def render(checks: list[Check]) -> str:
    """The checklist: ``[ok]   name: detail``, each failure and warning followed by ``fix: ...``."""
    lines = []
    for check in checks:
        detail = " ".join(check.detail.split())  # one line per check, even for a multi-line YAML error
        lines.append(f"[{check.status}]{' ' * (5 - len(check.status))}{check.name}: {detail}")
        if check.fix and check.status != OK:
            lines.append(f"        fix: {check.fix}")
    failed = sum(c.status == FAIL for c in checks)
    warned = sum(c.status == WARN for c in checks)
    if failed:
        lines.append(f"{failed} check(s) failed, {warned} warning(s).")
    else:
        lines.append(f"All checks passed ({warned} warning(s)).")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------- settings


def _secrets(settings: Settings, app_token_ok: bool = True) -> Iterator[Check]:
    if not settings.slack_bot_token:
        yield Check(
            "SLACK_BOT_TOKEN",
            FAIL,
            "not set",
            "paste the Bot User OAuth Token (xoxb-...) from OAuth & Permissions of your Slack app",
        )
    socket_mode = bool(settings.slack_app_token)
    if not settings.slack_signing_secret and not socket_mode and app_token_ok:
        yield Check(
            "SLACK_SIGNING_SECRET",
            FAIL,
            "not set (needed by `serve`; `socket` needs SLACK_APP_TOKEN instead)",
            "paste the Signing Secret from Basic Information of your Slack app",
        )
    for problem in settings.placeholders():
        name, _, fix = problem.partition(" is still a placeholder (as in .env.example): ")
        yield Check(name, FAIL, "still the placeholder from .env.example", fix.rstrip("."))


# ---------------------------------------------------------------------------------- database


def _database(url: str, *, tracker: bool = False) -> Iterator[Check]:
    try:
        probe = DatabaseProbe(url)
    except BotError as exc:
        yield Check("database", FAIL, exc.user_message, "set DATABASE_URL to sqlite:///path or postgresql://...")
        return
    try:
        missing = _missing_sqlite_file(probe)
        if missing is not None:
            yield missing
            return
        problem = probe.ping()
        if problem is not None:
            fix = "check DATABASE_URL, the server and the password"
            yield Check("database", FAIL, f"{probe.shown}: {problem}", fix)
            return
        yield Check("database", OK, f"{probe.shown} answers")
        revision_check, migrated = _revision(probe)
        yield revision_check
        if migrated:
            yield _writable(probe)
            if tracker:
                yield _dead_filings(probe)
    finally:
        probe.dispose()


def _dead_filings(probe: DatabaseProbe) -> Check:
    """With TRACKER set: how many follow-up filings the tracker refused (dead ``tracker.*`` outbox items)."""
    dead = probe.count_dead("tracker.")
    if isinstance(dead, str):
        return Check("tracker filings", WARN, f"could not count dead filings: {dead}")
    if dead:
        latest = probe.latest_dead("tracker.")
        shown = ""
        if not isinstance(latest, str) and latest[0]:
            item, reason, incident = latest
            where = f" INC-{incident}" if incident is not None else ""
            line = " ".join(reason.split())
            shown = f"; latest #{item}{where}: {line[:200]}{'…' if len(line) > 200 else ''}"
        return Check(
            "tracker filings",
            WARN,
            f"{dead} follow-up filing(s) refused by the tracker (dead outbox items){shown}",
            "`incidentbot outbox --status dead` shows each reason; fix it, then `incidentbot outbox --retry <id>`",
        )
    return Check("tracker filings", OK, "no refused follow-up filings")


def _missing_sqlite_file(probe: DatabaseProbe) -> Check | None:
    """For SQLite: a missing file is reported (not created); a folder the bot cannot write is a failure."""
    path = probe.sqlite_file()
    if path is None or path.exists():
        return None
    folder = path.parent if str(path.parent) else Path(".")
    if not os.access(folder, os.W_OK):
        return Check(
            "database",
            FAIL,
            f"{path} does not exist and {folder} is not writable",
            f"make {folder} writable by the bot",
        )
    return Check(
        "database",
        WARN,
        f"{path} does not exist yet",
        "`incidentbot db upgrade` creates it (so does the first `serve`); check DATABASE_URL if it should exist",
    )


def _revision(probe: DatabaseProbe) -> tuple[Check, bool]:
    """The schema's Alembic revision against this version's head; True when the schema exists."""
    head = probe.head_revision()
    current = probe.current_revision()
    if current is None:
        return Check(
            "schema", WARN, "no incidentbot tables yet", "run `incidentbot db upgrade` (serve does too)"
        ), False
    if current == head:
        return Check("schema", OK, f"at revision {current} (this version's latest)"), True
    if not probe.knows_revision(current):
        return (
            Check(
                "schema",
                FAIL,
                f"at revision {current}, which this incidentbot does not know (a newer version migrated it)",
                "upgrade incidentbot to the version that migrated this database",
            ),
            True,
        )
    return Check("schema", WARN, f"at revision {current}, behind {head}", "run `incidentbot db upgrade`"), True


def _writable(probe: DatabaseProbe) -> Check:
    """Write in a transaction that is rolled back: a read-only file, folder or role fails here."""
    problem = probe.try_write()
    if problem is not None:
        where = probe.database if probe.is_sqlite else "the database user"
        return Check(
            "database writable",
            FAIL,
            problem,
            f"give the bot's user write access to {where} (SQLite: the file and its folder)",
        )
    return Check("database writable", OK, "a write was accepted (and rolled back)")


# ---------------------------------------------------------------------------------- Slack


async def _slack(settings: Settings, manifest: Manifest | Check, api_url_ok: bool = True) -> list[Check]:
    """auth.test, the scopes against the manifest's, the announce channel. When Slack is not asked (no usable
    token or SLACK_API_URL, or the token refused), a manifest that cannot be read still fails on its own line."""
    checks = await _slack_asked(settings, manifest, api_url_ok)
    if isinstance(manifest, Check) and manifest.status == FAIL and manifest not in checks:
        checks.append(manifest)
    return checks


async def _slack_asked(settings: Settings, manifest: Manifest | Check, api_url_ok: bool) -> list[Check]:
    if not api_url_ok:
        return [Check("Slack", WARN, "not asked: SLACK_API_URL is invalid", "see above")]
    if not settings.slack_bot_token or settings.placeholders():
        return [Check("Slack", WARN, "not asked: SLACK_BOT_TOKEN is missing or a placeholder", "see above")]
    client = AsyncWebClient(
        token=settings.slack_bot_token.get(), base_url=settings.slack_api_url, timeout=SLACK_TIMEOUT_SECONDS
    )
    try:
        response = await client.auth_test()
    except SlackApiError as exc:
        failure = auth_test_failure(failure_of(exc), settings.slack_api_url)
        if isinstance(failure, SlackUnavailable):
            return [_unreachable(settings, failure.reason)]
        return [Check("Slack token", FAIL, "Slack refused auth.test", failure.user_message)]
    except (aiohttp.ClientError, TimeoutError, ConnectionError) as exc:
        return [_unreachable(settings, f"network: {type(exc).__name__}")]
    team, user = response.get("team") or response.get("team_id"), response.get("user") or response.get("user_id")
    checks = [Check("Slack token", OK, f"valid: bot @{user} in workspace {team}")]
    checks.append(_scopes(response.headers.get("x-oauth-scopes"), manifest))
    checks.append(await _announce_channel(client, settings.announce_channel))
    return checks


def _unreachable(settings: Settings, reason: str) -> Check:
    return Check(
        "Slack token",
        FAIL,
        f"Slack did not answer auth.test at {settings.slack_api_url} ({reason})",
        "check the network path to Slack (proxy, firewall) and SLACK_API_URL, then run doctor again",
    )


def _scopes(header: str | None, manifest: Manifest | Check) -> Check:
    """The scopes Slack says the token has (``x-oauth-scopes``) against ``oauth_config.scopes.bot`` of the manifest."""
    if isinstance(manifest, Check):
        return manifest
    wanted, where = set(manifest.scopes), manifest.path
    if header is None:
        return Check(
            "Slack scopes", WARN, "Slack did not report the token's scopes", "compare OAuth & Permissions by hand"
        )
    granted = {s.strip() for s in header.split(",") if s.strip()}
    missing = sorted(wanted - granted)
    if missing:
        return Check(
            "Slack scopes",
            FAIL,
            f"{where} asks for {', '.join(missing)}, which the token was not granted",
            "add them under OAuth & Permissions > Bot Token Scopes (or paste the manifest again) and reinstall "
            "the app to the workspace",
        )
    extra = sorted(granted - wanted)
    note = f"; also granted, unused: {', '.join(extra)}" if extra else ""
    return Check("Slack scopes", OK, f"all {len(wanted)} scopes of {where} granted{note}")


@dataclass(frozen=True)
class Manifest:
    """The bot scopes a Slack app manifest asks for (``oauth_config.scopes.bot``), and the file's path."""

    path: str
    scopes: tuple[str, ...]


_MANIFEST_FIX = "pass --manifest the manifest.yml of your Slack app (its App Manifest page shows it)"
_SCOPES_FIX = (
    "make oauth_config.scopes.bot a list of scope names, e.g. [commands, chat:write], as in incidentbot's manifest.yml"
)


def read_manifest(manifest: Path | None) -> Manifest | Check:
    """The manifest's bot scopes, or the ``Slack scopes`` check that says why they cannot be had.

    ``manifest`` is the path given with ``--manifest``: missing, a folder, unreadable, not UTF-8, not
    YAML, or without a list of scope names (strings) at ``oauth_config.scopes.bot`` is a FAIL naming
    the bad value. Without it, ``./manifest.yml`` is read: none there is only a warning (scopes are then
    not compared), a broken one fails like a named one.
    """
    if manifest is not None:
        return _manifest_at(manifest, f"--manifest {manifest}")
    if Path(MANIFEST).is_file():
        return _manifest_at(Path(MANIFEST), MANIFEST)
    return Check("Slack scopes", WARN, f"no {MANIFEST} in this folder: scopes not compared", _MANIFEST_FIX)


def _manifest_at(path: Path, named: str) -> Manifest | Check:
    def failed(detail: str, fix: str = _MANIFEST_FIX) -> Check:
        return Check("Slack scopes", FAIL, f"{named} {detail}", fix)

    if not path.exists():
        return failed("does not exist")
    if path.is_dir():
        return failed("is a folder, not a manifest file")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        return failed(
            f"is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start})",
            f"save {path} as UTF-8 (the manifest Slack shows is UTF-8)",
        )
    except OSError as exc:
        return failed(f"cannot be read: {exc.strerror}")
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark: Any = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        return failed(f"is not valid YAML{where}: {problem}", f"correct the YAML of {path}")
    scopes: Any = document
    for key in ("oauth_config", "scopes", "bot"):
        if not isinstance(scopes, dict) or key not in scopes:
            return failed("has no oauth_config.scopes.bot (the bot scopes the app asks for)", _SCOPES_FIX)
        scopes = scopes[key]
    if not isinstance(scopes, list):
        return failed(f"oauth_config.scopes.bot is {_shown(scopes)}, not a list of scope names", _SCOPES_FIX)
    bad = [scope for scope in scopes if not isinstance(scope, str) or not scope.strip()]
    if bad:
        values = ", ".join(_shown(scope) for scope in bad)
        verdict = "is not a scope name" if len(bad) == 1 else "are not scope names"
        return failed(
            f"oauth_config.scopes.bot lists {values}, which {verdict}",
            _SCOPES_FIX,
        )
    if not scopes:
        return failed("oauth_config.scopes.bot is an empty list", _SCOPES_FIX)
    return Manifest(str(path), tuple(scope.strip() for scope in scopes))


def _shown(value: Any) -> str:
    """A YAML value as the user wrote it, with its kind: ``the string 'chat:write'``, ``the number 42``, ``null``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, dict):
        return "a mapping"
    return f"a {type(value).__name__}"


async def _announce_channel(client: AsyncWebClient, channel: str | None) -> Check:
    if not channel:
        return Check(
            "announce channel",
            WARN,
            "INCIDENT_ANNOUNCE_CHANNEL is not set: new incidents are announced nowhere",
            "set it to a channel id (C...), e.g. the one of #incidents",
        )
    try:
        response = await client.conversations_info(channel=channel)
    except SlackApiError as exc:
        code = exc.response.get("error")
        fix = (
            "use the channel's id (C..., at the bottom of its details), not its name; a private channel must "
            "invite the bot first"
            if code == "channel_not_found"
            else "see Slack's error code"
        )
        return Check("announce channel", FAIL, f"{channel}: conversations.info answered {code}", fix)
    info = response.get("channel") or {}
    if info.get("is_archived"):
        return Check(
            "announce channel", FAIL, f"#{info.get('name')} ({channel}) is archived", "unarchive it or choose another"
        )
    joins = "" if info.get("is_member") else " (the bot joins it at the first announcement)"
    return Check("announce channel", OK, f"#{info.get('name')} ({channel}) reachable{joins}")


# ---------------------------------------------------------------------------------- the rest


def _webhook_token(settings: Settings) -> Check:
    token = settings.webhook_token.get()
    if not token:
        return Check(
            "webhook token",
            WARN,
            "INCIDENT_WEBHOOK_TOKEN is not set: /alerts/* and /changes answer 401",
            "set it (`openssl rand -hex 32`) if Alertmanager, Grafana or CI/CD should reach the bot",
        )
    if len(token) < STRONG_WEBHOOK_TOKEN_CHARS:
        return Check(
            "webhook token",
            WARN,
            f"INCIDENT_WEBHOOK_TOKEN has {len(token)} characters: easy to guess",
            "use `openssl rand -hex 32` (64 characters)",
        )
    return Check("webhook token", OK, f"set ({len(token)} characters)")


async def web_checks(settings: Settings) -> list[Check]:
    """With the web view on (INCIDENT_WEB_URL): the read-only API token's strength (unset or under 32 characters
    is a warning, as the webhook token's), and, with Sign in with Slack, whether SLACK_OIDC_ISSUER answers its
    discovery document (``/.well-known/openid-configuration``, what every sign-in reads first). Reads only."""
    if not settings.web:
        return []
    checks: list[Check] = []
    token = settings.web_api_token.get()
    if token and len(token) < STRONG_WEBHOOK_TOKEN_CHARS:
        checks.append(
            Check(
                "web API token",
                WARN,
                f"INCIDENT_WEB_API_TOKEN has {len(token)} characters: easy to guess, and it reads every incident "
                "that is not private",
                "use `openssl rand -hex 32` (64 characters)",
            )
        )
    elif token:
        checks.append(Check("web API token", OK, f"set ({len(token)} characters)"))
    if settings.web_sign_in:
        provider = SlackOpenID(
            settings.slack_oidc_issuer,
            settings.slack_client_id,
            settings.slack_client_secret.get(),
            settings.slack_team_id,
            settings.web_url + "/auth/callback",
        )
        try:
            await provider.configuration()
        except SignInRefused as exc:
            checks.append(
                Check(
                    "Sign in with Slack",
                    FAIL,
                    f"SLACK_OIDC_ISSUER {settings.slack_oidc_issuer} did not give its discovery document: "
                    f"{exc.user_message}",
                    "check SLACK_OIDC_ISSUER (leave it unset for https://slack.com) and that this host reaches it",
                )
            )
        else:
            checks.append(Check("Sign in with Slack", OK, f"{settings.slack_oidc_issuer} answers its discovery"))
        finally:
            await provider.close()
    return checks


TRACKER_TIMEOUT_SECONDS = 10.0


async def tracker_check(settings: Settings) -> Check | None:
    """With TRACKER set: is the token valid and the repository or project reachable (GitHub ``GET
    /repos/{owner}/{repo}``, Jira ``GET /rest/api/3/myself`` and ``/project/{key}``). Reads only.
    None without TRACKER: not exporting follow-ups is a choice, not a mistake."""
    tracker = build_tracker(settings, timeout_seconds=TRACKER_TIMEOUT_SECONDS)
    if tracker is None:
        return None
    name = f"tracker ({settings.tracker})"
    try:
        found = await tracker.check()
    except TrackerError as exc:
        # Jira signs in with the account email and the token together: a 401 may be either.
        settings_named = (
            "TRACKER_USER / TRACKER_TOKEN / TRACKER_PROJECT"
            if settings.tracker == "jira"
            else "TRACKER_TOKEN / TRACKER_PROJECT"
        )
        fix = (
            f"check the network path to {settings.tracker_url} and TRACKER_URL, then run doctor again"
            if exc.temporary
            else f"correct {settings_named} (README, Trackers: token scopes)"
        )
        return Check(name, FAIL, exc.reason, fix)
    return Check(name, OK, found)


async def publishing_checks(settings: Settings) -> list[Check]:
    """One line per configured publishing target: Confluence (the space read with the account's token,
    ``GET /wiki/rest/api/space/{key}``) and Git (the clone, its branch and ``origin``, and ``git ls-remote``
    reaching it). Reads only; nothing for a target that is not configured (off is a choice)."""
    checks: list[Check] = []
    confluence = build_confluence(settings)
    if confluence is not None:
        try:
            space = await confluence.check()
            checks.append(Check("publishing (confluence)", OK, f"space {settings.confluence_space} ({space}) readable"))
        except TrackerError as exc:
            fix = (
                f"check the network path to {settings.confluence_url}, then run doctor again"
                if exc.temporary
                else "correct CONFLUENCE_USER / CONFLUENCE_API_TOKEN / CONFLUENCE_SPACE (README, Publishing)"
            )
            checks.append(Check("publishing (confluence)", FAIL, exc.reason, fix))
    git = build_git_publisher(settings)
    if git is not None:
        try:
            found = await asyncio.to_thread(git.check)
            await asyncio.to_thread(git.reach_remote)
            checks.append(Check("publishing (git)", OK, found))
        except GitError as exc:
            checks.append(Check("publishing (git)", FAIL, exc.reason, "correct POSTMORTEM_GIT_* or the clone's origin"))
    return checks


async def statuspage_check(settings: Settings) -> Check | None:
    """With STATUSPAGE_API_KEY and STATUSPAGE_PAGE_ID set: does the key read the page (``GET
    /v1/pages/{page_id}``)? Reads only. None without them: no status page is a choice, not a mistake."""
    if not settings.statuspage:
        return None
    client = StatuspageClient(
        settings.statuspage_api_key,
        settings.statuspage_page_id,
        settings.statuspage_url,
        timeout_seconds=TRACKER_TIMEOUT_SECONDS,
    )
    try:
        name = await client.check()
    except TrackerError as exc:
        fix = (
            f"check the network path to {settings.statuspage_url}, then run doctor again"
            if exc.temporary
            else "correct STATUSPAGE_API_KEY / STATUSPAGE_PAGE_ID (README, Public status page (Statuspage))"
        )
        return Check("status page (statuspage)", FAIL, exc.reason, fix)
    confirm = "asks before resolving" if settings.statuspage_confirm_resolve else "resolves with the incident"
    return Check("status page (statuspage)", OK, f"page {settings.statuspage_page_id} ({name}) readable; {confirm}")


def _slo_catalogue(settings: Settings) -> Check:
    if settings.slo_file is None:
        return Check("SLO catalogue", WARN, "INCIDENT_SLO_FILE is not set: no error budgets", "point it at slos.yml")
    try:
        names = load_catalog(settings.slo_file).names()
    except BotError as exc:
        return Check("SLO catalogue", FAIL, exc.user_message, f"correct {settings.slo_file}")
    return Check("SLO catalogue", OK, f"{len(names)} service(s): {', '.join(names)}")


def _templates(settings: Settings) -> Check:
    renderer = PostmortemRenderer(settings.templates_dir)
    names = renderer.available()
    broken = []
    for name in names:
        try:
            renderer.check(name)
        except BotError as exc:
            broken.append(exc.user_message)
    if settings.confluence_url:
        try:
            renderer.check_storage()
        except BotError as exc:
            broken.append(exc.user_message)
    if broken:
        where = settings.templates_dir or "the bundled templates"
        return Check("templates", FAIL, " ".join(broken), f"fix the template in {where}")
    return Check("templates", OK, f"{len(names)} compile: {', '.join(names)}")
