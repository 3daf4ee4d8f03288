"""Settings: read once at start-up from the environment (and a .env file), validated, passed in.

Nothing reads the environment at import time; ``load_settings`` is called by the entry points.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar
from urllib.parse import quote, urlsplit

from dotenv import dotenv_values
from dotenv.parser import parse_stream

from bot.domain.alerts import DEFAULT_SEVERITY_MAP
from bot.domain.model import Severity
from bot.domain.nudges import DEFAULT_NUDGE_AFTER
from bot.domain.review import DEFAULT_REMINDER_DAYS as DEFAULT_POSTMORTEM_REMINDER_DAYS
from bot.errors import ConfigError

if TYPE_CHECKING:  # PyYAML is imported when a YAML file is read (not by `incidentbot list`)
    import yaml

DEFAULT_DATABASE_URL = "sqlite:///incidents.db"
DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_PAGERDUTY_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"
DEFAULT_STATUSPAGE_URL = "https://api.statuspage.io"
DEFAULT_STATUSPAGE_RESOLVE_TEXT = "This incident has been resolved."
DEFAULT_SLACK_OIDC_ISSUER = "https://slack.com"
"""Sign in with Slack's OpenID Connect issuer (Slack, "Sign in with Slack": ``iss`` of its ID tokens)."""
WEB_SESSION_SECRET_MIN = 32
DEFAULT_ALERT_MAX_BYTES = 32 * 1024 * 1024
"""Largest alert notification body accepted (bytes): a group of about 25,000 alerts from Alertmanager."""
MIN_ALERT_MAX_BYTES = 1024 * 1024
MAX_ALERT_MAX_BYTES = 1024 * 1024 * 1024
CHANNEL_PREFIX = re.compile(r"[a-z0-9](?:[a-z0-9_-]{0,18}[a-z0-9])?", re.ASCII)
"""Slack channel names hold lowercase letters, digits, - and _ only, at most 80 characters
(conversations.create: invalid_name_specials, invalid_name_maxlength); 20 for the prefix leaves
room for ``-<number>-<title>``. The prefix starts and ends with a letter or digit, so names never
read ``inc--7-...`` or ``-inc-7-...``."""


class Secret:
    """A token that never shows up in logs or reprs."""

    def __init__(self, value: str) -> None:
        self._value = value

    def get(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')" if self._value else "Secret('')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class Settings:
    """Every setting the bot reads; .env.example documents each one."""

    database_url: str = DEFAULT_DATABASE_URL
    slack_bot_token: Secret = field(default_factory=lambda: Secret(""))
    slack_signing_secret: Secret = field(default_factory=lambda: Secret(""))
    slack_app_token: Secret = field(default_factory=lambda: Secret(""))
    slack_api_url: str = DEFAULT_SLACK_API_URL
    announce_channel: str | None = None
    followup_digest_channel: str | None = None
    """Channel id where the weekly digest of open follow-ups is posted (None: no digest)."""
    channel_prefix: str = "inc"
    templates_dir: Path | None = None
    log_format: str = "console"
    log_level: str = "INFO"
    strict_roles: bool = False
    private_announce: str = "notice"
    """INCIDENT_PRIVATE_ANNOUNCE: what the announce channel says of a private incident: ``notice`` (only that a
    private incident INC-n exists) or ``off`` (nothing)."""
    slo_file: Path | None = None
    slack_pacing: bool = True
    """SLACK_PACING: the outbox paces its Slack calls by Slack's rate limits (``bot.slack.pacing``); off: each
    call goes as soon as its item is claimed (Slack's 429 and Retry-After still hold it back)."""
    slack_batching: bool = True
    """SLACK_BATCHING: one Slack call carries several outbox items (lines waiting for a channel in one message,
    status-message and announcement edits coalesced); off: one call per item."""
    webhook_token: Secret = field(default_factory=lambda: Secret(""))
    pagerduty_routing_key: Secret = field(default_factory=lambda: Secret(""))
    pagerduty_events_url: str = DEFAULT_PAGERDUTY_EVENTS_URL
    nudge_after: Mapping[Severity, timedelta] = field(default_factory=lambda: dict(DEFAULT_NUDGE_AFTER))
    postmortem_reminder_days: int | None = DEFAULT_POSTMORTEM_REMINDER_DAYS
    """Whole UTC days after a sev1/sev2 resolve before its draft postmortem is chased daily; None: never."""
    archive_after: timedelta | None = None
    """How long after a resolve the incident's channel is archived (INCIDENT_ARCHIVE_AFTER); None: never
    (the default, so that an existing install keeps its channels until someone asks for archiving)."""
    alert_severity_map: Mapping[str, Severity] = field(default_factory=lambda: dict(DEFAULT_SEVERITY_MAP))
    alert_max_bytes: int = DEFAULT_ALERT_MAX_BYTES
    tracker: str | None = None
    """``github``, ``jira``, or None: follow-ups are exported nowhere."""
    tracker_url: str = ""
    tracker_project: str = ""
    tracker_token: Secret = field(default_factory=lambda: Secret(""))
    tracker_user: str = ""
    tracker_users: Mapping[str, str] = field(default_factory=dict)
    """Slack user id -> GitHub login or Jira accountId, from TRACKER_USERS_FILE."""
    tracker_sync_minutes: float = 10.0
    tracker_webhook_secret: Secret = field(default_factory=lambda: Secret(""))
    """The secret of the tracker's webhook (TRACKER_WEBHOOK_SECRET): set, ``POST /trackers/webhook`` is served."""
    """Minutes between two sync-back reads of the exported follow-ups' issues (TRACKER_SYNC_MINUTES)."""
    confluence_url: str = ""
    """The Confluence Cloud site (``https://acme.atlassian.net``); empty: the postmortem is not published there."""
    confluence_space: str = ""
    """The space's key (``OPS``) or numeric id."""
    confluence_user: str = ""
    confluence_api_token: Secret = field(default_factory=lambda: Secret(""))
    confluence_parent_id: str | None = None
    """The page the postmortems are created under (None: at the top of the space)."""
    postmortem_git_repo: Path | None = None
    """A local clone the postmortem is committed into and pushed from (None: no Git publishing)."""
    postmortem_git_branch: str | None = None
    """The branch to publish on (None: the clone's current branch)."""
    postmortem_git_dir: str = "postmortems"
    statuspage_api_key: Secret = field(default_factory=lambda: Secret(""))
    """Statuspage API key (STATUSPAGE_API_KEY); empty: no status page."""
    statuspage_page_id: str = ""
    statuspage_url: str = DEFAULT_STATUSPAGE_URL
    statuspage_confirm_resolve: bool = False
    """True: resolving the incident asks in its channel before resolving the status page (``statuspage resolve``)."""
    statuspage_resolve_text: str = DEFAULT_STATUSPAGE_RESOLVE_TEXT
    """The public body of a status-page resolve nobody worded."""
    web_url: str = ""
    """INCIDENT_WEB_URL: the web view's public base URL (``https://incidents.example.com``, no trailing ``/``);
    empty: the web view and its API are off (``bot.web``)."""
    web_session_secret: Secret = field(default_factory=lambda: Secret(""))
    """INCIDENT_WEB_SESSION_SECRET: signs the web view's session cookie (at least 32 characters)."""
    web_api_token: Secret = field(default_factory=lambda: Secret(""))
    """INCIDENT_WEB_API_TOKEN: the read-only bearer token of API clients and wall screens; empty: none."""
    slack_client_id: str = ""
    """SLACK_CLIENT_ID: the Slack app's client id, for "Sign in with Slack"; empty: no sign-in."""
    slack_client_secret: Secret = field(default_factory=lambda: Secret(""))
    slack_team_id: str = ""
    """SLACK_TEAM_ID: the workspace (``T...``) whose members may sign in."""
    slack_oidc_issuer: str = DEFAULT_SLACK_OIDC_ISSUER
    """SLACK_OIDC_ISSUER: the OpenID Connect issuer of Sign in with Slack (default ``https://slack.com``)."""

    @property
    def web(self) -> bool:
        """Whether the web view is on (INCIDENT_WEB_URL is set)."""
        return bool(self.web_url)

    @property
    def web_sign_in(self) -> bool:
        """Whether "Sign in with Slack" is configured (SLACK_CLIENT_ID, SLACK_CLIENT_SECRET, SLACK_TEAM_ID)."""
        return bool(self.slack_client_id and self.slack_client_secret and self.slack_team_id)

    @property
    def statuspage(self) -> bool:
        """Whether the public status page is configured (STATUSPAGE_API_KEY and STATUSPAGE_PAGE_ID)."""
        return bool(self.statuspage_api_key and self.statuspage_page_id)

    @property
    def publish_targets(self) -> tuple[str, ...]:
        """The configured publishing targets, ``confluence`` and/or ``git``."""
        return tuple(
            t for t, on in (("confluence", bool(self.confluence_url)), ("git", bool(self.postmortem_git_repo))) if on
        )

    def require(self, *names: str) -> None:
        """Stop with one line naming the first missing setting among ``names`` (env var names), or the
        first secret still holding a placeholder such as ``.env.example``'s ``xoxb-your-bot-token``: the
        bot would otherwise start and fail at the first request. Every secret is checked except those
        of another mode (SLACK_APP_TOKEN, for Socket Mode only) unless ``names`` requires it.
        Raises ConfigError."""
        for name in names:
            value = getattr(self, _FIELD_OF[name])
            if not value:
                raise ConfigError(f"{name} is not set; add it to the environment or to .env (see .env.example).")
        problem = next(iter(self.placeholders(names)), None)
        if problem is not None:
            raise ConfigError(problem)

    def placeholders(self, required: Iterable[str] = ()) -> list[str]:
        """One line per secret setting whose value is a placeholder, not a real value (see is_placeholder);
        a secret of one mode only (MODE_SECRETS) counts only when it is among ``required``."""
        wanted = set(required)
        return [
            f"{name} is still a placeholder (as in .env.example): {fix}"
            for name, fix in SECRET_SOURCES.items()
            if (name not in MODE_SECRETS or name in wanted) and is_placeholder(getattr(self, _FIELD_OF[name]).get())
        ]


SECRET_SOURCES = {
    "SLACK_BOT_TOKEN": "paste the Bot User OAuth Token (xoxb-...) from OAuth & Permissions of your Slack app.",
    "SLACK_SIGNING_SECRET": "paste the Signing Secret from Basic Information of your Slack app.",
    "SLACK_APP_TOKEN": "paste an app-level token (xapp-...) from Basic Information > App-Level Tokens.",
    "INCIDENT_WEBHOOK_TOKEN": "generate one with `openssl rand -hex 32`, or leave it empty to refuse webhooks.",
    "PAGERDUTY_ROUTING_KEY": "paste the integration key of your PagerDuty service, or leave it empty.",
    "TRACKER_TOKEN": "paste a GitHub token (Issues read/write, Metadata read) or a Jira API token, or leave it empty.",
    "INCIDENT_WEB_SESSION_SECRET": "generate one with `openssl rand -hex 32` (only with INCIDENT_WEB_URL).",
    "INCIDENT_WEB_API_TOKEN": "generate one with `openssl rand -hex 32`, or leave it empty (no API token).",
    "SLACK_CLIENT_SECRET": "paste the Client Secret from Basic Information of your Slack app, or leave it empty.",
}
"""The secret settings and where their real value comes from."""

MODE_SECRETS = frozenset({"SLACK_APP_TOKEN"})
"""Secrets only one way of running needs (``socket``): ``.env.example``'s placeholder for them is left
in place by whoever serves over HTTP, so it is refused only where that mode requires it."""

_PLACEHOLDER = re.compile(
    r"""(?ix)
    (?:^|[-_.\s])your(?:[-_.\s]|$)         # xoxb-your-bot-token, your-signing-secret, YOUR_TOKEN
    | ^(?:xox[bpa]-|xapp-)?(?:<[^>]*>|\[[^\]]*\]|\{[^}]*\})$  # <token>, [secret], {key}, xoxb-<token>
    | ^(?:xox[bpa]-|xapp-)?(?:change[-_]?me|replace[-_]?me|todo|tbd|placeholder|x+|\.\.\.)$
    """
)


def is_placeholder(value: str) -> bool:
    """True for a value that stands for a secret instead of being one: the ``.env.example`` values
    (``xoxb-your-bot-token``, ``your-signing-secret``, ``xapp-your-app-token``) and their kind:
    any value with the word "your" in it, ``<token>``-style brackets, ``changeme``, ``xoxb-...``."""
    return bool(value) and bool(_PLACEHOLDER.search(value.strip()))


_FIELD_OF = {
    "DATABASE_URL": "database_url",
    "SLACK_BOT_TOKEN": "slack_bot_token",
    "SLACK_SIGNING_SECRET": "slack_signing_secret",
    "SLACK_APP_TOKEN": "slack_app_token",
    "SLACK_API_URL": "slack_api_url",
    "INCIDENT_ANNOUNCE_CHANNEL": "announce_channel",
    "INCIDENT_FOLLOWUP_DIGEST_CHANNEL": "followup_digest_channel",
    "INCIDENT_CHANNEL_PREFIX": "channel_prefix",
    "INCIDENT_TEMPLATES_DIR": "templates_dir",
    "LOG_FORMAT": "log_format",
    "LOG_LEVEL": "log_level",
    "INCIDENT_STRICT_ROLES": "strict_roles",
    "INCIDENT_PRIVATE_ANNOUNCE": "private_announce",
    "INCIDENT_SLO_FILE": "slo_file",
    "SLACK_PACING": "slack_pacing",
    "SLACK_BATCHING": "slack_batching",
    "INCIDENT_WEBHOOK_TOKEN": "webhook_token",
    "PAGERDUTY_ROUTING_KEY": "pagerduty_routing_key",
    "PAGERDUTY_EVENTS_URL": "pagerduty_events_url",
    "INCIDENT_NUDGE_MINUTES": "nudge_after",
    "INCIDENT_POSTMORTEM_REMINDER_DAYS": "postmortem_reminder_days",
    "INCIDENT_ARCHIVE_AFTER": "archive_after",
    "INCIDENT_ALERT_SEVERITY_MAP": "alert_severity_map",
    "INCIDENT_ALERT_MAX_BYTES": "alert_max_bytes",
    "TRACKER": "tracker",
    "TRACKER_URL": "tracker_url",
    "TRACKER_PROJECT": "tracker_project",
    "TRACKER_TOKEN": "tracker_token",
    "TRACKER_USER": "tracker_user",
    "TRACKER_USERS_FILE": "tracker_users",
    "TRACKER_SYNC_MINUTES": "tracker_sync_minutes",
    "TRACKER_WEBHOOK_SECRET": "tracker_webhook_secret",
    "CONFLUENCE_URL": "confluence_url",
    "CONFLUENCE_SPACE": "confluence_space",
    "CONFLUENCE_USER": "confluence_user",
    "CONFLUENCE_API_TOKEN": "confluence_api_token",
    "CONFLUENCE_PARENT_ID": "confluence_parent_id",
    "POSTMORTEM_GIT_REPO": "postmortem_git_repo",
    "POSTMORTEM_GIT_BRANCH": "postmortem_git_branch",
    "POSTMORTEM_GIT_DIR": "postmortem_git_dir",
    "STATUSPAGE_API_KEY": "statuspage_api_key",
    "STATUSPAGE_PAGE_ID": "statuspage_page_id",
    "STATUSPAGE_URL": "statuspage_url",
    "STATUSPAGE_CONFIRM_RESOLVE": "statuspage_confirm_resolve",
    "STATUSPAGE_RESOLVE_TEXT": "statuspage_resolve_text",
    "INCIDENT_WEB_URL": "web_url",
    "INCIDENT_WEB_SESSION_SECRET": "web_session_secret",
    "INCIDENT_WEB_API_TOKEN": "web_api_token",
    "SLACK_CLIENT_ID": "slack_client_id",
    "SLACK_CLIENT_SECRET": "slack_client_secret",
    "SLACK_TEAM_ID": "slack_team_id",
    "SLACK_OIDC_ISSUER": "slack_oidc_issuer",
}


_T = TypeVar("_T")

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
"""The standard level names LOG_LEVEL accepts, in any case."""


@dataclass(frozen=True)
class SettingProblem:
    """One invalid setting: its variable name and the one-line message saying what is wrong and what is valid."""

    name: str
    message: str


def load_settings(environ: Mapping[str, str] | None = None, env_file: str | Path | None = ".env") -> Settings:
    """Settings from ``environ`` (default: the process environment) over the values in ``env_file``.

    Raises ConfigError naming every invalid setting (one line: the message of each, in .env.example's
    order); a single bad setting reads exactly as its own message.
    """
    settings, problems = read_settings(environ, env_file)
    if len(problems) == 1:
        raise ConfigError(problems[0].message)
    if problems:
        raise ConfigError(f"{len(problems)} settings are invalid: " + " ".join(p.message for p in problems))
    return settings


def read_settings(
    environ: Mapping[str, str] | None = None, env_file: str | Path | None = ".env"
) -> tuple[Settings, list[SettingProblem]]:
    """Every setting validated on its own: the settings, each invalid one replaced by its default, and one
    SettingProblem per invalid one (``incidentbot doctor`` lists them all and checks what does not
    depend on them)."""
    values: dict[str, str] = {}
    if env_file and Path(env_file).is_file():
        values.update(read_env_file(Path(env_file)))
    values.update(os.environ if environ is None else environ)
    return _validated(values)


def read_env_file(path: Path) -> dict[str, str]:
    """The ``NAME=value`` settings of the dotenv file ``path`` (python-dotenv's syntax: comments, quotes,
    ``export``), read as UTF-8 (a byte-order mark allowed). Raises ConfigError for a file that is not
    UTF-8 text or has a line that is not a setting, naming the line but never its text (it may hold a
    secret); python-dotenv alone would warn and skip such a line, and the setting would be lost."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path} is not UTF-8 text (some editors save UTF-16): save it as UTF-8, one NAME=value per line."
        ) from exc
    except OSError as exc:
        raise ConfigError(f"Cannot read {path}: {exc.strerror}.") from exc
    bad = [binding.original.line for binding in parse_stream(io.StringIO(text)) if binding.error]
    if bad:
        lines = ", ".join(str(n) for n in bad[:5]) + (" ..." if len(bad) > 5 else "")
        raise ConfigError(
            f"{path}: line {lines} {'is' if len(bad) == 1 else 'are'} not NAME=value settings "
            "(e.g. SLACK_BOT_TOKEN=xoxb-...; a # starts a comment): correct or remove them."
        )
    return {k: v for k, v in dotenv_values(stream=io.StringIO(text)).items() if v is not None}


def _validated(values: Mapping[str, str]) -> tuple[Settings, list[SettingProblem]]:
    problems: list[SettingProblem] = []
    defaults = Settings()

    def get(name: str) -> str:
        return values.get(name, "").strip()

    def parsed(name: str, parse: Callable[[str], _T]) -> _T:
        """``parse(value)``, or the setting's default after recording its ConfigError."""
        try:
            return parse(get(name))
        except ConfigError as exc:
            problems.append(SettingProblem(name, exc.user_message))
            default: _T = getattr(defaults, _FIELD_OF[name])
            return default

    # The TRACKER_* settings are checked together (a Jira site needs a user, GitHub a repository).
    tracker, tracker_problems = _tracker(get)
    problems += tracker_problems
    publishing, publishing_problems = _publishing(get)
    problems += publishing_problems
    statuspage, statuspage_problems = _statuspage(get)
    problems += statuspage_problems
    web, web_problems = _web(get)
    problems += web_problems
    settings = Settings(
        database_url=get("DATABASE_URL") or DEFAULT_DATABASE_URL,
        slack_bot_token=Secret(get("SLACK_BOT_TOKEN")),
        slack_signing_secret=Secret(get("SLACK_SIGNING_SECRET")),
        slack_app_token=parsed("SLACK_APP_TOKEN", _app_token),
        slack_api_url=parsed("SLACK_API_URL", _slack_api_url),
        announce_channel=get("INCIDENT_ANNOUNCE_CHANNEL") or None,
        followup_digest_channel=parsed(
            "INCIDENT_FOLLOWUP_DIGEST_CHANNEL", lambda text: _channel_id("INCIDENT_FOLLOWUP_DIGEST_CHANNEL", text)
        ),
        # Unset means the default; set but empty (``INCIDENT_CHANNEL_PREFIX=``) is refused like any bad value.
        channel_prefix=parsed(
            "INCIDENT_CHANNEL_PREFIX",
            lambda text: _channel_prefix(text if "INCIDENT_CHANNEL_PREFIX" in values else "inc"),
        ),
        templates_dir=parsed("INCIDENT_TEMPLATES_DIR", _templates_dir),
        log_format=parsed("LOG_FORMAT", _log_format),
        log_level=parsed("LOG_LEVEL", _log_level),
        strict_roles=parsed("INCIDENT_STRICT_ROLES", _strict_roles),
        private_announce=parsed("INCIDENT_PRIVATE_ANNOUNCE", _private_announce),
        slo_file=parsed("INCIDENT_SLO_FILE", _slo_file),
        slack_pacing=parsed("SLACK_PACING", lambda text: _on_off("SLACK_PACING", text)),
        slack_batching=parsed("SLACK_BATCHING", lambda text: _on_off("SLACK_BATCHING", text)),
        webhook_token=Secret(get("INCIDENT_WEBHOOK_TOKEN")),
        pagerduty_routing_key=Secret(get("PAGERDUTY_ROUTING_KEY")),
        pagerduty_events_url=parsed("PAGERDUTY_EVENTS_URL", _pagerduty_events_url),
        nudge_after=parsed("INCIDENT_NUDGE_MINUTES", _nudge_minutes),
        postmortem_reminder_days=parsed("INCIDENT_POSTMORTEM_REMINDER_DAYS", _reminder_days),
        archive_after=parsed("INCIDENT_ARCHIVE_AFTER", parse_archive_after),
        alert_severity_map=parsed("INCIDENT_ALERT_SEVERITY_MAP", _severity_map),
        alert_max_bytes=parsed("INCIDENT_ALERT_MAX_BYTES", _alert_max_bytes),
        **tracker,
        **publishing,
        **statuspage,
        **web,
    )
    order = list(_FIELD_OF)
    return settings, sorted(problems, key=lambda problem: order.index(problem.name))


_USERINFO = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/?#@]*)@")


def _shown_url(url: str) -> str:
    """``url`` as a message may show it: any ``user:password@`` replaced by ``***@``."""
    return _USERINFO.sub(lambda m: f"{m['scheme']}***@", url)


def url_problem(name: str, url: str, example: str = "") -> str | None:
    """Why ``url`` cannot be the http(s) URL setting ``name`` (None when it can): another scheme, or a
    user and password inside it (aiohttp refuses them next to our Authorization header, and a secret
    belongs in its own setting). The URL is shown with any password hidden."""
    shown = _shown_url(url)
    if not url.startswith(("http://", "https://")):
        return f"{name} must be an http(s) URL{example}, got {shown!r}."
    if _USERINFO.match(url):
        return f"{name} must not hold a user or password (give the token in its own setting), got {shown!r}."
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018 - urllib checks the port when it is read
    except ValueError:
        return f"{name} has a port that is not a number from 0 to 65535, got {shown!r}."
    if not _HOST.fullmatch(parts.hostname or ""):
        return f"{name} must name a host (letters, digits, dots and hyphens, or an IP address), got {shown!r}."
    return None


_HOST = re.compile(r"[\w.-]+|[0-9a-fA-F:.]+")
"""A host name (IDN letters allowed) or an IPv4 or bracketed IPv6 address, as ``urlsplit`` gives it (brackets
removed); no space, no other punctuation."""


_SLACK_TEAM_ID = re.compile(r"T[A-Z0-9]{2,}")
"""A Slack workspace (team) id: ``T`` and upper-case letters and digits, the ``team_id`` of ``auth.test`` and of
Sign in with Slack's ``https://slack.com/team_id`` claim."""


def _web_url_problem(url: str) -> str | None:
    """Why ``url`` cannot be INCIDENT_WEB_URL beyond ``url_problem``: the view is served at the root of a host, so
    a path, a query or a fragment would send Slack's sign-in back to a URL nothing answers."""
    parts = urlsplit(url)
    if parts.path not in ("", "/") or parts.query or parts.fragment or url.endswith(("?", "#")):
        root = f"{parts.scheme}://{parts.netloc}"
        return (
            f"INCIDENT_WEB_URL must be the root of the host the web view is served at, such as {root!r}: "
            f"got {_shown_url(url)!r} (no path, query or fragment; the view has no path prefix)."
        )
    return None


def _plain_http_to_another_host(url: str) -> bool:
    """True for an ``http://`` URL to any host but this machine (127.0.0.1, ::1, localhost)."""
    if not url.lower().startswith("http://"):
        return False
    host = urlsplit(url).hostname or ""
    return host not in ("127.0.0.1", "::1", "localhost")


def _slack_api_url(text: str) -> str:
    api_url = text or DEFAULT_SLACK_API_URL
    problem = url_problem("SLACK_API_URL", api_url)
    if problem is not None:
        raise ConfigError(problem)
    return api_url if api_url.endswith("/") else api_url + "/"


def _log_format(text: str) -> str:
    log_format = text or "console"
    if log_format not in ("console", "json"):
        raise ConfigError(f"LOG_FORMAT must be console or json, got {log_format!r}.")
    return log_format


def _log_level(text: str) -> str:
    level = (text or "INFO").upper()
    if level not in LOG_LEVELS:
        raise ConfigError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)} (any case), got {text!r}.")
    return level


def _channel_prefix(prefix: str) -> str:
    if not CHANNEL_PREFIX.fullmatch(prefix):
        raise ConfigError(
            f"INCIDENT_CHANNEL_PREFIX {prefix!r} is not a name Slack accepts: use 1 to 20 of a-z, 0-9, - and _ "
            "(lowercase ASCII), starting and ending with a letter or digit, e.g. inc."
        )
    return prefix


PRIVATE_ANNOUNCE_CHOICES = ("notice", "off")
"""INCIDENT_PRIVATE_ANNOUNCE's values: ``notice`` (the default) or ``off``."""


def _private_announce(text: str) -> str:
    choice = text.strip().lower() or "notice"
    if choice not in PRIVATE_ANNOUNCE_CHOICES:
        raise ConfigError(f"INCIDENT_PRIVATE_ANNOUNCE must be notice or off, got {text!r}.")
    return choice


def _strict_roles(text: str) -> bool:
    strict = text.lower()
    if strict not in ("", "true", "false", "1", "0", "yes", "no"):
        raise ConfigError(f"INCIDENT_STRICT_ROLES must be true or false, got {strict!r}.")
    return strict in ("true", "1", "yes")


def _on_off(name: str, text: str) -> bool:
    """A switch that is on unless set to ``off``/``false``/``no``/``0``."""
    value = text.strip().lower()
    if value not in ("", "true", "false", "1", "0", "yes", "no", "on", "off"):
        raise ConfigError(f"{name} must be on or off, got {value!r}.")
    return value in ("", "true", "1", "yes", "on")


def _templates_dir(text: str) -> Path | None:
    templates_dir = Path(text) if text else None
    if templates_dir is not None and not templates_dir.is_dir():
        raise ConfigError(f"INCIDENT_TEMPLATES_DIR {str(templates_dir)!r} is not a directory.")
    return templates_dir


def _slo_file(text: str) -> Path | None:
    slo_file = Path(text) if text else None
    if slo_file is not None and not slo_file.is_file():
        raise ConfigError(f"INCIDENT_SLO_FILE {str(slo_file)!r} is not a file.")
    return slo_file


def _pagerduty_events_url(text: str) -> str:
    pagerduty_url = text or DEFAULT_PAGERDUTY_EVENTS_URL
    problem = url_problem("PAGERDUTY_EVENTS_URL", pagerduty_url)
    if problem is not None:
        raise ConfigError(problem)
    return pagerduty_url


def _app_token(app_token: str) -> Secret:
    if app_token and not app_token.startswith("xapp-"):
        bot_token_hint = "; xoxb-... is the bot token (SLACK_BOT_TOKEN)" if app_token.startswith("xoxb-") else ""
        raise ConfigError(
            "SLACK_APP_TOKEN must be an app-level token (xapp-...), from Basic Information > App-Level Tokens "
            f"of your Slack app{bot_token_hint}."
        )
    return Secret(app_token)


CHANNEL_ID = re.compile(r"[CG][A-Z0-9]{2,}", re.ASCII)
"""A Slack channel id: C (public) or G (private), then upper-case letters and digits."""


def _channel_id(name: str, value: str) -> str | None:
    """``value`` as a channel id, None when empty. Raises ConfigError for a channel name (``#ops``)."""
    if not value:
        return None
    if not CHANNEL_ID.fullmatch(value):
        raise ConfigError(
            f"{name} must be a channel id such as C0123ABCD (in Slack: the channel's details, at the bottom), "
            f"got {value!r}."
        )
    return value


GITHUB_REPOSITORY = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}", re.ASCII)
"""``owner/repo``: GitHub owners are 1-39 letters, digits or hyphens; repository names letters,
digits, ``.``, ``_`` and ``-`` (at most 100)."""
JIRA_PROJECT_KEY = re.compile(r"[A-Z][A-Z0-9_]{1,9}", re.ASCII)
"""Jira's default project key pattern: an uppercase letter, then uppercase letters, digits or ``_``; 2-10."""
SLACK_USER_ID = re.compile(r"[UW][A-Z0-9]{2,}", re.ASCII)
"""Slack user ids start with U (or W on Enterprise Grid) followed by uppercase letters and digits."""
GITHUB_LOGIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}", re.ASCII)
"""GitHub logins: 1-39 letters, digits and single inner hyphens."""
JIRA_ACCOUNT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9:-]{0,127}", re.ASCII)
"""Atlassian accountIds: ``5b10ac8d82e05b22cc7d4ef5`` or ``557058:f58131cb-b67d-...`` (at most 128)."""
TRACKER_USERS_KEYS = frozenset({"users"})
TRACKER_SETTINGS = (
    "TRACKER_URL",
    "TRACKER_PROJECT",
    "TRACKER_TOKEN",
    "TRACKER_USER",
    "TRACKER_USERS_FILE",
    "TRACKER_SYNC_MINUTES",
    "TRACKER_WEBHOOK_SECRET",
)
"""The settings that mean something only with TRACKER set: set without it, they are a SettingProblem."""


class _TrackerSettings(TypedDict, total=False):
    tracker: str
    tracker_url: str
    tracker_project: str
    tracker_token: Secret
    tracker_user: str
    tracker_users: Mapping[str, str]
    tracker_sync_minutes: float
    tracker_webhook_secret: Secret


def _tracker(get: Callable[[str], str]) -> tuple[_TrackerSettings, list[SettingProblem]]:
    """The TRACKER_* settings, validated: nothing when TRACKER is unset (one SettingProblem, on TRACKER,
    naming any of ``TRACKER_SETTINGS`` set anyway: they would be silently ignored). Every invalid one is a
    SettingProblem (all of them, not the first); with any, no tracker is configured."""
    kind = get("TRACKER").lower()
    if not kind:
        stray = [name for name in TRACKER_SETTINGS if get(name)]
        if not stray:
            return _TrackerSettings(), []
        them = "it" if len(stray) == 1 else "them"
        message = (
            f"TRACKER is not set, so {', '.join(stray)} {'is' if len(stray) == 1 else 'are'} ignored: "
            f"set TRACKER=github|jira or remove {them}."
        )
        return _TrackerSettings(), [SettingProblem("TRACKER", message)]
    if kind not in ("github", "jira"):
        message = f"TRACKER must be github or jira (or unset for no tracker), got {kind!r}."
        return _TrackerSettings(), [SettingProblem("TRACKER", message)]
    problems: list[SettingProblem] = []

    def problem(name: str, message: str) -> None:
        problems.append(SettingProblem(name, message))

    url = get("TRACKER_URL").rstrip("/")
    if kind == "github":
        url = url or "https://api.github.com"
    if kind == "jira" and not url:
        problem("TRACKER_URL", "TRACKER_URL is not set: for Jira give your site, e.g. https://acme.atlassian.net.")
    elif (wrong := url_problem("TRACKER_URL", url)) is not None:
        problem("TRACKER_URL", wrong)
    project = get("TRACKER_PROJECT")
    if kind == "github" and not GITHUB_REPOSITORY.fullmatch(project):
        problem("TRACKER_PROJECT", f"TRACKER_PROJECT must be the GitHub repository as owner/repo, got {project!r}.")
    if kind == "jira" and not JIRA_PROJECT_KEY.fullmatch(project):
        problem(
            "TRACKER_PROJECT",
            "TRACKER_PROJECT must be a Jira project key (2-10 of A-Z, 0-9 and _, starting with a letter), "
            f"got {project!r}.",
        )
    token = get("TRACKER_TOKEN")
    if not token:
        problem("TRACKER_TOKEN", f"TRACKER_TOKEN is not set: TRACKER={kind} needs a token (see the README, Trackers).")
    user = get("TRACKER_USER")
    if kind == "jira" and ("@" not in user or " " in user):
        problem(
            "TRACKER_USER",
            f"TRACKER_USER must be the email of the Atlassian account owning TRACKER_TOKEN, got {user!r}.",
        )
    users_file = get("TRACKER_USERS_FILE")
    users: dict[str, str] = {}
    if users_file:
        try:
            users = load_tracker_users(Path(users_file), kind)
        except ConfigError as exc:
            problem("TRACKER_USERS_FILE", exc.user_message)
    sync_text = get("TRACKER_SYNC_MINUTES") or "10"
    try:
        sync_minutes = float(sync_text)
    except ValueError:
        sync_minutes = -1.0
    if not 0.05 <= sync_minutes <= 1440:
        problem(
            "TRACKER_SYNC_MINUTES",
            f"TRACKER_SYNC_MINUTES must be a number of minutes from 0.05 to 1440 (default 10), got {sync_text!r}.",
        )
    if problems:
        return _TrackerSettings(), problems
    return (
        _TrackerSettings(
            tracker_sync_minutes=sync_minutes,
            tracker_webhook_secret=Secret(get("TRACKER_WEBHOOK_SECRET")),
            tracker=kind,
            tracker_url=url,
            tracker_project=project,
            tracker_token=Secret(token),
            tracker_user=user,
            tracker_users=users,
        ),
        [],
    )


def load_tracker_users(path: Path, tracker: str) -> dict[str, str]:
    """TRACKER_USERS_FILE: ``users:`` mapping Slack user ids (``U024BE7LH``) to GitHub logins
    (``octocat``) or Jira accountIds, as ``tracker`` (github or jira) needs. Raises ConfigError
    naming the file and the first bad entry: not a file, not YAML, a key given twice in one mapping
    (YAML loaders keep the last; a Slack id mapped twice is a mistake, so it is refused with the lines of
    each), a key other than ``users``, a key that is not a Slack user id, a value that is not a login /
    accountId. One login mapped from two Slack ids is allowed (two Slack accounts of one person)."""
    import yaml

    where = f"TRACKER_USERS_FILE {str(path)!r}"
    if not path.is_file():
        raise ConfigError(f"{where} is not a file.")
    try:
        text = path.read_text(encoding="utf-8")
        repeated = _repeated_key(yaml.compose(text, Loader=yaml.SafeLoader))
        document = yaml.safe_load(text)
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{where} is not valid YAML{at}.") from exc
    if repeated is not None:
        key, lines = repeated
        raise ConfigError(
            f"{where}: {key} is given more than once (lines {', '.join(map(str, lines))}): keep one of them."
        )
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise ConfigError(f"{where} must be a mapping with a `users:` key.")
    unknown = sorted(str(k) for k in document if k not in TRACKER_USERS_KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r} (only `users:` is read).")
    users = document.get("users") or {}
    if not isinstance(users, dict):
        raise ConfigError(f"{where}: `users:` must map Slack user ids to tracker users.")
    pattern, what = (GITHUB_LOGIN, "a GitHub login") if tracker == "github" else (JIRA_ACCOUNT_ID, "a Jira accountId")
    result: dict[str, str] = {}
    for slack_id, login in users.items():
        if not isinstance(slack_id, str) or not SLACK_USER_ID.fullmatch(slack_id):
            raise ConfigError(
                f"{where}: {slack_id!r} is not a Slack user id (U... or W..., as in a profile's Copy member ID)."
            )
        if not isinstance(login, str):
            raise ConfigError(f"{where}: {_not_text(slack_id, login, tracker)}")
        if not pattern.fullmatch(login):
            raise ConfigError(f"{where}: {slack_id}: {login!r} is not {what}.")
        result[slack_id] = login
    return result


def _not_text(slack_id: str, value: object, tracker: str) -> str:
    """Why the YAML value ``value`` mapped from ``slack_id`` is no tracker user: YAML read it as something
    other than text (nothing, a boolean, a number, a date, a list, a mapping)."""
    name, noun, example = (
        ("GitHub", "login", "octocat") if tracker == "github" else ("Jira", "accountId", "5b10ac8d82e05b22cc7d4ef5")
    )
    if value is None:
        return f"{slack_id} has no {noun}: give the {name} {noun} (or remove the line)."
    if isinstance(value, bool):  # before numbers: a bool is an int in Python
        return (
            f"{slack_id}: YAML reads the value as the boolean {str(value).lower()} (true/false, yes/no, on/off): "
            f"put the {name} {noun} in quotes."
        )
    if isinstance(value, int | float):
        return f'{slack_id}: YAML reads {value} as a number: put the {name} {noun} in quotes, e.g. "{value}".'
    if isinstance(value, date):
        return f"{slack_id}: YAML reads {value.isoformat()} as a date: put the {name} {noun} in quotes."
    if isinstance(value, list):
        return f"{slack_id} has a list: give one {name} {noun} (a Slack user maps to one {name} user)."
    if isinstance(value, dict):
        return f"{slack_id} has a mapping: give the {name} {noun} as text, e.g. `{slack_id}: {example}`."
    return f"{slack_id}: {value!r} is not a {name} {noun}."


def _repeated_key(node: yaml.Node | None) -> tuple[str, list[int]] | None:
    """The first scalar key given more than once in a mapping of the YAML node tree ``node``, with the
    (1-based) line of each time it is given; None when every mapping's keys are distinct."""
    import yaml

    if isinstance(node, yaml.MappingNode):
        lines: dict[str, list[int]] = {}
        for key, _ in node.value:
            if isinstance(key, yaml.ScalarNode):
                lines.setdefault(key.value, []).append(key.start_mark.line + 1)
        for key_text, where in lines.items():
            if len(where) > 1:
                return key_text, where
        children = [value for _, value in node.value]
    elif isinstance(node, yaml.SequenceNode):
        children = list(node.value)
    else:
        return None
    for child in children:
        found = _repeated_key(child)
        if found is not None:
            return found
    return None


def _alert_max_bytes(text: str) -> int:
    """Bytes, from 1 MiB to 1 GiB; the default (32 MiB) when unset."""
    if not text:
        return DEFAULT_ALERT_MAX_BYTES
    if not text.isdecimal() or not MIN_ALERT_MAX_BYTES <= int(text) <= MAX_ALERT_MAX_BYTES:
        raise ConfigError(
            f"INCIDENT_ALERT_MAX_BYTES must be a number of bytes from {MIN_ALERT_MAX_BYTES} (1 MiB) "
            f"to {MAX_ALERT_MAX_BYTES} (1 GiB), got {text!r}."
        )
    return int(text)


def _pairs(name: str, text: str) -> list[tuple[str, str]]:
    """``a=1,b=2`` -> [(a, 1), (b, 2)]; anything else names the variable."""
    pairs: list[tuple[str, str]] = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ConfigError(f"{name} must look like key=value,key=value; {item!r} does not.")
        pairs.append((key.strip().lower(), value.strip().lower()))
    return pairs


def _nudge_minutes(text: str) -> dict[Severity, timedelta]:
    """``sev1=15,sev2=30``: minutes of timeline silence before a reminder; ``off`` disables nudges."""
    if not text:
        return dict(DEFAULT_NUDGE_AFTER)
    if text.lower() == "off":
        return {}
    result: dict[Severity, timedelta] = {}
    for key, value in _pairs("INCIDENT_NUDGE_MINUTES", text):
        severity = Severity.parse(key)
        if severity is None or not value.isdecimal() or not 1 <= int(value) <= 1440:
            raise ConfigError(f"INCIDENT_NUDGE_MINUTES: {key}={value} needs sev1-4 and minutes from 1 to 1440.")
        result[severity] = timedelta(minutes=int(value))
    return result


def _reminder_days(text: str) -> int | None:
    """``5``: days after a sev1/sev2 resolve before a draft postmortem is chased (1 to 365); ``off``: never."""
    if not text.strip():
        return DEFAULT_POSTMORTEM_REMINDER_DAYS
    if text.strip().lower() == "off":
        return None
    if not text.strip().isdecimal() or not 1 <= int(text) <= 365:
        raise ConfigError(f"INCIDENT_POSTMORTEM_REMINDER_DAYS must be whole days from 1 to 365, or off; got {text!r}.")
    return int(text)


ARCHIVE_AFTER_MIN = timedelta(hours=1)
ARCHIVE_AFTER_MAX = timedelta(days=365)
_DURATION_PART = re.compile(r"(\d{1,6})\s*(weeks?|w|days?|d|hours?|h|minutes?|mins?|m)", re.IGNORECASE | re.ASCII)
_DURATION_UNITS = {"w": timedelta(weeks=1), "d": timedelta(days=1), "h": timedelta(hours=1), "m": timedelta(minutes=1)}


def parse_archive_after(text: str) -> timedelta | None:
    """INCIDENT_ARCHIVE_AFTER: ``7d``, ``2w``, ``36h``, ``90m``, ``1d12h``, ``7 days`` (whole amounts, each unit
    w/d/h/m at most once, largest first, any case) -> that duration, from 1 hour to 365 days; ``off`` or
    empty (unset) -> None: channels are never archived. Raises ConfigError naming the setting otherwise."""
    value = text.strip()
    if not value or value.lower() == "off":
        return None
    usage = "a duration such as 7d, 2w, 36h or 1d12h (from 1h to 365d), or off"
    parts = _DURATION_PART.findall(value)
    if not parts or _DURATION_PART.sub("", value).strip():
        raise ConfigError(f"INCIDENT_ARCHIVE_AFTER must be {usage}; got {text!r}.")
    units = [unit[0].lower() for _, unit in parts]
    if units != sorted(set(units), key="wdhm".index):
        raise ConfigError(f"INCIDENT_ARCHIVE_AFTER gives each unit once, largest first (1d12h); got {text!r}.")
    amounts = [int(amount) for amount, _ in parts]
    total = sum((n * _DURATION_UNITS[unit] for n, unit in zip(amounts, units, strict=True)), timedelta())
    if not ARCHIVE_AFTER_MIN <= total <= ARCHIVE_AFTER_MAX:
        raise ConfigError(f"INCIDENT_ARCHIVE_AFTER must be from 1h to 365d, or off; got {text!r}.")
    return total


def _severity_map(text: str) -> dict[str, Severity]:
    """``critical=sev1,page=sev1``: overrides of the alert ``severity`` label -> incident severity map."""
    result = dict(DEFAULT_SEVERITY_MAP)
    for label, value in _pairs("INCIDENT_ALERT_SEVERITY_MAP", text):
        severity = Severity.parse(value)
        if severity is None:
            raise ConfigError(f"INCIDENT_ALERT_SEVERITY_MAP: {label}={value} must map to sev1, sev2, sev3 or sev4.")
        result[label] = severity
    return result


def sqlite_url(path: Path) -> str:
    """The DATABASE_URL of the SQLite file ``path``, exactly that file: characters a URL reads otherwise
    (``?`` a query, ``#``, ``%`` an escape, a space) are percent-encoded, as SQLAlchemy decodes them.

    ``Path("/srv/backup #3.db")`` -> ``sqlite:////srv/backup%20%233.db``."""
    return "sqlite:///" + quote(str(path))


CONFLUENCE_SETTINGS = ("CONFLUENCE_URL", "CONFLUENCE_SPACE", "CONFLUENCE_USER", "CONFLUENCE_API_TOKEN")
"""Confluence publishing needs all four (CONFLUENCE_PARENT_ID is optional); none set: it is off."""
CONFLUENCE_SPACE = re.compile(r"~?[A-Za-z0-9_]{1,255}", re.ASCII)
"""A space key (``OPS``, a personal space's ``~557058...``) or a space's numeric id."""
GIT_BRANCH = re.compile(r"(?!-)(?!.*\.\.)(?!.*//)[A-Za-z0-9._/-]{1,200}(?<![./])", re.ASCII)
"""A branch name ``git check-ref-format --branch`` accepts, restricted to ASCII letters, digits, ``.``, ``_``,
``/`` and ``-``."""


class _PublishingSettings(TypedDict, total=False):
    confluence_url: str
    confluence_space: str
    confluence_user: str
    confluence_api_token: Secret
    confluence_parent_id: str | None
    postmortem_git_repo: Path | None
    postmortem_git_branch: str | None
    postmortem_git_dir: str


def _publishing(get: Callable[[str], str]) -> tuple[_PublishingSettings, list[SettingProblem]]:
    """The CONFLUENCE_* and POSTMORTEM_GIT_* settings, validated: every invalid one is a SettingProblem, and
    a target with any problem is left off. Confluence is on when any of its four settings is given (then all
    are needed); Git when POSTMORTEM_GIT_REPO is (its BRANCH and DIR without it are a problem, as they would
    be ignored)."""
    problems: list[SettingProblem] = []
    settings = _PublishingSettings()
    given = [name for name in CONFLUENCE_SETTINGS if get(name)]
    if given or get("CONFLUENCE_PARENT_ID"):
        found: list[SettingProblem] = []
        for name in CONFLUENCE_SETTINGS:
            if not get(name):
                found.append(
                    SettingProblem(
                        name,
                        f"{name} is not set: publishing to Confluence needs "
                        f"{', '.join(CONFLUENCE_SETTINGS)} (README: Publishing the postmortem).",
                    )
                )
        url = get("CONFLUENCE_URL").rstrip("/").removesuffix("/wiki")
        wrong = url_problem("CONFLUENCE_URL", url, " (your site, e.g. https://acme.atlassian.net)") if url else None
        if wrong is not None:
            found.append(SettingProblem("CONFLUENCE_URL", wrong))
        space = get("CONFLUENCE_SPACE")
        if space and not CONFLUENCE_SPACE.fullmatch(space):
            found.append(
                SettingProblem(
                    "CONFLUENCE_SPACE",
                    f"CONFLUENCE_SPACE must be a space key (such as OPS) or a space id, got {space!r}.",
                )
            )
        user = get("CONFLUENCE_USER")
        if user and ("@" not in user or " " in user):
            found.append(
                SettingProblem(
                    "CONFLUENCE_USER",
                    "CONFLUENCE_USER must be the email of the Atlassian account owning CONFLUENCE_API_TOKEN, "
                    f"got {user!r}.",
                )
            )
        parent = get("CONFLUENCE_PARENT_ID")
        if parent and not parent.isdecimal():
            found.append(
                SettingProblem(
                    "CONFLUENCE_PARENT_ID",
                    f"CONFLUENCE_PARENT_ID must be a page id (digits, from the page's URL), got {parent!r}.",
                )
            )
        problems += found
        if not found:
            settings["confluence_url"] = url
            settings["confluence_space"] = space
            settings["confluence_user"] = user
            settings["confluence_api_token"] = Secret(get("CONFLUENCE_API_TOKEN"))
            settings["confluence_parent_id"] = parent or None
    repo = get("POSTMORTEM_GIT_REPO")
    branch, folder = get("POSTMORTEM_GIT_BRANCH"), get("POSTMORTEM_GIT_DIR")
    if not repo:
        stray = [n for n, v in (("POSTMORTEM_GIT_BRANCH", branch), ("POSTMORTEM_GIT_DIR", folder)) if v]
        if stray:
            problems.append(
                SettingProblem(
                    stray[0],
                    f"POSTMORTEM_GIT_REPO is not set, so {', '.join(stray)} would be ignored: set "
                    f"POSTMORTEM_GIT_REPO to a local clone or remove {'it' if len(stray) == 1 else 'them'}.",
                )
            )
        return settings, problems
    found = []
    # Whether the folder is a clone is the clone's state, not the setting's form: `doctor` says so, and a
    # publication to it is a dead item naming it; the bot itself starts (an archive volume not mounted must
    # not keep anyone from declaring a sev1).
    if branch and not GIT_BRANCH.fullmatch(branch):
        found.append(
            SettingProblem("POSTMORTEM_GIT_BRANCH", f"POSTMORTEM_GIT_BRANCH is not a branch name, got {branch!r}.")
        )
    folder = folder.strip("/") or "postmortems"
    parts = folder.split("/")
    if folder.startswith("~") or any(p in ("", ".", "..", ".git") for p in parts) or Path(folder).is_absolute():
        found.append(
            SettingProblem(
                "POSTMORTEM_GIT_DIR",
                "POSTMORTEM_GIT_DIR must be a folder inside the repository such as postmortems or "
                f"docs/postmortems, got {get('POSTMORTEM_GIT_DIR')!r}.",
            )
        )
    problems += found
    if not found:
        settings["postmortem_git_repo"] = Path(repo)
        settings["postmortem_git_branch"] = branch or None
        settings["postmortem_git_dir"] = folder
    return settings, problems


STATUSPAGE_PAGE_ID = re.compile(r"[A-Za-z0-9]{1,64}", re.ASCII)
"""A Statuspage page id: letters and digits (``kctbh9vrtdwd``, in the page's API settings)."""


def _statuspage(get: Callable[[str], str]) -> tuple[dict[str, Any], list[SettingProblem]]:
    """The STATUSPAGE_* settings, validated: on when STATUSPAGE_API_KEY or STATUSPAGE_PAGE_ID is given (then
    both are needed); the other three given without them are a problem (they would be ignored). Every
    invalid one is a SettingProblem naming it; with any problem the status page stays off."""
    problems: list[SettingProblem] = []
    key, page = get("STATUSPAGE_API_KEY"), get("STATUSPAGE_PAGE_ID")
    optional = [n for n in ("STATUSPAGE_URL", "STATUSPAGE_CONFIRM_RESOLVE", "STATUSPAGE_RESOLVE_TEXT") if get(n)]
    if not key and not page:
        for name in optional:
            problems.append(
                SettingProblem(
                    name, f"{name} is set but STATUSPAGE_API_KEY and STATUSPAGE_PAGE_ID are not: set them or remove it."
                )
            )
        return {}, problems
    for name, value in (("STATUSPAGE_API_KEY", key), ("STATUSPAGE_PAGE_ID", page)):
        if not value:
            problems.append(
                SettingProblem(
                    name,
                    f"{name} is not set: the status page needs STATUSPAGE_API_KEY and STATUSPAGE_PAGE_ID "
                    "(README: Public status page (Statuspage)).",
                )
            )
    if key and any(not c.isprintable() or c.isspace() for c in key):
        problems.append(
            SettingProblem(
                "STATUSPAGE_API_KEY",
                "STATUSPAGE_API_KEY holds a space or a line break: paste the key alone, on one line.",
            )
        )
    if page and not STATUSPAGE_PAGE_ID.fullmatch(page):
        problems.append(
            SettingProblem(
                "STATUSPAGE_PAGE_ID",
                "STATUSPAGE_PAGE_ID must be a page id (letters and digits, from the page's API settings), "
                f"got {page!r}.",
            )
        )
    # Atlassian writes the base URL with its version (https://api.statuspage.io/v1); the client adds /v1 itself.
    url = (get("STATUSPAGE_URL") or DEFAULT_STATUSPAGE_URL).rstrip("/").removesuffix("/v1").rstrip("/")
    wrong = url_problem("STATUSPAGE_URL", url, " (e.g. https://api.statuspage.io)")
    if wrong is None and _plain_http_to_another_host(url):
        wrong = (
            f"STATUSPAGE_URL must use https: {_shown_url(url)!r} would send the API key in clear text "
            "(plain http only to 127.0.0.1, ::1 or localhost)."
        )
    if wrong is not None:
        problems.append(SettingProblem("STATUSPAGE_URL", wrong))
    confirm = get("STATUSPAGE_CONFIRM_RESOLVE").lower()
    if confirm not in ("", "true", "false", "1", "0", "yes", "no"):
        problems.append(
            SettingProblem(
                "STATUSPAGE_CONFIRM_RESOLVE", f"STATUSPAGE_CONFIRM_RESOLVE must be true or false, got {confirm!r}."
            )
        )
    text = get("STATUSPAGE_RESOLVE_TEXT").strip() or DEFAULT_STATUSPAGE_RESOLVE_TEXT
    if len(text) > 25_000:
        problems.append(
            SettingProblem(
                "STATUSPAGE_RESOLVE_TEXT", "STATUSPAGE_RESOLVE_TEXT is longer than Statuspage takes (25,000)."
            )
        )
    if problems:
        return {}, problems
    return {
        "statuspage_api_key": Secret(key),
        "statuspage_page_id": page,
        "statuspage_url": url,
        "statuspage_confirm_resolve": confirm in ("true", "1", "yes"),
        "statuspage_resolve_text": text,
    }, problems


def _web(get: Callable[[str], str]) -> tuple[dict[str, Any], list[SettingProblem]]:
    """The web view's settings (``bot.web``), validated: off unless INCIDENT_WEB_URL is set; then it needs
    INCIDENT_WEB_SESSION_SECRET (32 characters or more) and either Sign in with Slack (SLACK_CLIENT_ID,
    SLACK_CLIENT_SECRET and SLACK_TEAM_ID together) or INCIDENT_WEB_API_TOKEN, else nobody could read it.
    With any problem the web view stays off."""
    problems: list[SettingProblem] = []
    url = get("INCIDENT_WEB_URL").rstrip("/")
    names = ("INCIDENT_WEB_SESSION_SECRET", "INCIDENT_WEB_API_TOKEN", "SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET")
    if not url:
        for name in (*names, "SLACK_TEAM_ID", "SLACK_OIDC_ISSUER"):
            if get(name):
                problems.append(
                    SettingProblem(
                        name, f"{name} is set but INCIDENT_WEB_URL is not: set it (the web view) or remove it."
                    )
                )
        return {}, problems
    problem = url_problem("INCIDENT_WEB_URL", url, " such as https://incidents.example.com") or _web_url_problem(url)
    if problem is not None:
        problems.append(SettingProblem("INCIDENT_WEB_URL", problem))
    secret = get("INCIDENT_WEB_SESSION_SECRET")
    if len(secret) < WEB_SESSION_SECRET_MIN:
        problems.append(
            SettingProblem(
                "INCIDENT_WEB_SESSION_SECRET",
                f"INCIDENT_WEB_SESSION_SECRET must be at least {WEB_SESSION_SECRET_MIN} characters (it signs the web "
                "view's session cookie): generate one with `openssl rand -hex 32`.",
            )
        )
    sign_in = [get(n) for n in ("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET", "SLACK_TEAM_ID")]
    if any(sign_in) and not all(sign_in):
        missing = [
            n
            for n, v in zip(("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET", "SLACK_TEAM_ID"), sign_in, strict=True)
            if not v
        ]
        problems.append(
            SettingProblem(
                missing[0],
                f"Sign in with Slack needs SLACK_CLIENT_ID, SLACK_CLIENT_SECRET and SLACK_TEAM_ID; "
                f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set.",
            )
        )
    if sign_in[2] and not _SLACK_TEAM_ID.fullmatch(sign_in[2]):
        problems.append(
            SettingProblem(
                "SLACK_TEAM_ID",
                f"SLACK_TEAM_ID must be your workspace's id, such as T0123ABCD (in `auth.test`'s answer or the "
                f"workspace's URL in a browser), got {sign_in[2][:80]!r}.",
            )
        )
    if not any(sign_in) and not get("INCIDENT_WEB_API_TOKEN"):
        problems.append(
            SettingProblem(
                "INCIDENT_WEB_URL",
                "INCIDENT_WEB_URL is set, but nobody could read the web view: configure Sign in with Slack "
                "(SLACK_CLIENT_ID, SLACK_CLIENT_SECRET, SLACK_TEAM_ID) or INCIDENT_WEB_API_TOKEN.",
            )
        )
    if any(sign_in) and problem is None and _plain_http_to_another_host(url):
        problems.append(
            SettingProblem(
                "INCIDENT_WEB_URL",
                f"INCIDENT_WEB_URL {url!r} is plain http to another machine: browsers keep the sign-in's Secure "
                "cookie only over https (or on this machine), so Sign in with Slack could never finish. Serve the "
                "web view over https (behind a proxy) and give its https:// URL.",
            )
        )
    issuer = (get("SLACK_OIDC_ISSUER") or DEFAULT_SLACK_OIDC_ISSUER).rstrip("/")
    issuer_problem = url_problem("SLACK_OIDC_ISSUER", issuer)
    if issuer_problem is not None:
        problems.append(SettingProblem("SLACK_OIDC_ISSUER", issuer_problem))
    if problems:
        return {}, problems
    return {
        "web_url": url,
        "web_session_secret": Secret(secret),
        "web_api_token": Secret(get("INCIDENT_WEB_API_TOKEN")),
        "slack_client_id": sign_in[0],
        "slack_client_secret": Secret(sign_in[1]),
        "slack_team_id": sign_in[2],
        "slack_oidc_issuer": issuer,
    }, problems
