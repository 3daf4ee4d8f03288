"""The ``incidentbot`` command line: demo, run, timeline, postmortem, list, db upgrade, serve, socket, doctor.

Expected failures exit non-zero with one clear line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog

from bot.config import Settings, load_settings
from bot.domain.commands import (
    Declare,
    ExportPostmortem,
    ListIncidents,
    ParsedCommand,
    ShowHelp,
    ShowSlo,
    ShowStatus,
    ShowTimeline,
)
from bot.domain.grammar import clean_text, help_text, parse_cli_person, parse_command
from bot.domain.model import Incident, Status, TimelineEntry, parse_incident_id
from bot.domain.slo import BudgetReport
from bot.domain.timeline import collect_names, plain_mention, plain_references
from bot.domain.timeparse import format_iso
from bot.errors import BotError, UsageError
from bot.log import configure_logging
from bot.store import open_store
from bot.store.incidents import IncidentSummary
from bot.store.outbox import Effect, OutboxItem
from bot.usecases.shared import Actor, Outcome, utc_now
from bot.views.postmortem import PostmortemRenderer
from bot.views.replies import confirmation, list_text, slo_text, status_text, timeline_text

if TYPE_CHECKING:  # bot.app (the composition root) is imported when a command needs it
    from bot.app import UseCases

log = structlog.get_logger("incidentbot.cli")

EXIT_ERROR = 1
EXIT_USAGE = 2


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``incidentbot`` script."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "doctor":  # reads the settings itself: a bad one is a line of its checklist
        return _doctor(args)
    settings: Settings | None = None
    try:
        settings = load_settings(env_file=args.env_file)
        configure_logging(settings.log_format, "WARNING" if args.command in _QUIET else settings.log_level)
        handler: Callable[[argparse.Namespace, Settings], int] = args.handler
        return handler(args, settings)
    except UsageError as exc:
        usage = f'\nUsage: incidentbot run "{exc.usage}"' if exc.usage else ""
        print(f"incidentbot: {for_terminal(exc.user_message)}{usage}", file=sys.stderr)
        return EXIT_USAGE
    except BotError as exc:
        if args.command in _SERVERS and _json_logs(settings):
            # A server asked for JSON logs: its failure to start is one more JSON line, not plain text.
            configure_logging("json", settings.log_level if settings else "INFO")
            log.error("start_failed", error=exc.user_message)
        else:
            print(f"incidentbot: {for_terminal(exc.user_message)}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_ERROR


_SLACK_COMMAND = re.compile(r"`/incident ([^`]*)`")


def for_terminal(text: str, names: Mapping[str, str] | None = None) -> str:
    """A message written for Slack as a terminal user reads and types it.

    ```/incident INC-7 reopen <reason>``` -> ```incidentbot run "INC-7 reopen <reason>"```, and
    ``<@U0BOB|bob>`` -> ``@bob`` (``@U0BOB`` when the name is unknown), ``<#C0123|general>`` -> ``#general``.
    """
    text = _SLACK_COMMAND.sub(lambda match: f'`incidentbot run "{match.group(1)}"`', text)
    return plain_references(dict(names or {}))(text)


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


_QUIET = {"demo", "timeline", "postmortem", "list", "run", "outbox", "slo", "report"}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="incidentbot", description="Incident-management ChatOps bot for Slack.")
    parser.add_argument("--env-file", default=".env", help="read settings from this file too (default: .env)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser("demo", help="replay the CDN outage into a throwaway SQLite database, offline")
    demo.set_defaults(handler=_demo)

    run = commands.add_parser("run", help="run one /incident command, e.g. 'INC-1 note checking the WAF'")
    run.add_argument("text", help="the command text, exactly as after /incident in Slack")
    run.add_argument(
        "--user",
        default="cli",
        help="who is acting, recorded on the timeline: @name, or a Slack user id such as U0123ABC (default: cli)",
    )
    run.set_defaults(handler=_run)

    timeline = commands.add_parser("timeline", help="print an incident's timeline")
    timeline.add_argument("incident", help="INC-n")
    timeline.add_argument("--format", choices=("text", "json"), default="text")
    timeline.set_defaults(handler=_timeline)

    postmortem = commands.add_parser("postmortem", help="render an incident's postmortem draft (Markdown)")
    postmortem.add_argument("incident", help="INC-n")
    postmortem.add_argument("--template", default=None, help="template name (default: postmortem)")
    postmortem.add_argument("--out", type=Path, default=None, help="write to this file instead of stdout")
    postmortem.set_defaults(handler=_postmortem)

    listing = commands.add_parser("list", help="list incidents, newest first")
    listing.add_argument(
        "--status", action="append", choices=[s.value for s in Status], help="only these statuses (repeatable)"
    )
    listing.add_argument("--format", choices=("text", "json"), default="text")
    listing.add_argument("--limit", type=int, default=200)
    listing.set_defaults(handler=_list)

    slo = commands.add_parser("slo", help="error budgets: remaining in the window, burn by incident")
    slo.add_argument("service", nargs="?", default=None, help="one service (default: every catalogued one)")
    slo.add_argument("--format", choices=("text", "json"), default="text")
    slo.set_defaults(handler=_slo)

    report = commands.add_parser("report", help="incident statistics: counts, time to mitigate/resolve, budgets")
    report.add_argument("--since", default="90d", help="how far back: 90d, 12w, 6m (months of 30 days)")
    report.add_argument("--format", choices=("text", "json", "csv"), default="text")
    report.add_argument("--chart", type=Path, default=None, metavar="FILE.png", help="also draw a PNG chart")
    report.set_defaults(handler=_report)

    database = commands.add_parser("db", help="database maintenance")
    db_commands = database.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    upgrade = db_commands.add_parser("upgrade", help="apply schema migrations (also done on start)")
    upgrade.set_defaults(handler=_db_upgrade)

    serve = commands.add_parser("serve", help="serve Slack over HTTP on POST /slack/events")
    serve.add_argument("--port", type=int, default=3000)
    serve.add_argument("--host", default="0.0.0.0")
    serve.set_defaults(handler=_serve)

    doctor = commands.add_parser(
        "doctor",
        help="check the set-up (settings, database, Slack token and scopes, channel, webhooks, SLOs, templates)",
    )
    doctor.add_argument(
        "--manifest",
        type=Path,
        default=None,
        help="the Slack app manifest whose scopes the token must have (default: ./manifest.yml)",
    )
    doctor.set_defaults(handler=None)

    queue = commands.add_parser("outbox", help="Slack calls waiting for delivery, or given up on (dead)")
    queue.add_argument("--status", choices=("pending", "dead"), default=None, help="only these items")
    queue.add_argument("--format", choices=("text", "json"), default="text")
    queue.add_argument(
        "--retry", type=int, metavar="ID", default=None, help="queue a dead item again (after fixing its cause)"
    )
    queue.set_defaults(handler=_outbox)

    socket = commands.add_parser(
        "socket", help="connect to Slack in Socket Mode (needs SLACK_APP_TOKEN); /healthz and webhooks on --port"
    )
    socket.add_argument("--port", type=int, default=3000, help="HTTP port for /healthz and the webhooks")
    socket.add_argument("--host", default="0.0.0.0")
    socket.set_defaults(handler=_socket)
    return parser


def _incident_number(text: str) -> int:
    number = parse_incident_id(text)
    if number is None:
        raise UsageError(f"`{text}` is not an incident id; use INC-<number>, e.g. INC-7.")
    return number


def _usecases(settings: Settings) -> UseCases:
    from bot.app import build_usecases

    return build_usecases(settings)


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    from bot.cli.demo import run_demo

    run_demo(sys.stdout)
    return 0


def _run(args: argparse.Namespace, settings: Settings) -> int:
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
    if command.incident_number is None and not isinstance(action, (Declare, ListIncidents, ShowSlo, ShowHelp)):
        verb = clean_text(args.text).split()[0].lower()
        raise UsageError(
            f'Name the incident first (there is no channel to imply it here): `incidentbot run "INC-7 {verb} ..."`; '
            "`incidentbot list` shows them."
        )
    usecases = _usecases(settings)
    renderer = PostmortemRenderer(settings.templates_dir)
    now = utc_now()
    if isinstance(action, ShowHelp):
        print(plain_help(action.verb))
    elif isinstance(action, ListIncidents):
        print(list_text(usecases.incidents.summaries(), now))
    elif isinstance(action, ShowStatus):
        incident, entries = usecases.incidents.timeline(command.incident_number)
        names = collect_names(entries)
        print(status_text(incident, now, plain_mention(names), plain_references(names)))
    elif isinstance(action, ShowTimeline):
        print(_timeline_text(*usecases.incidents.timeline(command.incident_number)))
    elif isinstance(action, ShowSlo):
        print(slo_text(usecases.budgets, action.service))
    elif isinstance(action, ExportPostmortem):
        print(renderer.render(usecases.incidents.postmortem(command.incident_number), action.template), end="")
    else:
        _change(usecases, settings, command, Actor(actor))
    return 0


SLACK_NOT_CONFIGURED = (
    "{incident} has a Slack channel, but Slack is not configured here (SLACK_BOT_TOKEN is not set): "
    "its status message, topic and channel were not told of this change."
)


def _change(usecases: UseCases, settings: Settings, command: ParsedCommand, actor: Actor) -> None:
    """Apply a state-changing command; with Slack configured, queue the Slack updates it owes.

    The plan is the one the Slack command uses (status message, topic, a line in the channel,
    invitations...), queued in the same transaction and delivered by a running ``incidentbot
    serve``; an incident without a channel (declared here without Slack) first gets the one its
    declaration would have opened. Without SLACK_BOT_TOKEN nothing is queued, and if the incident
    has a channel, one line on stderr says Slack did not hear of it.
    """
    queued: list[Effect] = []
    opening: list[bool] = [False]
    plan = None
    if settings.slack_bot_token.get():
        from bot.slack.delivery import SlackEffect, open_channel_effects, plan_effects

        number = command.incident_number
        channel_coming = number is not None and usecases.outbox.is_pending(SlackEffect.CREATE_CHANNEL, number)

        def plan(outcome: Outcome) -> list[Effect]:
            # An incident declared where Slack was not configured has no channel: open it now, as declare would.
            opening[0] = not outcome.declared and outcome.incident.channel_id is None and not channel_coming
            planned = open_channel_effects(outcome, actor) if opening[0] else plan_effects(outcome, actor)
            queued[:] = planned  # a retried transaction plans again: keep the last
            return queued

    outcome = usecases.incidents.run(command, actor, plan=plan)
    names = collect_names(outcome.entries)
    print(for_terminal(confirmation(outcome, plain_mention(names), plain_references(names)), names))
    incident = outcome.incident
    if plan is None and incident.channel_id:
        print(SLACK_NOT_CONFIGURED.format(incident=incident.incident_id), file=sys.stderr)
    elif queued:
        first = (
            ", starting with its channel (it had none: it is created, its Slack users invited, the status "
            "message posted and pinned)"
            if opening[0]
            else ""
        )
        print(
            f"Queued {len(queued)} Slack update(s) for {incident.incident_id}{first}; a running `incidentbot serve` "
            "delivers them (`incidentbot outbox` lists what is waiting).",
            file=sys.stderr,
        )


def _timeline_text(incident: Incident, entries: Sequence[TimelineEntry]) -> str:
    """The timeline for a terminal: people as @name, Slack references as typed."""
    names = collect_names(entries)
    return timeline_text(incident, entries, plain_mention(names), plain_references(names))


def _timeline(args: argparse.Namespace, settings: Settings) -> int:
    incident, entries = _usecases(settings).incidents.timeline(_incident_number(args.incident))
    if args.format == "json":
        names = collect_names(entries)
        document = {
            "incident": incident.incident_id,
            "title": incident.title,
            "status": incident.status.value,
            "severity": incident.severity.value,
            "entries": [_entry_json(e, names) for e in entries],
        }
        print(json.dumps(document, indent=2, ensure_ascii=False))
    else:
        print(_timeline_text(incident, entries))
    return 0


def _entry_json(entry: TimelineEntry, names: Mapping[str, str]) -> dict[str, Any]:
    from bot.domain.timeline import describe

    return {
        "kind": entry.kind.value,
        "occurred_at": format_iso(entry.occurred_at),
        "recorded_at": format_iso(entry.recorded_at),
        "actor": entry.actor,
        "text": entry.text,
        "description": describe(entry, plain_mention(dict(names)), plain_references(dict(names))),
        "data": entry.data,
    }


def _postmortem(args: argparse.Namespace, settings: Settings) -> int:
    usecases = _usecases(settings)
    renderer = PostmortemRenderer(settings.templates_dir)
    document = renderer.render(usecases.incidents.postmortem(_incident_number(args.incident)), args.template)
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
    statuses = [Status(s) for s in args.status] if args.status else None
    summaries = _usecases(settings).incidents.summaries(statuses, args.limit)
    if args.format == "json":
        print(json.dumps({"incidents": [_summary_json(s) for s in summaries]}, indent=2, ensure_ascii=False))
    else:
        print(list_text(summaries, utc_now()))
    return 0


def _summary_json(summary: IncidentSummary) -> dict[str, Any]:
    return {
        "incident": f"INC-{summary.number}",
        "title": summary.title,
        "severity": summary.severity.value,
        "status": summary.status.value,
        "lead": summary.lead,
        "channel_id": summary.channel_id,
        "declared_at": format_iso(summary.declared_at),
        "resolved_at": format_iso(summary.resolved_at) if summary.resolved_at else None,
    }


def _slo(args: argparse.Namespace, settings: Settings) -> int:
    usecases = _usecases(settings)
    if args.format == "text":
        print(slo_text(usecases.budgets, args.service))
        return 0
    reports = usecases.budgets.reports(args.service)
    print(json.dumps({"services": [_budget_json(r) for r in reports]}, indent=2))
    return 0


def _budget_json(report: BudgetReport) -> dict[str, Any]:
    slo = report.slo
    return {
        "service": slo.service,
        "objective_percent": slo.objective_percent,
        "window_days": slo.window.days,
        "budget_minutes": _minutes(slo.budget),
        "consumed_minutes": _minutes(report.consumed),
        "remaining_minutes": _minutes(report.remaining),
        "exhausted": report.exhausted,
        "policy": report.policy() if report.exhausted else None,
        "incidents": [
            {
                "incident": b.incident_id,
                "bad_minutes": _minutes(b.bad_time),
                "percent_of_budget": round(b.percent_of_budget, 1),
            }
            for b in report.burns
        ],
    }


def _minutes(delta: timedelta) -> float:
    return round(delta.total_seconds() / 60, 2)


_SINCE = {"d": 1, "w": 7, "m": 30}


def _since(text: str) -> timedelta:
    value, unit = text[:-1], text[-1:].lower()
    if not value.isdigit() or unit not in _SINCE or not 0 < int(value) <= 3650:
        raise UsageError(f"`--since {text}` is not a period; use e.g. 90d, 12w or 6m.")
    return timedelta(days=int(value) * _SINCE[unit])


def _report(args: argparse.Namespace, settings: Settings) -> int:
    from bot.views.reports import build_report, render_csv, render_json, render_text, write_chart

    usecases = _usecases(settings)
    now = utc_now()
    since = now - _since(args.since)
    report = build_report(usecases.incidents.with_timelines(since), usecases.budgets.slos, since, now)
    print(
        {"text": render_text, "json": render_json, "csv": render_csv}[args.format](report),
        end="" if args.format == "csv" else "\n",
    )
    if args.chart is not None:
        try:
            write_chart(report, args.chart)
        except OSError as exc:
            raise BotError(f"Cannot write {args.chart}: {exc.strerror}") from exc
        print(f"Wrote {args.chart}", file=sys.stderr)
    return 0


def _db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    from bot.store.migrate import current_revision

    store = open_store(settings.database_url)
    print(f"Database schema at revision {current_revision(store.engine)}.")
    return 0


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from bot.app import serve_http

    settings.require("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET")
    serve_http(settings, host=args.host, port=args.port)
    return 0


def _doctor(args: argparse.Namespace) -> int:
    """Print the checklist of ``bot.cli.doctor``; exit 0 when no check failed, 1 otherwise."""
    from bot.cli import doctor

    configure_logging("console", "CRITICAL")  # the checklist says it all; no library chatter
    checks, healthy = doctor.run(args.env_file, args.manifest)
    print(doctor.render(checks))
    return 0 if healthy else EXIT_ERROR


def _outbox(args: argparse.Namespace, settings: Settings) -> int:
    usecases = _usecases(settings)
    if args.retry is not None:
        if not usecases.outbox.revive(args.retry):
            raise BotError(f"There is no dead outbox item #{args.retry}.")
        print(f"Outbox item #{args.retry} is queued again; a running bot delivers it shortly.")
        return 0
    items = usecases.outbox.items(args.status, limit=1000)
    if args.format == "json":
        print(json.dumps({"items": [_outbox_json(item) for item in items]}, indent=2, ensure_ascii=False))
        return 0
    print(
        "\n".join(
            f"#{i.id:<6} {i.status:<8} {i.kind:<26} {'INC-' + str(i.incident_number) if i.incident_number else '-':<8} "
            f"attempts={i.attempts:<3} {_next_attempt(i)}{i.last_error}"
            for i in items
        )
        or _empty_outbox(usecases, settings, args.status)
    )
    return 0


def _empty_outbox(usecases: UseCases, settings: Settings, status: str | None) -> str:
    """What an empty listing means. Slack is up to date only if nothing waits, nothing was given up on,
    and this environment could have queued Slack updates at all."""
    if status == "dead":
        return "No outbox item has been given up on."
    if status == "pending" and usecases.outbox.items("dead", limit=1):
        return "Nothing is waiting for delivery, but some items were given up on: `incidentbot outbox --status dead`."
    if not settings.slack_bot_token.get():
        return (
            "The outbox is empty. Slack is not configured here (SLACK_BOT_TOKEN is not set), so changes made "
            "with `incidentbot run` in this environment were recorded in the database only."
        )
    return "The outbox is empty: Slack is up to date."


def _next_attempt(item: OutboxItem) -> str:
    """``next=<UTC time> `` for an item still owed; "" for a dead one, which is never attempted again."""
    return "" if item.status == "dead" else f"next={format_iso(item.next_attempt_at)} "


def _outbox_json(item: OutboxItem) -> dict[str, Any]:
    return {
        "id": item.id,
        "status": item.status,
        "kind": item.kind,
        "incident": f"INC-{item.incident_number}" if item.incident_number else None,
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
