"""The ``incidentbot`` command line: demo, run, timeline, postmortem, list, db (upgrade, copy, backup, restore),
serve, socket, doctor.

Expected failures exit non-zero with one clear line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from bot.cli import DEMO_KEEP_FILE
from bot.domain.commands import (
    Declare,
    ExportPostmortem,
    ListFollowups,
    ListIncidents,
    PublishPostmortem,
    SetService,
    ShowHelp,
    ShowSlo,
    ShowStatus,
    ShowTimeline,
)
from bot.domain.errors import UnknownSlo
from bot.domain.grammar import clean_text, help_text, parse_cli_person, parse_command
from bot.domain.model import Status, parse_incident_id
from bot.domain.people import Person
from bot.domain.privacy import PRIVATE_TITLE, check_may_see, hidden_listing, hidden_summary
from bot.domain.timeline import PUBLICATION_TARGETS, collect_names, plain_mention, plain_references
from bot.domain.timeparse import format_iso
from bot.errors import BotError, ConfigError, IncidentNotFound, UsageError

# Start-up time: `incidentbot --help` imports only the above (the standard library and the pure domain);
# each command imports what it uses (the settings, the store, the views, bot.compose or bot.app) when it
# runs, so `list` never loads Alembic, Jinja, Slack or aiohttp (tests/unit/test_cli_imports.py).
if TYPE_CHECKING:
    from bot.config import Settings
    from bot.domain.commands import ParsedCommand
    from bot.domain.effects import Effect, OutboxItem
    from bot.domain.model import Incident, IncidentSummary, TimelineEntry
    from bot.usecases.followups import FollowupList
    from bot.usecases.incidents import IncidentUseCases
    from bot.usecases.shared import Actor
    from bot.usecases.wiring import UseCases

EXIT_ERROR = 1
EXIT_USAGE = 2
DEFAULT_ENV_FILE = ".env"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``incidentbot`` script.

    Exit status: 0 done, 1 an expected failure (one ``incidentbot: ...`` line on stderr), 2 a usage error.
    Output that cannot be written (a full disk, a closed stdout) is such a failure: one line, what was written
    is cut short.
    """
    terminal = sys.stdout
    sys.stdout = _Output(terminal)
    try:
        status = _main(argv)
        sys.stdout.flush()  # a full disk shows here, not in the interpreter's last flush
        return status
    except _OutputFailed as exc:
        print(
            f"incidentbot: could not write the output ({exc.reason}); what was written is cut short.", file=sys.stderr
        )
        _drop_output(terminal)
        return EXIT_ERROR
    except BrokenPipeError:  # the reader left before the last flush
        return _reader_went_away()
    finally:
        sys.stdout = terminal


class _OutputFailed(Exception):
    """Writing to standard output failed (not a closed pipe, which ``_reader_went_away`` handles)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Output:
    """``sys.stdout`` while a command runs: a failed write or flush raises ``_OutputFailed`` (told apart from any
    other OSError); a closed stdout (``>&-``, None) fails on the first write."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        return int(self._call("write", text))

    def flush(self) -> None:
        if self._stream is not None:
            self._call("flush")

    def _call(self, name: str, *args: Any) -> Any:
        if self._stream is None:
            raise _OutputFailed("standard output is closed")
        try:
            return getattr(self._stream, name)(*args)
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise _OutputFailed(exc.strerror or str(exc)) from exc

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _drop_output(stream: Any) -> None:
    """Point the process's stdout at /dev/null, so the interpreter's last flush of ``stream`` raises nothing."""
    if stream is None:
        return
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
    except (OSError, ValueError, AttributeError):  # no file descriptor (an in-process caller's buffer)
        pass


def _main(argv: Sequence[str] | None) -> int:
    parser = _parser()
    _Parser.serving = not _SERVERS.isdisjoint(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    if args.command == "doctor":  # reads the settings itself: a bad one is a line of its checklist
        try:
            return _doctor(args)
        except BotError as exc:
            return refused(exc)
        except BrokenPipeError:
            return _reader_went_away()
    from bot.config import load_settings
    from bot.log import configure_logging

    settings: Settings | None = None
    try:
        settings = load_settings(env_file=_env_file(args))
        quiet = args.command in _QUIET or getattr(args, "db_command", None) in _QUIET_DB
        configure_logging(settings.log_format, "WARNING" if quiet else settings.log_level)
        handler: Callable[[argparse.Namespace, Settings], int] = args.handler
        return handler(args, settings)
    except IncidentNotFound as exc:
        if isinstance(exc, UnknownSlo) or settings is None:
            return refused(exc)
        # Which database was searched: a wrong DATABASE_URL shows itself (not for a service missing from slos.yml).
        print(f"incidentbot: {said(exc)} (database: {_database_label(settings)})", file=sys.stderr)
        return EXIT_ERROR
    except BotError as exc:
        if args.command in _SERVERS and _json_logs(settings) and not isinstance(exc, UsageError):
            # A server asked for JSON logs: its failure to start is one more JSON line, not plain text.
            configure_logging("json", settings.log_level if settings else "INFO")
            _log().error("start_failed", error=exc.user_message)
            return EXIT_ERROR
        return refused(exc)
    except KeyboardInterrupt as exc:  # Ctrl-C; a copy says what it left (bot.store.copy.CopyInterrupted)
        message = getattr(exc, "user_message", None)
        if isinstance(message, str):
            print(f"incidentbot: {message}", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return _reader_went_away()


def _log() -> Any:
    """The CLI's structlog logger (structlog is imported when something is logged, not at start-up)."""
    import structlog

    return structlog.get_logger("incidentbot.cli")


def _reader_went_away() -> int:
    """``incidentbot list | head -1``: the reader closed the pipe. Exit quietly (Python's documented
    recipe: point stdout at /dev/null so the interpreter's last flush raises nothing)."""
    _drop_output(sys.stdout)
    return EXIT_ERROR


_SLACK_COMMAND = re.compile(r"`/incident ([^`]*)`")


def for_terminal(text: str, names: Mapping[str, str] | None = None) -> str:
    """A message written for Slack as a terminal user reads and types it.

    ```/incident INC-7 reopen <reason>``` -> ```incidentbot run "INC-7 reopen <reason>"```, and
    ``<@U0BOB|bob>`` -> ``@bob`` (``@U0BOB`` when the name is unknown), ``<#C0123|general>`` -> ``#general``.
    """
    text = _SLACK_COMMAND.sub(lambda match: f'`incidentbot run "{match.group(1)}"`', text)
    return plain_references(dict(names or {}))(text)


def refused(exc: BotError, names: Mapping[str, str] | None = None) -> int:
    """Print ``exc`` on stderr as ``incidentbot: <sentence>`` (and its usage, for a UsageError); returns
    the exit status (2 for a usage error, else 1)."""
    if isinstance(exc, UsageError):
        usage = f'\nUsage: incidentbot run "{exc.usage}"' if exc.usage else ""
        print(f"incidentbot: {said(exc, names)}{usage}", file=sys.stderr)
        return EXIT_USAGE
    print(f"incidentbot: {said(exc, names)}", file=sys.stderr)
    return EXIT_ERROR


def said(exc: BotError, names: Mapping[str, str] | None = None) -> str:
    """A refusal as a terminal user reads it: each person it names as ``@name`` when the name is known
    (sent with the mention, or recorded on the incident: ``names``), else ``@U0123ABC``, never
    ``<@U0123ABC>``; commands as ``incidentbot run "..."``."""
    known = {**(names or {}), **exc.names}
    return for_terminal(exc.render(plain_mention(known)), known)


def plain_help(verb: str | None = None) -> str:
    """``help`` for a terminal: plain text, commands as typed there (``incidentbot run "lead @user"``).

    Slack's help is mrkdwn (``*Commands*``, backticks); a terminal shows those characters literally.
    """
    return for_terminal(help_text(verb)).replace("*Commands*", "Commands:").replace("`", "")


_SERVERS = {"serve", "socket"}


def _json_logs(settings: Settings | None) -> bool:
    """LOG_FORMAT=json, from the settings, or from the environment when the settings could not be read."""
    if settings is not None:
        return settings.log_format == "json"
    return os.environ.get("LOG_FORMAT", "").strip() == "json"


_QUIET_DB = {"copy", "backup", "restore"}
"""``db`` actions whose output is their summary (migration chatter would only hide it)."""
_QUIET = {"demo", "timeline", "postmortem", "list", "run", "outbox", "slo", "report", "followups"}


class _Parser(argparse.ArgumentParser):
    """argparse with usage errors on one line: ``incidentbot: <what is wrong>; see `incidentbot X --help`.``"""

    serving = False
    """The command line names ``serve`` or ``socket`` (set by ``main``): its usage errors follow LOG_FORMAT."""

    def error(self, message: str) -> NoReturn:
        text = f"{message}; see `{self.prog} --help`."
        if _Parser.serving and _json_logs(None):
            # `serve`/`socket` asked for JSON logs (in the environment: no settings file is read yet).
            from bot.log import configure_logging

            configure_logging("json", "INFO")
            _log().error("start_failed", error=text)
            self.exit(EXIT_USAGE)
        self.exit(EXIT_USAGE, f"incidentbot: {text}\n")


def _port(text: str) -> int:
    """A TCP port number for ``--port``: 1 to 65535, or 0 for any free port."""
    if not text.isdecimal() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a TCP port: use 1 to 65535 (or 0 for any free port)")
    return int(text)


def _limit(text: str) -> int:
    if not text.isdecimal() or not 1 <= int(text) <= 100_000:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of incidents from 1 to 100000")
    return int(text)


def _item_id(text: str) -> int:
    """An outbox item id for ``--retry``, as ``incidentbot outbox`` lists it (``#17`` or ``17``)."""
    digits = text.removeprefix("#")
    if not digits.isdecimal() or not 1 <= int(digits) <= 2**63 - 1:  # a database integer (SQLite, PostgreSQL bigint)
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an outbox item id: use the #number `incidentbot outbox` lists"
        )
    return int(digits)


def _version() -> str:
    from importlib import metadata  # here: reading the installed metadata costs tens of ms at every start

    try:
        return str(metadata.version("incidentbot"))
    except metadata.PackageNotFoundError:  # a source checkout that was never installed
        return "unknown (not installed)"


class _VersionAction(argparse.Action):
    """``--version``: prints ``incidentbot <version>`` and exits 0, like argparse's ``action="version"``, but
    reads the installed version only when asked."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS) -> None:
        super().__init__(
            option_strings, dest, nargs=0, default=argparse.SUPPRESS, help="show program's version number and exit"
        )

    def __call__(
        self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any, option: str | None = None
    ) -> None:
        print(f"incidentbot {_version()}")  # on stdout, as argparse prints a version
        parser.exit()


RUN_EPILOG = """{help}

--at WHEN, inside the quoted text, records when a change really happened, e.g.
  --at 13:42, --at 15m ago, --at yesterday 13:42, --at 2026-11-22T13:42Z, --at 13:42 Europe/Berlin
  (no zone means UTC; README, "The /incident command", lists every form).

Examples:
  incidentbot run "declare sev2 Checkout latency"
  incidentbot run "INC-1 note checking the WAF --at 15m ago" --user @alice
  incidentbot run "INC-1 resolve" --user U0123ABC"""


def _parser() -> argparse.ArgumentParser:
    # --env-file may come before or after the subcommand: each parser knows it, and none sets a default
    # (SUPPRESS), so a subcommand's parser never overwrites the value given before it.
    common = _Parser(add_help=False)
    common.add_argument(
        "--env-file",
        default=argparse.SUPPRESS,
        metavar="FILE",
        help="read settings from FILE (it must exist; '' reads none); default: .env in this folder, if there is one",
    )
    parser = _Parser(prog="incidentbot", description="Incident-management ChatOps bot for Slack.", parents=[common])
    parser.add_argument("--version", action=_VersionAction)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help: str, **kwargs: Any) -> argparse.ArgumentParser:
        sub: argparse.ArgumentParser = commands.add_parser(
            name, help=help, description=kwargs.pop("description", help), parents=[common], **kwargs
        )
        return sub

    demo = command(
        "demo",
        "replay the CDN outage into a throwaway SQLite database, offline",
        description="Replay the CDN outage of the README into a throwaway SQLite database (deleted at the end), "
        "printing each command, the timeline and the postmortem draft. Needs no Slack and no settings.",
    )
    demo.add_argument(
        "--keep",
        nargs="?",
        const=str(DEMO_KEEP_FILE),
        default=None,
        metavar="FILE",
        help=f"keep the demo's database in FILE (default: {DEMO_KEEP_FILE}); an existing file is never overwritten",
    )
    demo.set_defaults(handler=_demo)

    run = command(
        "run",
        "run one /incident command, e.g. 'INC-1 note checking the WAF'",
        description="Run one /incident command, exactly as typed after /incident in Slack.",
        epilog=RUN_EPILOG.format(help=plain_help()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("text", help="the command text, exactly as after /incident in Slack (quote it)")
    run.add_argument(
        "--user",
        default="cli",
        help="who is acting, recorded on the timeline: @name, or a Slack user id such as U0123ABC (default: cli)",
    )
    run.set_defaults(handler=_run)

    formats = ("text", "json")
    timeline = command("timeline", "print an incident's timeline")
    timeline.add_argument("incident", help="the incident id, INC-n")
    timeline.add_argument("--format", choices=formats, default="text", help="text (default) or json")
    _include_private(timeline)
    timeline.set_defaults(handler=_timeline)

    postmortem = command("postmortem", "render an incident's postmortem draft (Markdown)")
    postmortem.add_argument("incident", help="the incident id, INC-n")
    postmortem.add_argument(
        "--template", default=None, help="template name, NAME.md.j2 in INCIDENT_TEMPLATES_DIR (default: postmortem)"
    )
    postmortem.add_argument("--out", type=Path, default=None, help="write to this file instead of stdout")
    _include_private(postmortem)
    postmortem.set_defaults(handler=_postmortem)

    listing = command("list", "list incidents, newest first")
    listing.add_argument(
        "--status", action="append", choices=[s.value for s in Status], help="only these statuses (repeatable)"
    )
    listing.add_argument("--format", choices=formats, default="text", help="text (default) or json")
    listing.add_argument("--limit", type=_limit, default=200, help="at most this many incidents (default: 200)")
    _include_private(listing)
    listing.set_defaults(handler=_list)

    followups = command(
        "followups",
        "list follow-ups (action items): number, state, owner, due date, tracker link",
        description="List the follow-ups of one incident, or of every incident when no id is given.",
    )
    followups.add_argument("incident", nargs="?", default=None, help="the incident id, INC-n (default: every incident)")
    followups.add_argument("--open", action="store_true", help="only open follow-ups (overdue ones included)")
    followups.add_argument(
        "--owner", default=None, metavar="@NAME", help="only those owned by @name or a Slack user id such as U0123ABC"
    )
    followups.add_argument(
        "--format", choices=("text", "json", "csv"), default="text", help="text (default), json or csv"
    )
    _include_private(followups)
    followups.set_defaults(handler=_followups)

    slo = command("slo", "error budgets: remaining in the window, burn by incident")
    slo.add_argument("service", nargs="?", default=None, help="one service (default: every catalogued one)")
    slo.add_argument("--format", choices=formats, default="text", help="text (default) or json")
    slo.set_defaults(handler=_slo)

    report = command("report", "incident statistics: counts, time to mitigate/resolve, budgets")
    report.add_argument("--since", default="90d", help="how far back: 90d, 12w, 6m (months of 30 days); default 90d")
    report.add_argument("--format", choices=("text", "json", "csv"), default="text", help="text (default), json or csv")
    report.add_argument(
        "--chart",
        type=Path,
        default=None,
        metavar="FILE",
        help="also draw a chart; the format follows the extension: .png or .svg (needs incidentbot[charts])",
    )
    _include_private(report)
    report.set_defaults(handler=_report)

    database = command("db", "database maintenance")
    db_commands = database.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    upgrade = db_commands.add_parser(
        "upgrade",
        help="create the database or apply schema migrations (also done on start)",
        description="Create the database or bring its schema up to date (serve and socket do it on start too).",
        parents=[common],
    )
    upgrade.set_defaults(handler=_db_upgrade)
    copy = db_commands.add_parser(
        "copy",
        help="copy every incident, timeline, follow-up, alert and queued Slack call into another database",
        description="Copy the whole database (DATABASE_URL, or --from) into --to, e.g. SQLite into PostgreSQL: "
        "the target is migrated first, ids and incident numbers are kept, and both sides are compared afterwards "
        "(row counts per table, a checksum of every incident's timeline). Stop the bot while it copies.",
        parents=[common],
    )
    copy.add_argument("--to", required=True, metavar="URL", help="the database to copy into (it must be empty)")
    copy.add_argument(
        "--from", dest="source", default=None, metavar="URL", help="the database to copy (default: DATABASE_URL)"
    )
    copy.add_argument(
        "--force", action="store_true", help="delete everything in the target first (e.g. to re-run a broken copy)"
    )
    copy.set_defaults(handler=_db_copy)
    backup = db_commands.add_parser(
        "backup",
        help="back up the SQLite database into FILE while the bot runs (PostgreSQL: prints the pg_dump command)",
        description="Copy the SQLite database of DATABASE_URL into FILE with SQLite's online backup API: one "
        "consistent state, safe while `incidentbot serve` writes. For PostgreSQL it prints the pg_dump command "
        "to use and does nothing else.",
        parents=[common],
    )
    backup.add_argument("file", type=Path, metavar="FILE", help="the backup file to write")
    backup.add_argument("--force", action="store_true", help="replace FILE if it exists")
    backup.set_defaults(handler=_db_backup)
    restore = db_commands.add_parser(
        "restore",
        help="restore a SQLite backup into DATABASE_URL (stop the bot first)",
        description="Restore the SQLite backup FILE into the SQLite database of DATABASE_URL, after checking it "
        "(SQLite's integrity check, this incidentbot's schema revision), then compare both.",
        parents=[common],
    )
    restore.add_argument("file", type=Path, metavar="FILE", help="a backup written by `incidentbot db backup`")
    restore.add_argument("--force", action="store_true", help="replace a database that already holds data")
    restore.set_defaults(handler=_db_restore)

    serve = command("serve", "serve Slack over HTTP on POST /slack/events")
    serve.add_argument("--port", type=_port, default=3000, help="TCP port to listen on (default: 3000)")
    serve.add_argument("--host", default="0.0.0.0", help="address to listen on (default: 0.0.0.0, every interface)")
    serve.set_defaults(handler=_serve)

    doctor = command(
        "doctor",
        "check the set-up (settings, database, Slack token and scopes, channel, webhooks, SLOs, templates)",
    )
    doctor.add_argument(
        "--manifest",
        type=Path,
        default=None,
        help="the Slack app manifest whose scopes the token must have (default: ./manifest.yml)",
    )
    doctor.set_defaults(handler=None)

    queue = command("outbox", "deliveries waiting (Slack, PagerDuty, the tracker), or given up on (dead)")
    queue.add_argument("--status", choices=("pending", "dead"), default=None, help="only these items")
    queue.add_argument("--format", choices=formats, default="text", help="text (default) or json")
    queue.add_argument(
        "--retry", type=_item_id, metavar="ID", default=None, help="queue a dead item again (after fixing its cause)"
    )
    queue.set_defaults(handler=_outbox)

    socket = command(
        "socket", "connect to Slack in Socket Mode (needs SLACK_APP_TOKEN); /healthz and webhooks on --port"
    )
    socket.add_argument(
        "--port", type=_port, default=3000, help="HTTP port for /healthz and the webhooks (default: 3000)"
    )
    socket.add_argument("--host", default="0.0.0.0", help="address to listen on (default: 0.0.0.0, every interface)")
    socket.set_defaults(handler=_socket)
    return parser


def _include_private(sub: argparse.ArgumentParser) -> None:
    sub.add_argument(
        "--include-private",
        action="store_true",
        help="show private incidents' titles and details too (default: 'private incident' in their place)",
    )


def _check_private(incident: Incident, args: argparse.Namespace) -> None:
    """Refuse to print a private incident's timeline or postmortem without ``--include-private``."""
    if incident.private and not args.include_private:
        raise UsageError(
            f"{incident.incident_id} is a {PRIVATE_TITLE}: add --include-private to print its details "
            "(they are for its declarer, lead and IRT)."
        )


def _env_file(args: argparse.Namespace) -> str | None:
    """The settings file to read: an explicit ``--env-file`` must exist ('' reads none); by default .env if present."""
    given: str | None = getattr(args, "env_file", None)
    if given is None:
        return DEFAULT_ENV_FILE
    if given and Path(given).is_dir():
        raise ConfigError(
            f"--env-file {given}: a folder, not a file; name the settings file itself (e.g. {given}/.env)."
        )
    if given and not Path(given).is_file():
        raise ConfigError(f"--env-file {given}: no such file (leave the option out to read .env if there is one).")
    return given or None


def _database_label(settings: Settings) -> str:
    from bot.compose import database_label

    return database_label(settings.database_url)


def _incident_number(text: str) -> int:
    number = parse_incident_id(text)
    if number is None:
        raise UsageError(f"`{text}` is not an incident id; use INC-<number>, e.g. INC-7.")
    return number


def _usecases(settings: Settings, *, read_only: bool = False) -> UseCases:
    """The use cases on the configured database; ``read_only``: never create or migrate it (commands that read)."""
    from bot.compose import build_usecases

    return build_usecases(settings, read_only=read_only)


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    from bot.cli.demo import run_demo
    from bot.compose import open_usecases

    if args.keep is not None and not str(args.keep).strip():
        raise UsageError("demo --keep needs a file name, e.g. `incidentbot demo --keep demo.db`.")
    run_demo(sys.stdout, open_usecases, keep=Path(args.keep) if args.keep is not None else None)
    return 0


def _run(args: argparse.Namespace, settings: Settings) -> int:
    from bot.usecases.shared import Actor, utc_now
    from bot.views.replies import slo_text, status_text

    actor = parse_cli_person(args.user)
    if actor is None:
        # Printed as typed: for_terminal would turn a typed `<@U0123ABC>` into the valid-looking `@U0123ABC`.
        print(
            f"incidentbot: `--user {args.user[:40]}` is not a name; use e.g. `--user @alice` or a Slack user id "
            "such as `--user U0123ABC` (not @here, @channel or @everyone).",
            file=sys.stderr,
        )
        return EXIT_USAGE
    command = parse_command(args.text, names=True)
    action = command.action
    if isinstance(action, ShowHelp):
        print(plain_help(action.verb))
        return 0
    if command.incident_number is None and not isinstance(action, (Declare, ListIncidents, ShowSlo, ListFollowups)):
        verb = clean_text(args.text).split()[0].lower()
        raise UsageError(
            f'Name the incident first (there is no channel to imply it here): `incidentbot run "INC-7 {verb} ..."`; '
            "`incidentbot list` shows them."
        )
    # In a terminal `postmortem` prints the draft (in Slack it queues an upload): every query only reads here.
    usecases = _usecases(settings, read_only=not command.changes_state and not isinstance(action, PublishPostmortem))
    now = utc_now()
    # Answered as --user would be in Slack outside the incident's channel: a private incident for its members.
    reads_one = isinstance(action, ShowStatus | ShowTimeline | ExportPostmortem | ListFollowups)
    if reads_one and command.incident_number is not None:
        check_may_see(usecases.incidents.get(command.incident_number), actor)
    if isinstance(action, ShowHelp):
        print(plain_help(action.verb))
    elif isinstance(action, ListIncidents):
        print(_list_text(usecases.incidents.summaries_seen_by(actor), now, settings))
    elif isinstance(action, ShowStatus):
        incident, entries = usecases.incidents.timeline(command.incident_number)
        names = collect_names(entries)
        _, review = usecases.incidents.review(incident.number)
        update = usecases.incidents.latest_update(incident.number)
        print(status_text(incident, now, plain_mention(names), plain_references(names), review, update))
    elif isinstance(action, ShowTimeline):
        print(_timeline_text(*usecases.incidents.timeline(command.incident_number)))
    elif isinstance(action, ShowSlo):
        print(slo_text(usecases.budgets, action.service))
    elif isinstance(action, ExportPostmortem):
        from bot.views.postmortem import PostmortemRenderer

        renderer = PostmortemRenderer(settings.templates_dir)
        print(renderer.render(usecases.incidents.postmortem(command.incident_number), action.template), end="")
    elif isinstance(action, ListFollowups):
        found = usecases.followups.listing(command.incident_number)
        if command.incident_number is None:  # every incident's: a private one's without their text
            found = replace(found, items=[hidden_listing(item) for item in found.items])
        print(_followups_text(found, now))
    elif isinstance(action, PublishPostmortem):
        from bot.views.postmortem import PostmortemRenderer

        renderer = PostmortemRenderer(settings.templates_dir)
        if "git" in usecases.publishing.targets:
            renderer.check()  # a template that does not compile is refused now, not in the outbox
        if "confluence" in usecases.publishing.targets:
            renderer.check_storage()
        incident, targets = usecases.publishing.request(Actor(actor), command.incident_number)
        where = " and ".join(PUBLICATION_TARGETS[t] for t in targets)
        print(
            f"Queued the publication of {incident.incident_id}'s postmortem to {where}; a running "
            "`incidentbot serve` publishes it and records each publication on the timeline.",
            file=sys.stderr,
        )
    else:
        try:
            _change(usecases, settings, command, Actor(actor))
        except BotError as exc:
            return refused(exc, _recorded_names(usecases.incidents, command.incident_number, exc))
    return 0


def _recorded_names(usecases: IncidentUseCases, number: int | None, exc: BotError) -> dict[str, str]:
    """The names Slack told us for INC-``number``'s people (its timeline's ``names``), read only when
    the refusal names someone whose name it does not carry; {} when there is nothing to read."""
    if number is None or all(not isinstance(part, Person) or part.name for part in exc.parts):
        return {}
    try:
        return collect_names(usecases.timeline(number)[1])
    except BotError:
        return {}


SLACK_NOT_CONFIGURED = (
    "{incident} has a Slack channel, but Slack is not configured here (SLACK_BOT_TOKEN is not set): "
    "its status message, topic and channel were not told of this change."
)


def _change(usecases: UseCases, settings: Settings, command: ParsedCommand, actor: Actor) -> None:
    """Apply a state-changing command; with Slack configured, queue the Slack updates it owes.

    The plan is the one the Slack command uses (status message, topic, a line in the channel,
    invitations...), queued in the same transaction and delivered by a running ``incidentbot
    serve``; an incident without a channel (declared here without Slack) first gets the one its
    declaration would have opened. Without SLACK_BOT_TOKEN no Slack update is queued, and if the incident
    has a channel, one line on stderr says Slack did not hear of it. Whatever was queued (Slack updates,
    tracker filings, PagerDuty calls) is told on stderr by destination (``queued_summary``).
    """
    from bot.views.replies import confirmation

    queued: list[Effect] = []  # every effect the committed transaction queued: Slack's, the tracker's, paging

    def remember(effects: Sequence[Effect]) -> None:
        queued[:] = effects  # a retried transaction queues again: the last attempt is the one that committed

    usecases.incidents.transactions.on_queued = remember
    if settings.slack_bot_token.get():
        from bot.app import slack_change_plan

        plan = slack_change_plan(usecases, command.incident_number, actor)
        outcome = usecases.incidents.run(command, actor, plan=plan)
        opening = plan.opening
    else:
        outcome = usecases.incidents.run(command, actor)
        opening = False
    # People by the names Slack told us, in this change or earlier on the incident (`@bob`, not `@U0BOB`).
    names = {
        **collect_names(usecases.incidents.timeline(outcome.incident.number)[1]),
        **collect_names(outcome.entries),
    }
    print(for_terminal(confirmation(outcome, plain_mention(names), plain_references(names)), names))
    incident = outcome.incident
    action = command.action
    if isinstance(action, SetService) and usecases.budgets.slos.slos and usecases.budgets.slos.get(action.name) is None:
        print(
            f"Note: {action.name} has no SLO in {settings.slo_file}, so {incident.incident_id} charges no error "
            "budget; add it there to track one.",
            file=sys.stderr,
        )
    if not settings.slack_bot_token.get() and incident.channel_id:
        print(SLACK_NOT_CONFIGURED.format(incident=incident.incident_id), file=sys.stderr)
    if queued:
        first = (
            ", starting with its channel (it had none: it is created, its Slack users invited, the status "
            "message posted and pinned)"
            if opening
            else ""
        )
        print(
            f"Queued {queued_summary([e.kind for e in queued])} for {incident.incident_id}{first}; a running "
            "`incidentbot serve` delivers them (`incidentbot outbox` lists what is waiting).",
            file=sys.stderr,
        )


_QUEUED_NAMES = (
    ("slack.", "Slack update(s)"),
    ("tracker.file", "tracker filing(s)"),
    ("tracker.comment", "tracker comment(s)"),
    ("tracker.", "tracker update(s)"),
    ("pagerduty.", "PagerDuty update(s)"),
    ("statuspage.", "status page update(s)"),
)
"""How ``queued_summary`` names effects by kind, first match wins, in the order they are told."""


def queued_summary(kinds: Sequence[str]) -> str:
    """What outbox effect ``kinds`` (``slack.refresh``, ``tracker.file``...) are, counted by destination:
    ``["slack.refresh", "slack.post_line", "tracker.file"]`` -> ``2 Slack update(s) and 1 tracker
    filing(s)``. A destination not named here is told by its prefix (``email.send`` -> ``1 email
    update(s)``), after the named ones. Empty for no kinds."""
    counts: dict[str, int] = {}
    others: dict[str, int] = {}
    for kind in kinds:
        name = next((name for prefix, name in _QUEUED_NAMES if kind.startswith(prefix)), None)
        if name is None:
            name = f"{kind.partition('.')[0]} update(s)"
            others[name] = others.get(name, 0) + 1
        else:
            counts[name] = counts.get(name, 0) + 1
    ordered = [(name, counts[name]) for _, name in _QUEUED_NAMES if name in counts]
    parts = [f"{count} {name}" for name, count in [*ordered, *sorted(others.items())]]
    if not parts:
        return ""
    return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"


def _timeline_text(incident: Incident, entries: Sequence[TimelineEntry]) -> str:
    """The timeline for a terminal: people as @name, Slack references as typed."""
    from bot.views.replies import timeline_text

    names = collect_names(entries)
    return timeline_text(incident, entries, plain_mention(names), plain_references(names))


def _timeline(args: argparse.Namespace, settings: Settings) -> int:
    incidents = _usecases(settings, read_only=True).incidents
    number = _incident_number(args.incident)
    if args.format == "json":  # written while read: a timeline of any length in bounded memory
        from bot.views.shapes import timeline_file

        with incidents.streamed_timeline(number) as (incident, names, stream):
            _check_private(incident, args)
            for piece in timeline_file(incident, names, stream):
                sys.stdout.write(piece)
        return 0
    incident, entries = incidents.timeline(number)
    _check_private(incident, args)
    print(_timeline_text(incident, entries))
    return 0


def _postmortem(args: argparse.Namespace, settings: Settings) -> int:
    from bot.views.postmortem import PostmortemRenderer

    usecases = _usecases(settings, read_only=True)
    renderer = PostmortemRenderer(settings.templates_dir)
    number = _incident_number(args.incident)
    _check_private(usecases.incidents.get(number), args)
    document = renderer.render(usecases.incidents.postmortem(number), args.template)
    if args.out is None:
        print(document, end="")
        return 0
    try:
        args.out.write_text(document, encoding="utf-8")
    except OSError as exc:
        raise BotError(f"Cannot write {args.out}: {exc.strerror}") from exc
    print(f"Wrote {args.out}", file=sys.stderr)
    return 0


def _list(args: argparse.Namespace, settings: Settings) -> int:
    from bot.usecases.shared import utc_now

    statuses = [Status(s) for s in args.status] if args.status else None
    from bot.compose import listed_incidents  # Core reads: no ORM (issue 18, target 3)

    summaries = listed_incidents(settings, statuses, args.limit)
    if not args.include_private:
        summaries = [hidden_summary(s) for s in summaries]
    if args.format == "json":
        from bot.views.shapes import summary_json

        print(json.dumps({"incidents": [summary_json(s) for s in summaries]}, indent=2, ensure_ascii=False))
    else:
        print(_list_text(summaries, utc_now(), settings, statuses))
    return 0


def _list_text(
    summaries: Sequence[IncidentSummary], now: datetime, settings: Settings, statuses: Sequence[Status] | None = None
) -> str:
    """The listing; an empty one names the database it read (so a wrong DATABASE_URL shows itself)."""
    from bot.views.replies import list_text

    if summaries:
        return list_text(summaries, now, escape=plain_references({}))
    which = f" with status {', '.join(s.value for s in statuses)}" if statuses else ""
    return f"No incidents{which} in {_database_label(settings)}."


def _followups_text(found: FollowupList, now: datetime) -> str:
    """The list for a terminal: people as @name, Slack references and commands as typed here."""
    from bot.views.followups import followups_text

    return for_terminal(
        followups_text(found, now.date(), plain_mention(found.names), plain_references(found.names)), found.names
    )


def _followups(args: argparse.Namespace, settings: Settings) -> int:
    from bot.usecases.shared import utc_now
    from bot.views.followups import followups_csv, followups_json

    number = _incident_number(args.incident) if args.incident is not None else None
    owner = None
    if args.owner is not None:
        owner = parse_cli_person(args.owner)
        if owner is None:
            raise UsageError(
                f"`--owner {args.owner[:40]}` is not a person; use e.g. `--owner @bob` or a Slack user id "
                "such as `--owner U0123ABC`."
            )
    found = _usecases(settings, read_only=True).followups.listing(number, open_only=args.open, owner=owner)
    if not args.include_private:
        found = replace(found, items=[hidden_listing(item) for item in found.items])
    now = utc_now()
    if not found.items and args.format == "text" and (args.open or owner is not None):
        which = ", ".join(([] if not args.open else ["open"]) + ([] if owner is None else [f"owned by @{owner}"]))
        where = found.incident_id or _database_label(settings)
        print(f"No follow-ups ({which}) in {where}.")
        return 0
    if args.format == "json":
        print(followups_json(found, now.date()))
    elif args.format == "csv":
        print(followups_csv(found, now.date()), end="")
    else:
        print(_followups_text(found, now))
    return 0


def _slo(args: argparse.Namespace, settings: Settings) -> int:
    from bot.views.replies import slo_text
    from bot.views.shapes import budget_json

    usecases = _usecases(settings, read_only=True)
    if args.format == "text":
        print(slo_text(usecases.budgets, args.service))
        return 0
    reports = usecases.budgets.reports(args.service)
    print(json.dumps({"services": [budget_json(r) for r in reports]}, indent=2))
    return 0


def _report(args: argparse.Namespace, settings: Settings) -> int:
    from bot.usecases.shared import utc_now
    from bot.views.reports import (
        build_report,
        chart_format_for,
        parse_since,
        render_csv,
        render_json,
        render_text,
        write_chart,
    )

    chart_format = chart_format_for(args.chart) if args.chart is not None else None  # refused before any work
    usecases = _usecases(settings, read_only=True)
    now = utc_now()
    since = now - parse_since(args.since)
    report = build_report(
        usecases.incidents.with_timelines(since),
        usecases.budgets.slos,
        since,
        now,
        hide_private=not args.include_private,
    )
    print(
        {"text": render_text, "json": render_json, "csv": render_csv}[args.format](report),
        end="" if args.format == "csv" else "\n",
    )
    if args.format == "text" and not report.incidents:
        print(f"(no incidents declared in this period in {_database_label(settings)})")
    if args.chart is not None and chart_format is not None:
        try:
            write_chart(report, args.chart, chart_format)
        except OSError as exc:
            raise BotError(f"Cannot write {args.chart}: {exc.strerror}") from exc
        print(f"Wrote {args.chart}", file=sys.stderr)
    return 0


def _db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    from bot.compose import upgrade_database

    print(f"Database schema at revision {upgrade_database(settings)}.")
    return 0


def _db_copy(args: argparse.Namespace, settings: Settings) -> int:
    import logging

    from bot.cli.progress import ProgressBar
    from bot.compose import copy_data

    # psycopg logs "error ignored terminating <Pipeline ...>" when Ctrl-C lands inside a batch insert: the
    # interruption is reported by its own line (CopyInterrupted), the driver's aftermath is noise.
    logging.getLogger("psycopg").setLevel(logging.ERROR)
    with ProgressBar() as bar:
        report = copy_data(
            args.source or settings.database_url,
            args.to,
            force=args.force,
            progress=bar.update,
            source_option="DATABASE_URL" if args.source is None else "--from",
            checking=bar.checking,
        )
    incidents = report.counts.get("incidents", 0)
    print(f"Copied {report.source} to {report.target} (schema revision {report.revision}) in {report.seconds:.1f} s:")
    print(_table_counts(report.counts))
    print(
        f"Checked: the row counts of {len(report.counts)} tables and the timelines of {_incidents(incidents)} "
        f"match. The next incident there is INC-{report.next_incident}."
    )
    password = " (with its password)" if ":***@" in report.target_url else ""
    # report.target_url: bot.store.copy.printable_url, the query string as typed, ":***" for a password
    print(f"Next: point DATABASE_URL at {report.target_url}{password} and start the bot there.")
    return 0


def _incidents(count: int) -> str:
    return "1 incident" if count == 1 else f"{count:,} incidents"


def _table_counts(counts: Mapping[str, int]) -> str:
    width = max((len(name) for name in counts), default=0)
    return "\n".join(f"  {name:<{width}}  {count:>12,}" for name, count in counts.items())


def _db_backup(args: argparse.Namespace, settings: Settings) -> int:
    from bot.compose import backup_data

    report = backup_data(settings, args.file, force=args.force)
    if isinstance(report, str):
        print("DATABASE_URL is PostgreSQL: back it up with pg_dump (nothing was done):")
        print(f"  {report}")
        print(
            "pg_dump asks for the password, or reads PGPASSWORD or ~/.pgpass; restore with "
            "`pg_restore --clean --if-exists --no-owner --dbname URL FILE`."
        )
        return 0
    incidents = report.counts.get("incidents", 0)
    entries = report.counts.get("timeline_entries", 0)
    print(
        f"Backed up {report.database} into {report.file} (schema revision {report.revision}, integrity ok): "
        f"{_incidents(incidents)}, {entries:,} timeline entries, in {report.seconds:.1f} s."
    )
    return 0


def _db_restore(args: argparse.Namespace, settings: Settings) -> int:
    from bot.compose import restore_data

    report = restore_data(settings, args.file, force=args.force)
    print(f"Restored {report.file} into {report.database} (schema revision {report.revision}):")
    print(_table_counts(report.counts))
    print(
        f"Checked: the row counts of {len(report.counts)} tables and the timelines of "
        f"{_incidents(report.counts.get('incidents', 0))} match the backup."
    )
    return 0


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from bot.app import serve_http

    settings.require("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET")
    serve_http(settings, host=args.host, port=args.port)
    return 0


def _doctor(args: argparse.Namespace) -> int:
    """Print the checklist of ``bot.doctor``; exit 0 when no check failed, 1 otherwise."""
    from bot import doctor
    from bot.log import configure_logging

    configure_logging("console", "CRITICAL")  # the checklist says it all; no library chatter
    checks, healthy = doctor.run(_env_file(args), args.manifest)
    print(doctor.render(checks))
    return 0 if healthy else EXIT_ERROR


def _outbox(args: argparse.Namespace, settings: Settings) -> int:
    usecases = _usecases(settings, read_only=args.retry is None)
    if args.retry is not None:
        if not usecases.outbox.revive(args.retry):
            raise BotError(f"There is no dead outbox item #{args.retry}.")
        print(f"Outbox item #{args.retry} is queued again; a running bot delivers it shortly.")
        return 0
    items = usecases.outbox.items(args.status, limit=1000)
    if args.format == "json":
        print(json.dumps({"items": [_outbox_json(item) for item in items]}, indent=2, ensure_ascii=False))
        return 0
    print("\n".join(outbox_lines(items)) or _empty_outbox(usecases, settings, args.status))
    return 0


OUTBOX_GAP = "  "
"""What separates two columns of ``incidentbot outbox``."""


def outbox_lines(items: Sequence[OutboxItem]) -> list[str]:
    """``incidentbot outbox`` as text, one line per item: ``#id``, status, kind, subject (``INC-1 follow-up
    2``), ``attempts=N``, ``next=<UTC time>`` (none for a dead item) and the last error, each column as wide
    as its widest value in ``items`` and separated by two spaces, so every column starts at one offset. A
    column empty on every line (``next`` of a dead-only listing, no errors) is left out; no trailing blanks."""
    rows = [
        [f"#{i.id}", i.status, i.kind, _outbox_subject(i), f"attempts={i.attempts}", _next_attempt(i), i.last_error]
        for i in items
    ]
    kept = [c for c in range(len(rows[0])) if any(row[c] for row in rows)] if rows else []
    widths = {c: max(len(row[c]) for row in rows) for c in kept}
    last = kept[-1] if kept else None
    return [OUTBOX_GAP.join(row[c] if c == last else row[c].ljust(widths[c]) for c in kept).rstrip() for row in rows]


def _empty_outbox(usecases: UseCases, settings: Settings, status: str | None) -> str:
    """What an empty listing means. Slack is up to date only if nothing waits, nothing was given up on,
    and this environment could have queued Slack updates at all."""
    where = f" (database: {_database_label(settings)})"
    if status == "dead":
        return f"No outbox item has been given up on{where}."
    if status == "pending" and usecases.outbox.items("dead", limit=1):
        return (
            f"Nothing is waiting for delivery{where}, but some items were given up on: "
            "`incidentbot outbox --status dead`."
        )
    if not settings.slack_bot_token.get():
        return (
            f"The outbox is empty{where}. Slack is not configured here (SLACK_BOT_TOKEN is not set), so changes "
            "made with `incidentbot run` in this environment were recorded in the database only."
        )
    return f"The outbox is empty{where}: Slack is up to date."


def _outbox_subject(item: OutboxItem) -> str:
    """What an item is about: ``INC-3``, ``INC-3 follow-up 2`` for one carrying a follow-up's number (a
    ``tracker.file``), ``-`` for none."""
    if not item.incident_number:
        return "-"
    followup = _outbox_followup(item)
    return f"INC-{item.incident_number}" + (f" follow-up {followup}" if followup is not None else "")


def _outbox_followup(item: OutboxItem) -> int | None:
    followup = item.payload.get("followup")
    return followup if isinstance(followup, int) and not isinstance(followup, bool) else None


def _next_attempt(item: OutboxItem) -> str:
    """``next=<UTC time>`` for an item still owed; "" for a dead one, which is never attempted again."""
    return "" if item.status == "dead" else f"next={format_iso(item.next_attempt_at)}"


def _outbox_json(item: OutboxItem) -> dict[str, Any]:
    return {
        "id": item.id,
        "status": item.status,
        "kind": item.kind,
        "incident": f"INC-{item.incident_number}" if item.incident_number else None,
        "followup": _outbox_followup(item),
        "attempts": item.attempts,
        "next_attempt_at": None if item.status == "dead" else format_iso(item.next_attempt_at),
        "last_error": item.last_error,
        "created_at": format_iso(item.created_at),
    }


def _socket(args: argparse.Namespace, settings: Settings) -> int:
    from bot.app import serve_socket_mode

    settings.require("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN")
    serve_socket_mode(settings, host=args.host, port=args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
