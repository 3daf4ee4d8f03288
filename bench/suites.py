"""The benchmarks. Each returns rows for the table (and details for the JSON); never pass/fail."""

from __future__ import annotations

import contextlib
import functools
import http.client
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench import dataset, stats
from bench.fakes import MARKER, BenchSlack
from bench.procs import REPO, SIGNING_SECRET, Server, server_env, start_server
from tests.support import signing


@dataclass
class Row:
    """One line of the results table. ``ratio`` is value / baseline (same run); ``target`` is the issue's."""

    bench: str
    case: str
    metric: str
    value: float
    baseline: float | None = None
    ratio: float | None = None
    target: str = ""
    met: bool | None = None
    unit: str = "ms"


@dataclass
class Context:
    quick: bool
    workdir: Path
    slack: BenchSlack
    stack: ExitStack
    details: dict[str, Any] = field(default_factory=dict)
    _postgres: Any = None
    _big_sqlite: str | None = None
    _db_counter: int = 0
    smoke: bool = False

    def size(self, full: int, quick: int, smoke: int) -> int:
        """A sample or dataset size: ``smoke`` only proves the benchmark still runs (CI), ``quick`` is ~2 min."""
        if self.smoke:
            return smoke
        return quick if self.quick else full

    def dialects(self, smoke: str) -> tuple[str, ...]:
        """The databases a row runs on: SQLite and PostgreSQL, or in ``--smoke`` only ``smoke`` (the row's code is the
        same for both; which dialect each row's smoke run takes is chosen so that both are exercised across rows)."""
        return (smoke,) if self.smoke else ("sqlite", "postgres")

    @contextmanager
    def serving(self, kind: str, database_url: str, **extra: str) -> Iterator[Server]:
        """A server process (``kind``: ``bot`` or ``bare``) on ``database_url`` talking to the fake Slack, stopped
        (SIGTERM, graceful) afterwards. In ``--smoke`` the bot's outbox does not pace its Slack calls unless ``extra``
        says ``SLACK_PACING``: paced at Slack's rates, the posts a load run queues took 10-30 s to drain at each stop,
        which proves nothing a smoke run is for (row R runs with pacing on and off, and the suite tests the pacer)."""
        if self.smoke:
            extra = {"SLACK_PACING": "off", **extra}
        with serving(kind, database_url, self.slack, **extra) as server:
            yield server

    def sqlite_url(self, name: str) -> str:
        self._db_counter += 1
        return f"sqlite:///{self.workdir / f'{self._db_counter:02d}-{name}.db'}"

    def postgres_url(self) -> str:
        """A fresh, empty database on the private PostgreSQL (started on first use, kept for the run)."""
        if self._postgres is None:
            from tests.support.postgres import postgres_server

            self._postgres = self.stack.enter_context(postgres_server())
        return self.stack.enter_context(self._postgres.fresh_database())

    def database_url(self, dialect: str, name: str) -> str:
        return self.sqlite_url(name) if dialect == "sqlite" else self.postgres_url()


# --------------------------------------------------------------------------------------- helpers


def run_load(
    urls: list[str],
    channels: list[tuple[str, str]],
    concurrency: int,
    requests: int,
    warmup: int,
    text: str,
    response_url: str,
) -> dict[str, Any]:
    """Drive the servers from a separate process (bench.loadgen) and summarise what it measured.

    ``channels``: ``(id, name)`` of the channels the commands come from, one per client in turn."""
    spec = {
        "urls": urls,
        "channels": channels,
        "concurrency": concurrency,
        "requests": requests,
        "warmup": warmup,
        "secret": SIGNING_SECRET,
        "text": text,
        "response_url": response_url,
    }
    done = subprocess.run(
        [sys.executable, "-m", "bench.loadgen"],
        input=json.dumps(spec),
        capture_output=True,
        text=True,
        cwd=REPO,
        env=server_env("", ""),
        check=True,
    )
    result = json.loads(done.stdout)
    latencies = result["latencies_ms"]
    return {
        **stats.summary(latencies),
        "per_second": round(len(latencies) / result["seconds"], 1),
        "errors": result["errors"],
        "seconds": round(result["seconds"], 2),
    }


@contextmanager
def serving(kind: str, database_url: str, slack: BenchSlack, **extra: str) -> Iterator[Server]:
    server = start_server(kind, database_url, slack.base_url, **extra)
    try:
        yield server
    finally:
        server.stop()


def _ack_sizes(ctx: Context) -> tuple[int, int]:
    """(measured requests, warm-up requests) per load run."""
    return ctx.size(1500, 400, 40), ctx.size(150, 100, 10)


NOTE_TEXT = "note load {i} from worker {w}: edge CPU back under 40%"


# --------------------------------------------------------------------------------------- 1. ack latency


ACK_TARGETS = {10: 2.0, 50: 3.0}
"""Issue 18, target 2: ack p99 at most this many times the bare bolt app's, by concurrent clients."""


def bench_ack(ctx: Context) -> list[Row]:
    """p50/p99 ack latency of /incident note vs a bare bolt app, at 10 and 50 closed-loop clients, SQLite and
    PostgreSQL. Commands come from the incidents' own channels (id and ``inc-N-...`` name), as people send them;
    the bare app gets the very same requests. Each bot run is measured right after its own bare run."""
    rows: list[Row] = []
    details: dict[str, Any] = {}
    for dialect in ctx.dialects(smoke="sqlite"):
        label = "SQLite" if dialect == "sqlite" else "PostgreSQL"
        for concurrency in (10,) if ctx.smoke else (10, 50):
            requests, warmup = _ack_sizes(ctx)
            url = ctx.database_url(dialect, "ack")
            channels = dataset.seed_live(url, 10, ctx.slack.add_channel)
            with ctx.serving("bare", ctx.sqlite_url("bare")) as bare:
                base = run_load(
                    [bare.url], channels, concurrency, requests, warmup, NOTE_TEXT, ctx.slack.response_url()
                )
            with ctx.serving("bot", url) as bot:
                measured = run_load(
                    [bot.url], channels, concurrency, requests, warmup, NOTE_TEXT, ctx.slack.response_url()
                )
            details[f"{dialect}_c{concurrency}"] = {"bare": base, "bot": measured}
            case = f"{concurrency} clients, {label}, n={requests}"
            limit = ACK_TARGETS[concurrency]
            for metric in ("p50_ms", "p99_ms"):
                ratio = stats.ratio(measured[metric], base[metric])
                target = f"<= {limit:g}x bare" if metric == "p99_ms" else ""
                rows.append(
                    Row(
                        "1 ack /incident note",
                        case,
                        metric.removesuffix("_ms"),
                        measured[metric],
                        base[metric],
                        ratio,
                        target,
                        ratio <= limit if target else None,
                    )
                )
            rows.append(
                Row(
                    "1 ack /incident note",
                    case,
                    "acks/s",
                    measured["per_second"],
                    base["per_second"],
                    stats.ratio(measured["per_second"], base["per_second"]),
                    unit="/s",
                )
            )
            if measured["errors"]:
                rows.append(Row("1 ack /incident note", case, f"errors {measured['errors']}", 0, unit=""))
            ctx.slack.forget_calls()
    ctx.details["ack"] = details
    return rows


# --------------------------------------------------------------------------------------- 2. end to end


class _Client:
    """A keep-alive HTTP/1.1 client for one host (sequential requests)."""

    def __init__(self, url: str) -> None:
        host, port = url.removeprefix("http://").split(":")
        self.connection = http.client.HTTPConnection(host, int(port), timeout=30)

    def post(self, path: str, body: str, headers: dict[str, str]) -> int:
        self.connection.request("POST", path, body=body.encode(), headers=headers)
        response = self.connection.getresponse()
        response.read()
        return response.status

    def close(self) -> None:
        self.connection.close()


def _slash(text: str, channel: tuple[str, str]) -> tuple[str, dict[str, str]]:
    body = signing.slash_command_body(text, channel_id=channel[0], channel_name=channel[1])
    return body, signing.signed_headers(SIGNING_SECRET, body, content_type=signing.FORM_CONTENT_TYPE)


def bench_e2e(ctx: Context) -> list[Row]:
    """Command -> ack (entry committed) -> the confirmation posted in the incident channel, one at a time."""
    samples = ctx.size(300, 50, 5)
    warmup = ctx.size(10, 10, 2)
    slack = ctx.slack
    url = ctx.sqlite_url("e2e")
    channel = dataset.seed_live(url, 1, slack.add_channel)[0]
    ack_ms: list[float] = []
    post_ms: list[float] = []
    # One channel gets a post per command, as fast as they come: faster than Slack's 1 post/s, which the pacer
    # would keep to (1 s apart); this figure is the path's latency, so pacing is off here (bench "slack" has it).
    with ctx.serving("bot", url, SLACK_PACING="off") as bot:
        client = _Client(bot.url)
        for index in range(samples + warmup):
            marker = f"mark-{index}-x"
            body, headers = _slash(f"note e2e {marker}", channel)
            started = time.perf_counter()
            status = client.post("/slack/events", body, headers)
            acked = time.perf_counter()
            arrived = slack.wait_marker(marker)
            assert status == 200, status
            if index >= warmup:
                ack_ms.append((acked - started) * 1000)
                post_ms.append((arrived - started) * 1000)
        client.close()
    # Baseline: the same two hops with nothing in between: an ack-only bolt app, then the client
    # itself posting to the fake Slack.
    floor_ms: list[float] = []
    slack.arrivals.clear()
    with ctx.serving("bare", ctx.sqlite_url("bare")) as bare:
        client, api = _Client(bare.url), _Client(slack.root_url)
        for index in range(samples + warmup):
            marker = f"mark-{index}-x"
            body, headers = _slash(f"note e2e {marker}", channel)
            started = time.perf_counter()
            client.post("/slack/events", body, headers)
            api.post(
                "/api/chat.postMessage",
                json.dumps({"channel": channel[0], "text": f"floor {marker}"}),
                {"Content-Type": "application/json; charset=utf-8", "Authorization": f"Bearer {slack.token}"},
            )
            arrived = slack.wait_marker(marker)
            if index >= warmup:
                floor_ms.append((arrived - started) * 1000)
        client.close()
        api.close()
    ack, post, floor = stats.summary(ack_ms), stats.summary(post_ms), stats.summary(floor_ms)
    ctx.details["e2e"] = {"ack_committed": ack, "channel_post": post, "baseline_two_hops": floor}
    case = f"SQLite, sequential, n={samples}"
    rows = []
    for metric in ("p50_ms", "p99_ms"):
        rows.append(Row("2 command->commit->Slack post", case, "ack+commit " + metric.removesuffix("_ms"), ack[metric]))
        rows.append(
            Row(
                "2 command->commit->Slack post",
                case,
                "channel post " + metric.removesuffix("_ms"),
                post[metric],
                floor[metric],
                stats.ratio(post[metric], floor[metric]),
            )
        )
    slack.forget_calls()
    return rows


# --------------------------------------------------------------------------------------- 3. writes/s


def _raw_note(engine: sa.Engine, insert: Any, values: dict[str, Any], text: str) -> None:
    """The baseline of row 3: one timeline row inserted with SQLAlchemy Core, in a transaction of its own."""
    with engine.begin() as connection:
        connection.execute(insert, {**values, "kind": "note", "actor": "U0WRITER", "text": text, "data": {}})


def _service_note(incidents: Any, add_note: Any, actor: Any, number: int, plan: Any, text: str) -> None:
    """Row 3's measured write: one note (``add_note``, the AddNote command) through the service
    (``IncidentUseCases.transition``), one transaction."""
    incidents.transition(add_note(text), actor, number=number, plan=plan)


WRITES_BLOCKS = 10
"""Row 3 times the service and the raw inserts in this many alternating blocks each."""
WRITES_TARGET = 1 / 3
WRITES_TARGET_TEXT = ">= 1/3 of raw"
"""Issue 18, target 1: notes through the service at least a third as fast as raw inserts of the same rows."""


WRITES_HISTORY = (200, 50)
"""Row 3's database with history: 200 past incidents of 50 timeline entries each (bench.dataset, analyzed on
PostgreSQL as autovacuum would have), as a bot finds its database after its first weeks."""


def bench_writes(ctx: Context) -> list[Row]:
    """Notes/s through the service (one transaction each) vs raw SQLAlchemy inserts of the same rows; with the
    CPU time per write (``time.process_time``) and the SQL statements per write of both.

    Twice per database: on a database with history (``WRITES_HISTORY``), and on a fresh one, where PostgreSQL
    plans the prepared load while the tables are empty and keeps that plan (sequential scans) until autovacuum
    first analyzes them, up to a minute later: a note then costs more the longer the timeline grows."""
    count = ctx.size(1000, 200, 20)
    rows: list[Row] = []
    details: dict[str, Any] = {}
    past_incidents, past_entries = WRITES_HISTORY if not ctx.smoke else (20, 5)
    for dialect in ctx.dialects(smoke="postgres"):
        for history in (True, False):
            url = ctx.database_url(dialect, "writes")
            if history:
                dataset.generate(url, past_incidents, past_entries)
            measured = _measure_writes(url, count)
            key = f"{dialect}_history" if history else f"{dialect}_fresh"
            details[key] = measured
            where = f"{past_incidents} past incidents" if history else "fresh database"
            case = f"{dialect}, {where}, n={count}, 1 txn each"
            bot_rate, raw_rate = measured["bot_per_s"], measured["raw_per_s"]
            rows.append(
                Row(
                    "3 timeline writes",
                    case,
                    "writes/s",
                    bot_rate,
                    raw_rate,
                    stats.ratio(bot_rate, raw_rate),
                    WRITES_TARGET_TEXT,
                    bot_rate / raw_rate >= WRITES_TARGET,
                    unit="/s",
                )
            )
            if history:
                rows += [
                    Row(
                        "3 timeline writes",
                        case,
                        "CPU ms/write",
                        measured["bot_cpu_ms_per_write"],
                        measured["raw_cpu_ms_per_write"],
                        stats.ratio(measured["bot_cpu_ms_per_write"], measured["raw_cpu_ms_per_write"]),
                    ),
                    Row(
                        "3 timeline writes",
                        case,
                        "SQL statements/write",
                        measured["bot_statements_per_write"],
                        measured["raw_statements_per_write"],
                        stats.ratio(measured["bot_statements_per_write"], measured["raw_statements_per_write"]),
                        unit="",
                    ),
                ]
    ctx.details["writes"] = details
    return rows


def _measure_writes(url: str, count: int) -> dict[str, Any]:
    """``count`` notes on a new incident of the database at ``url``, through the service and as raw inserts of the
    same rows, timed in alternating blocks; writes/s, CPU ms and statements per write of both."""
    from bot.domain.commands import AddNote, Declare
    from bot.domain.model import Severity
    from bot.slack.delivery import plan_effects
    from bot.store import open_store
    from bot.store.tables import IncidentRow, TimelineEntryRow
    from bot.usecases.incidents import IncidentUseCases
    from bot.usecases.shared import Actor, Transactions

    actor = Actor("U0WRITER", "writer")
    store = open_store(url)
    incidents = IncidentUseCases(Transactions(store))
    number = incidents.declare(Declare("Write benchmark", Severity.SEV3), actor).incident.number
    texts = [f"write {i}: error rate 2.{i % 10}% on checkout-api" for i in range(count)]

    def plan(outcome: Any) -> Any:
        return plan_effects(outcome, actor)

    table = IncidentRow.__table__  # type: ignore[attr-defined]
    with store.engine.begin() as connection:
        incident_id = connection.execute(sa.select(table.c.id).where(table.c.number == number)).scalar_one()
    insert = TimelineEntryRow.__table__.insert()  # type: ignore[attr-defined]
    now = datetime.now(UTC)

    values = {"incident_id": incident_id, "occurred_at": now, "recorded_at": now}
    raw = functools.partial(_raw_note, store.engine, insert, values)

    note = functools.partial(_service_note, incidents, AddNote, actor, number, plan)
    # Both sides in alternating blocks (bot, raw, raw, bot, ...): a shared machine's speed drifts within a
    # run, and timing one side after the other put the drift into the ratio (the raw baseline alone moved
    # between 3,600 and 6,200 writes/s across quiet runs a minute apart).
    seconds, cpu = {note: 0.0, raw: 0.0}, {note: 0.0, raw: 0.0}
    block = max(1, count // WRITES_BLOCKS)
    for round_number, start in enumerate(range(0, count, block)):
        for write in (note, raw) if round_number % 2 == 0 else (raw, note):
            started, cpu_started = time.perf_counter(), time.process_time()
            for text in texts[start : start + block]:
                write(text)
            seconds[write] += time.perf_counter() - started
            cpu[write] += time.process_time() - cpu_started
    # Statements per transaction, counted after the timed runs (the listener costs time itself).
    counted = min(count, 20)
    counter = QueryCounter(store.engine)
    for text in texts[:counted]:
        incidents.transition(AddNote(text), actor, number=number, plan=plan)
    bot_statements, counter.count = counter.count / counted, 0
    for text in texts[:counted]:
        raw(text)
    raw_statements = counter.count / counted
    counter.stop()
    store.dispose()
    return {
        "rows": count,
        "bot_per_s": round(count / seconds[note], 1),
        "raw_per_s": round(count / seconds[raw], 1),
        "bot_cpu_ms_per_write": round(cpu[note] / count * 1000, 3),
        "raw_cpu_ms_per_write": round(cpu[raw] / count * 1000, 3),
        "bot_statements_per_write": bot_statements,
        "raw_statements_per_write": raw_statements,
    }


# --------------------------------------------------------------------------------------- 4. views at scale


class QueryCounter:
    """Counts the statements an engine sends (``before_cursor_execute``: SQLite's ``BEGIN IMMEDIATE`` counts,
    PostgreSQL's implicit ``BEGIN`` and every ``COMMIT`` do not)."""

    def __init__(self, engine: sa.Engine) -> None:
        self.count = 0
        self._engine = engine
        sa.event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, *_args: Any) -> None:
        self.count += 1

    def stop(self) -> None:
        sa.event.remove(self._engine, "before_cursor_execute", self._seen)


def _view_functions(incidents: Any, channel: str) -> dict[str, Callable[[], Any]]:
    from bot.domain.model import OPEN_STATUSES
    from bot.slack import blocks
    from bot.slack.listeners.events import HOME_LIST_LIMIT
    from bot.slack.text import escape, slack_mention
    from bot.views.replies import list_text, status_text

    open_statuses = OPEN_STATUSES

    def status() -> Any:  # /incident status in the incident's channel
        return status_text(incidents.get(channel_id=channel), incidents.clock(), slack_mention, escape)

    def timeline() -> Any:  # /incident timeline
        incident, entries = incidents.timeline(channel_id=channel)
        return blocks.build_timeline_blocks(incident, entries)

    def home() -> Any:  # app_home_opened
        return blocks.build_home_view(incidents.summaries(open_statuses, HOME_LIST_LIMIT), incidents.clock())

    def listing() -> Any:  # /incident list
        return list_text(incidents.summaries(open_statuses, 50), incidents.clock(), escape=escape)

    return {"status": status, "timeline": timeline, "app_home": home, "list": listing}


def _time_views(pairs: dict[int, tuple[Callable[[], Any], QueryCounter]], iterations: int) -> dict[int, Any]:
    """Time the same view on every dataset, alternating call by call so machine noise hits all alike."""
    for view, _ in pairs.values():
        for _ in range(10):
            view()
    samples: dict[int, list[float]] = {size: [] for size in pairs}
    before = {size: counter.count for size, (_, counter) in pairs.items()}
    for _ in range(iterations):
        for size, (view, _) in pairs.items():
            started = time.perf_counter()
            view()
            samples[size].append((time.perf_counter() - started) * 1000)
    return {
        size: {**stats.summary(samples[size]), "queries": (pairs[size][1].count - before[size]) / iterations}
        for size in pairs
    }


def bench_views(ctx: Context) -> list[Row]:
    """status / timeline / App Home / list with a small and a large history: time and SQL queries per view."""
    from bot.store import open_store
    from bot.usecases.incidents import IncidentUseCases
    from bot.usecases.shared import Transactions

    small, large = 100, ctx.size(100_000, 10_000, 200)
    per_incident = 10
    iterations = ctx.size(300, 100, 5)
    rows = []
    details: dict[str, Any] = {}
    for dialect in ctx.dialects(smoke="sqlite"):
        views: dict[int, dict[str, Callable[[], Any]]] = {}
        counters: dict[int, QueryCounter] = {}
        generated: dict[int, dataset.Generated] = {}
        stores = []
        for size in (small, large):
            url = ctx.database_url(dialect, f"views-{size}")
            generated[size] = dataset.generate(url, size, per_incident)
            store = open_store(url, migrate=False)
            stores.append(store)
            counters[size] = QueryCounter(store.engine)
            views[size] = _view_functions(IncidentUseCases(Transactions(store)), generated[size].target_channel)
            if dialect == "sqlite" and size == large:
                ctx._big_sqlite = url
        measured = {
            name: _time_views({size: (views[size][name], counters[size]) for size in (small, large)}, iterations)
            for name in ("status", "timeline", "app_home", "list")
        }
        for store in stores:
            store.dispose()
        gen = generated[large]
        details[dialect] = {
            "views": measured,
            "generated": {
                size: {
                    "incidents": g.incidents,
                    "entries": g.entries,
                    "participants": g.participants,
                    "seconds": round(g.seconds, 1),
                }
                for size, g in generated.items()
            },
            "iterations": iterations,
        }
        rows.append(
            Row(
                "4 views",
                f"{dialect}: bulk load {gen.incidents:,} incidents + {gen.entries:,} entries",
                "seconds",
                round(gen.seconds, 1),
                unit="s",
            )
        )
        for name in ("status", "timeline", "app_home", "list"):
            big, base = measured[name][large], measured[name][small]
            case = f"{dialect} {name}: {large:,} vs {small} incidents, n={iterations}"
            for metric in ("p50_ms", "p99_ms"):
                ratio = stats.ratio(big[metric], base[metric])
                rows.append(
                    Row(
                        "4 views",
                        case,
                        metric.removesuffix("_ms"),
                        big[metric],
                        base[metric],
                        ratio,
                        "< 1.3x" if metric == "p50_ms" else "",
                        ratio < 1.3 if metric == "p50_ms" else None,
                    )
                )
            rows.append(
                Row(
                    "4 views",
                    case,
                    "SQL queries",
                    big["queries"],
                    base["queries"],
                    stats.ratio(big["queries"], base["queries"]),
                    "same count",
                    big["queries"] == base["queries"],
                    unit="",
                )
            )
    ctx.details["views"] = details
    return rows


# --------------------------------------------------------------------------------------- 5. postmortem


def _incident_with_entries(count: int) -> tuple[Any, list[Any]]:
    from bot.domain.commands import Declare
    from bot.domain.lifecycle import Stamp, declare
    from bot.domain.model import EntryKind, Severity, TimelineEntry

    start = datetime(2026, 11, 22, 13, 42, tzinfo=UTC)
    change = declare(Declare("CDN edge returning 502s", Severity.SEV1), 7, Stamp("U0ALICE", start, start, "alice"))
    entries = list(change.entries)
    for index in range(count - len(entries)):
        at = start + timedelta(seconds=10 * (index + 1))
        entries.append(
            TimelineEntry(
                EntryKind.NOTE,
                at,
                at,
                f"U{index % 40:04d}",
                f"Edge CPU at {50 + index % 50}% on pop-{index % 30}; 502 rate {index % 9}.{index % 7}%",
            )
        )
    return change.incident, entries


def bench_postmortem(ctx: Context) -> list[Row]:
    """build_postmortem + Jinja render (the upload path, minus Slack) for 10 and 10,000 timeline entries (``--smoke``:
    500)."""
    from bot.domain.postmortem import build_postmortem
    from bot.views.postmortem import PostmortemRenderer

    renderer = PostmortemRenderer()
    now = datetime(2026, 11, 22, 16, 0, tzinfo=UTC)
    results: dict[int, dict[str, Any]] = {}
    many = ctx.size(10_000, 10_000, 500)
    for count, iterations in ((10, ctx.size(200, 200, 5)), (many, ctx.size(15, 5, 1))):
        incident, entries = _incident_with_entries(count)
        samples = []
        output = ""
        for _ in range(iterations + 1):
            started = time.perf_counter()
            output = renderer.render(build_postmortem(incident, entries, now))
            samples.append((time.perf_counter() - started) * 1000)
        samples = samples[1:]  # the first one compiles the template
        results[count] = {
            **stats.summary(samples),
            "bytes": len(output.encode()),
            "lines": output.count("\n"),
        }
    ctx.details["postmortem"] = results
    big, small = results[many], results[10]
    rows = []
    for metric in ("p50_ms", "p99_ms"):
        rows.append(
            Row(
                "5 postmortem render",
                f"{many:,} vs 10 entries",
                metric.removesuffix("_ms"),
                big[metric],
                small[metric],
                stats.ratio(big[metric], small[metric]),
                f"{many:,} < 1 s" if metric == "p99_ms" else "",
                big[metric] < 1000 if metric == "p99_ms" else None,
            )
        )
    rows.append(
        Row(
            "5 postmortem render",
            f"{many:,} vs 10 entries",
            "output KiB",
            round(big["bytes"] / 1024, 1),
            round(small["bytes"] / 1024, 1),
            stats.ratio(big["bytes"], small["bytes"]),
            unit="KiB",
        )
    )
    return rows


def bench_timeline_view(ctx: Context) -> list[Row]:
    """The Slack timeline view (store read + Block Kit) of incidents with 10, 100 and 10,000 entries.

    The view reads the latest 100 entries and a count, so past 100 entries its cost should not grow
    with the incident; the whole-timeline build it replaced is measured beside it on the same data. ``--smoke``: 10,
    100 and 300 entries (still past the 100 the view reads).
    """
    from bot.domain.lifecycle import Decision
    from bot.slack.blocks import build_timeline_blocks
    from bot.store import open_store
    from bot.usecases.incidents import IncidentUseCases
    from bot.usecases.shared import Transactions

    iterations = ctx.size(300, 100, 5)
    many = ctx.size(10_000, 10_000, 300)
    results: dict[str, dict[str, Any]] = {}

    def timed(name: str, view: Callable[[], object]) -> None:
        samples = []
        for _ in range(iterations + 1):
            started = time.perf_counter()
            view()
            samples.append((time.perf_counter() - started) * 1000)
        results[name] = stats.summary(samples[1:])

    for count in (10, 100, many):
        store = open_store(ctx.sqlite_url(f"timeline-view-{count}"))
        incident, entries = _incident_with_entries(count)
        with store.transaction() as uow:
            uow.incidents.add(Decision(incident, tuple(entries)), incident.declared_at)
        incidents = IncidentUseCases(Transactions(store))
        number = incident.number
        timed(str(count), lambda s=incidents, n=number: build_timeline_blocks(*s.recent_timeline(n)))
        if count == many:
            timed("whole", lambda s=incidents, n=number: build_timeline_blocks(*s.timeline(n)))
        store.dispose()
    ctx.details["timeline_view"] = results
    rows = []
    for metric in ("p50_ms", "p99_ms"):
        big = results[str(many)][metric]
        rows += [
            Row(
                "5b timeline view",
                f"{many:,} vs 10 entries (SQLite)",
                metric[:3],
                big,
                results["10"][metric],
                stats.ratio(big, results["10"][metric]),
            ),
            Row(
                "5b timeline view",
                f"{many:,} vs 100 entries: both show 100",
                metric[:3],
                big,
                results["100"][metric],
                stats.ratio(big, results["100"][metric]),
                "< 1.3x" if metric == "p99_ms" else "",
                stats.ratio(big, results["100"][metric]) < 1.3 if metric == "p99_ms" else None,
            ),
            Row(
                "5b timeline view",
                f"whole {many:,}-entry timeline (before) vs the view",
                metric[:3],
                results["whole"][metric],
                big,
                stats.ratio(results["whole"][metric], big),
            ),
        ]
    return rows


# --------------------------------------------------------------------------------------- W. web view

WEB_TOKEN = "bench-web-api-token-0123456789abcdef"


def _server_ms(response: http.client.HTTPResponse) -> float:
    """The ``app;dur=`` of a ``Server-Timing`` header (``bot.web.routes.server_timing``), in ms."""
    timing = response.getheader("Server-Timing") or ""
    return float(timing.partition("dur=")[2])


def bench_web(ctx: Context) -> list[Row]:
    """The web view on large data, served by ``incidentbot serve`` (its own process, SQLite): the list (``/``,
    which searches the newest 500 of N incidents) and the page of an incident with 10,000 timeline entries
    (its latest 1,000 entries and its postmortem rendered as HTML), viewed again as it was (what the page took
    from every entry is kept: ``bot.web.pages.TimelineCache``) and after a new entry (a note added, untimed,
    before each request: every entry is read and the postmortem built again), and that incident's timeline
    JSON. Server time is the handler's, from the ``Server-Timing`` header; the baseline is a static file
    (``/static/web.css``) served by the same process, requested alternately with each page so machine noise
    hits both. ``--smoke``: 50 incidents, one of 300 entries, 2 rounds."""
    from dataclasses import replace

    from bot.compose import open_usecases
    from bot.domain.grammar import parse_command
    from bot.domain.lifecycle import Decision
    from bot.domain.slo import EMPTY_CATALOG
    from bot.store import open_store
    from bot.usecases.shared import Actor

    count = ctx.size(10_000, 2_000, 50)
    rounds = ctx.size(30, 10, 2)
    many = ctx.size(10_000, 10_000, 300)
    url = ctx.sqlite_url("web")
    dataset.generate(url, count, 10)
    big = count + 1
    store = open_store(url)
    incident, entries = _incident_with_entries(many)
    incident = replace(incident, number=big)
    with store.transaction() as uow:
        uow.incidents.add(Decision(incident, tuple(entries)), incident.declared_at)
    store.dispose()
    pages = {
        "static": "/static/web.css",
        "list": "/",
        "incident": f"/incidents/INC-{big}",
        "incident_new_entry": f"/incidents/INC-{big}",
        "timeline_json": f"/api/v1/incidents/INC-{big}/timeline",
    }
    writer = open_usecases(url, lambda: datetime.now(UTC), EMPTY_CATALOG)
    ctx.stack.callback(writer.store.dispose)
    server_ms: dict[str, list[float]] = {name: [] for name in pages}
    client_ms: dict[str, list[float]] = {name: [] for name in pages}
    sizes: dict[str, int] = {}
    extra = {
        "INCIDENT_WEB_URL": "http://127.0.0.1",
        "INCIDENT_WEB_SESSION_SECRET": "bench-web-session-secret-0123456789abcdef",
        "INCIDENT_WEB_API_TOKEN": WEB_TOKEN,
        "INCIDENT_POSTMORTEM_REMINDER_DAYS": "off",
    }
    with ctx.serving("bot", url, **extra) as server:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
        headers = {"Authorization": f"Bearer {WEB_TOKEN}"}
        try:
            for round_number in range(rounds + 1):  # round 0 warms up (templates compiled, caches filled)
                for name in ("list", "incident", "incident_new_entry", "timeline_json"):
                    for which in ("static", name):
                        if which == "incident_new_entry":  # untimed: a note, so the page reads every entry again
                            writer.incidents.run(parse_command(f"INC-{big} note round {round_number}"), Actor("U0DAVE"))
                        started = time.perf_counter()
                        connection.request("GET", pages[which], headers=headers)
                        response = connection.getresponse()
                        body = response.read()
                        elapsed = (time.perf_counter() - started) * 1000
                        if response.status != 200:
                            raise RuntimeError(f"GET {pages[which]}: {response.status} {body[:300]!r}")
                        sizes[which] = len(body)
                        if round_number:
                            server_ms[which].append(_server_ms(response))
                            client_ms[which].append(elapsed)
        finally:
            connection.close()
    summaries = {name: stats.summary(samples) for name, samples in server_ms.items()}
    ctx.details["web"] = {
        "incidents": count,
        "entries": len(entries),
        "server_ms": summaries,
        "client_ms": {name: stats.summary(samples) for name, samples in client_ms.items()},
        "bytes": sizes,
    }
    cases = {
        "list": f"/ (list) of {count:,} incidents",
        "incident": f"/incidents/INC-n, {many:,} entries, viewed again",
        "incident_new_entry": f"/incidents/INC-n, {many:,} entries, after a new entry",
        "timeline_json": f"its timeline JSON ({many:,} entries)",
    }
    rows = []
    for name, case in cases.items():
        for metric in ("p50_ms", "p99_ms"):
            value, static = summaries[name][metric], summaries["static"][metric]
            judged = metric == "p50_ms" and name != "timeline_json"  # the target: the list, the page
            rows.append(
                Row(
                    "W web view (server time)",
                    case,
                    metric.removesuffix("_ms"),
                    value,
                    static,
                    stats.ratio(value, static),
                    "< 300 ms" if judged else "",
                    value < 300 if judged else None,
                )
            )
        rows.append(Row("W web view (server time)", case, "size KiB", round(sizes[name] / 1024, 1), unit="KiB"))
    return rows


# --------------------------------------------------------------------------------------- 6. memory


def _home_event_body(user: str) -> str:
    return signing.event_callback_body(signing.app_home_opened_event(user))


def bench_memory(ctx: Context) -> list[Row]:
    """RSS of `incidentbot serve`: idle, and after status/timeline/notes/App Home on the big history."""
    url = ctx._big_sqlite
    if url is None:
        url = ctx.sqlite_url("memory-big")
        dataset.generate(url, ctx.size(100_000, 10_000, 200), 10)
    with ctx.serving("bare", ctx.sqlite_url("bare")) as bare:
        time.sleep(0.5)
        bare_idle, _ = bare.rss_mb()
    open_channels = [dataset.live_channel(n) for n in _open_numbers(url)]
    for channel, name in open_channels:
        with contextlib.suppress(Exception):  # already added by an earlier run in this process
            ctx.slack.add_channel(channel, name)
    requests = ctx.size(500, 200, 20)
    with ctx.serving("bot", url) as bot:
        time.sleep(0.5)
        idle, _ = bot.rss_mb()
        for text in ("status", "timeline", NOTE_TEXT):
            run_load([bot.url], open_channels, 10, requests, 0, text, ctx.slack.response_url())
        client = _Client(bot.url)
        for index in range(requests // 5):
            body = _home_event_body(f"U0HOME{index % 20:02d}")
            client.post("/slack/events", body, signing.signed_headers(SIGNING_SECRET, body))
        client.close()
        time.sleep(1.0)
        after, peak = bot.rss_mb()
    ctx.details["memory"] = {
        "bare_idle_mb": bare_idle,
        "serve_idle_mb": idle,
        "serve_after_mb": after,
        "serve_peak_mb": peak,
        "requests_each": requests,
    }
    ctx.slack.forget_calls()
    case = f"incidentbot serve, SQLite {ctx.size(100_000, 10_000, 200):,} incidents of history"
    return [
        Row(
            "6 memory (RSS)",
            case,
            "idle MiB",
            idle,
            bare_idle,
            stats.ratio(idle, bare_idle),
            "< 150 MB",
            idle < 150,
            unit="MiB",
        ),
        Row(
            "6 memory (RSS)",
            case,
            "after run MiB",
            after,
            bare_idle,
            stats.ratio(after, bare_idle),
            "< 150 MB",
            after < 150,
            unit="MiB",
        ),
        Row(
            "6 memory (RSS)",
            case,
            "peak MiB",
            peak,
            bare_idle,
            stats.ratio(peak, bare_idle),
            "< 150 MB",
            peak < 150,
            unit="MiB",
        ),
    ]


def _open_numbers(url: str) -> list[int]:
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        numbers = connection.execute(sa.text("SELECT number FROM incidents WHERE status != 'resolved'")).scalars()
        found = list(numbers)
    engine.dispose()
    return found


# --------------------------------------------------------------------------------------- issue 5: replicas


def bench_replicas(ctx: Context) -> list[Row]:
    """On PostgreSQL: 1 replica vs 2, and Slack healthy vs failing 40% of calls (50 closed-loop clients; ``--smoke``
    5 clients, 10 requests)."""
    concurrency = ctx.size(50, 50, 5)
    requests, warmup = ctx.size(1000, 400, 10), ctx.size(100, 100, 2)
    results: dict[str, dict[str, Any]] = {}
    for case in ("1 replica, Slack healthy", "2 replicas, Slack healthy", "1 replica, Slack failing 40%"):
        url = ctx.postgres_url()
        channels = dataset.seed_live(url, 10, ctx.slack.add_channel)
        replicas = 2 if case.startswith("2") else 1
        if "40%" in case:
            ctx.slack.set_failure_rate(0.4, seed=7)
        with ExitStack() as stack:
            servers = [stack.enter_context(ctx.serving("bot", url)) for _ in range(replicas)]
            results[case] = run_load(
                [s.url for s in servers],
                channels,
                concurrency,
                requests,
                warmup,
                NOTE_TEXT,
                ctx.slack.response_url(),
            )
            results[case]["outbox_backlog"] = _outbox_backlog(url)
        ctx.slack.clear_failures()
        ctx.slack.forget_calls()
    ctx.details["replicas"] = results
    base = results["1 replica, Slack healthy"]
    rows = []
    for case, measured in results.items():
        label = f"PostgreSQL, {case}, {concurrency} clients"
        rows.append(
            Row(
                "I5 replicas/outage",
                label,
                "acks/s",
                measured["per_second"],
                base["per_second"],
                stats.ratio(measured["per_second"], base["per_second"]),
                unit="/s",
            )
        )
        rows.append(
            Row(
                "I5 replicas/outage",
                label,
                "p99",
                measured["p99_ms"],
                base["p99_ms"],
                stats.ratio(measured["p99_ms"], base["p99_ms"]),
            )
        )
        if measured["errors"]:
            rows.append(Row("I5 replicas/outage", label, f"errors {measured['errors']}", 0, unit=""))
    return rows


def _outbox_backlog(url: str) -> int:
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        pending = connection.execute(sa.text("SELECT count(*) FROM outbox WHERE status = 'pending'")).scalar_one()
    engine.dispose()
    return int(pending)


# --------------------------------------------------------------------------------------- A. alert groups

ALERT_TOKEN = "bench-webhook-token"


def bench_alerts(ctx: Context) -> list[Row]:
    """A 1,000-alert group notification through POST /alerts/alertmanager (answered once all 1,000 state changes
    and the declaration are committed) vs a 1-alert one, alternating sample by sample, SQLite and PostgreSQL
    (``--smoke``: a 50-alert one, PostgreSQL only, no warm-up)."""
    from tests.support.alerts import T0, alert, notification

    samples = ctx.size(10, 4, 1)
    warmup = ctx.size(2, 2, 0)
    many = ctx.size(1000, 1000, 50)
    sizes = (1, many)
    rows: list[Row] = []
    for dialect in ctx.dialects(smoke="postgres"):
        url = ctx.database_url(dialect, "alerts")
        timings: dict[int, list[float]] = {size: [] for size in sizes}
        with ctx.serving("bot", url, INCIDENT_WEBHOOK_TOKEN=ALERT_TOKEN) as bot:
            client = _Client(bot.url)
            headers = {"Content-Type": "application/json", "Authorization": f"Bearer {ALERT_TOKEN}"}
            for index in range(samples + warmup):
                for size in sizes:
                    group = f'{{}}:{{bench="{dialect}-{index}-{size}"}}'
                    body = json.dumps(
                        notification([alert(f"fp{i:04d}", T0 + timedelta(seconds=i)) for i in range(size)], group)
                    )
                    started = time.perf_counter()
                    status = client.post("/alerts/alertmanager", body, headers)
                    elapsed = (time.perf_counter() - started) * 1000
                    assert status == 200, status
                    if index >= warmup:
                        timings[size].append(elapsed)
            client.close()
        recorded = _alert_entries(url)
        expected = (samples + warmup) * sum(sizes)
        assert recorded == expected, (recorded, expected)  # every alert of every notification is on a timeline
        one, thousand = stats.summary(timings[1]), stats.summary(timings[many])
        ctx.details[f"alerts_{dialect}"] = {"one_alert": one, "thousand_alerts": thousand, "entries": recorded}
        case = f"{dialect}, n={samples} each, alternating"
        rows.append(
            Row(
                f"A alert group {many:,} vs 1",
                case,
                "p50",
                thousand["p50_ms"],
                one["p50_ms"],
                stats.ratio(thousand["p50_ms"], one["p50_ms"]),
            )
        )
        rows.append(
            Row(f"A alert group {many:,} vs 1", case, f"ms per alert ({many:,})", round(thousand["p50_ms"] / many, 3))
        )
    ctx.slack.forget_calls()
    return rows


STORM_GROUPS = 10
"""Issue 18, target 4: 10 alert groups of 1,000 alerts arriving at once."""


def _post_json(url: str, body: bytes) -> tuple[int, str]:
    """POST one alert notification on a fresh connection; (status, action of the answer)."""
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=120)
    try:
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {ALERT_TOKEN}"}
        connection.request("POST", "/alerts/alertmanager", body=body, headers=headers)
        response = connection.getresponse()
        answer = response.read()
        action = json.loads(answer).get("action", "") if response.status == 200 else answer.decode()[:200]
        return response.status, str(action)
    finally:
        connection.close()


def _storm_round(sends: list[tuple[str, bytes]]) -> tuple[float, list[tuple[int, str]]]:
    """Send every (server url, body) at once, one thread each, released together; (ms from the release to the
    last answer, the answers)."""
    import threading

    barrier = threading.Barrier(len(sends) + 1)
    answers: list[tuple[int, str]] = []
    lock = threading.Lock()

    def send(url: str, body: bytes) -> None:
        barrier.wait(timeout=60)
        answer = _post_json(url, body)
        with lock:
            answers.append(answer)

    threads = [threading.Thread(target=send, args=send_args) for send_args in sends]
    for thread in threads:
        thread.start()
    barrier.wait(timeout=60)
    started = time.perf_counter()
    for thread in threads:
        thread.join(timeout=600)
    return (time.perf_counter() - started) * 1000, answers


def bench_alert_storm(ctx: Context) -> list[Row]:
    """Issue 18, target 4: 10 groups of 1,000 alerts sent at once to two ``incidentbot serve`` replicas on one
    PostgreSQL database, each group to both (an Alertmanager HA pair: 20 notifications) and the groups split
    between them (10 notifications), time from sending to the last 200; baseline: one 1,000-alert group to one
    replica, in the same run, rounds alternating. SQLite: the 10 groups at once to its one replica. Every
    round uses new groups; the run checks one incident per group and each alert on a timeline once."""
    from tests.support.alerts import T0, alert, notification

    size = ctx.size(1000, 1000, 20)
    rounds = ctx.size(5, 3, 1)
    rows: list[Row] = []

    def body(tag: str) -> bytes:
        alerts = [alert(f"fp{i:04d}", T0 + timedelta(seconds=i)) for i in range(size)]
        return json.dumps(notification(alerts, f'{{}}:{{storm="{tag}"}}', summary=f"storm {tag}")).encode()

    for dialect in ("sqlite", "postgres"):
        url = ctx.database_url(dialect, "storm")
        replicas = 1 if dialect == "sqlite" else 2
        cases = ["1 group, 1 replica"] + (
            ["10 groups at once, 1 replica"]
            if replicas == 1
            else ["10 groups at once, each to both replicas", "10 groups at once, split between the replicas"]
        )
        timings: dict[str, list[float]] = {case: [] for case in cases}
        groups = 0
        with ExitStack() as stack:
            servers = [
                stack.enter_context(ctx.serving("bot", url, INCIDENT_WEBHOOK_TOKEN=ALERT_TOKEN))
                for _ in range(replicas)
            ]
            warmup = 0 if ctx.smoke else 1  # the first round warms up
            for index in range(rounds + warmup):
                for case in cases:
                    tags = [f"{dialect}-{index}-{cases.index(case)}-{g}" for g in range(STORM_GROUPS)]
                    if case.startswith("1 group"):
                        sends = [(servers[0].url, body(tags[0]))]
                    elif "both" in case:
                        sends = [(s.url, body(tag)) for tag in tags for s in servers]
                    else:
                        sends = [(servers[g % replicas].url, body(tag)) for g, tag in enumerate(tags)]
                    groups += len({b for _, b in sends})
                    elapsed, answers = _storm_round(sends)
                    assert [status for status, _ in answers] == [200] * len(sends), answers
                    declared = sorted(action for _, action in answers).count("declared")
                    assert declared == len({b for _, b in sends}), answers  # one declaration per group
                    if index >= warmup:
                        timings[case].append(elapsed)
        incidents, entries = _storm_counts(url)
        assert (incidents, entries) == (groups, groups * size), (incidents, entries, groups)
        summary = {case: stats.summary(values) for case, values in timings.items()}
        ctx.details[f"alert_storm_{dialect}"] = {"alerts_per_group": size, "rounds": rounds, **summary}
        base = summary[cases[0]]
        for case in cases[1:]:
            label = f"{dialect}, {case}, {size:,} alerts each, n={rounds}"
            measured = summary[case]
            rows.append(
                Row(
                    "A2 alert storm",
                    label,
                    "last 200 p50",
                    measured["p50_ms"],
                    base["p50_ms"],
                    stats.ratio(measured["p50_ms"], base["p50_ms"]),
                )
            )
            rows.append(Row("A2 alert storm", label, "last 200 max", max(timings[case])))
    ctx.slack.forget_calls()
    return rows


def _storm_counts(url: str) -> tuple[int, int]:
    """(incidents, alert_fired timeline entries) in the database."""
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        incidents = connection.execute(sa.text("SELECT count(*) FROM incidents")).scalar_one()
    engine.dispose()
    return int(incidents), _alert_entries(url)


def _alert_entries(url: str) -> int:
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        count = connection.execute(
            sa.text("SELECT count(*) FROM timeline_entries WHERE kind = 'alert_fired'")
        ).scalar_one()
    engine.dispose()
    return int(count)


# --------------------------------------------------------------------------------------- X. timeline export


def _export_peak(command: list[str], env: dict[str, str], out: Path) -> tuple[float, float]:
    """(peak RSS in MiB: the process's ``VmHWM``, from ``wait4``'s ``ru_maxrss``; wall seconds) of one run of
    ``command`` with its output written to ``out``."""
    started = time.perf_counter()
    with open(out, "wb") as sink:
        process = subprocess.Popen(command, env=env, cwd=out.parent, stdout=sink, stderr=subprocess.PIPE)
        assert process.stderr is not None
        errors = process.stderr.read()
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited {process.returncode}: {errors.decode()[-500:]}")
    return round(usage.ru_maxrss / 1024, 1), round(wall, 2)


def _exported_entries(out: Path) -> int:
    """How many entries the exported JSON holds (its lines ``      "number": n,``), read line by line."""
    with open(out, encoding="utf-8") as exported:
        return sum(1 for line in exported if line.startswith('      "number": '))


def bench_export(ctx: Context) -> list[Row]:
    """Peak RSS (VmHWM) of ``incidentbot timeline INC-1 --format json`` (a whole process, output to a file) for an
    incident of 1,000,000 timeline entries against one of 10,000, SQLite and PostgreSQL (``--smoke``: 2,000 against
    100, PostgreSQL only)."""
    big, small = ctx.size(1_000_000, 200_000, 2_000), ctx.size(10_000, 10_000, 100)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "INCIDENT_", "LOG_", "TRACKER", "PAGERDUTY_")) and k != "DATABASE_URL"
    }
    env["PYTHONPATH"] = str(REPO)
    cli = [*_cli_command(), "timeline", "INC-1", "--format", "json"]
    rows: list[Row] = []
    for dialect in ctx.dialects(smoke="postgres"):
        measured: dict[int, dict[str, float]] = {}
        for size in (small, big):
            url = ctx.database_url(dialect, f"export-{size}")
            loaded = dataset.generate(url, 1, size)
            out = ctx.workdir / f"export-{dialect}-{size}.json"
            peak, wall = _export_peak(cli, {**env, "DATABASE_URL": url}, out)
            written = _exported_entries(out)
            assert written == size, (written, size)  # every entry was exported
            measured[size] = {
                "peak_mib": peak,
                "seconds": wall,
                "bytes": out.stat().st_size,
                "load_seconds": round(loaded.seconds, 1),
            }
            out.unlink()
        ctx.details[f"export_{dialect}"] = measured
        case = f"{dialect}: timeline --format json, {big:,} vs {small:,} entries"
        rows.append(
            Row(
                "X timeline export",
                case,
                "peak RSS MiB",
                measured[big]["peak_mib"],
                measured[small]["peak_mib"],
                stats.ratio(measured[big]["peak_mib"], measured[small]["peak_mib"]),
                unit="MiB",
            )
        )
        rows.append(
            Row(
                "X timeline export",
                case,
                "seconds",
                measured[big]["seconds"],
                measured[small]["seconds"],
                stats.ratio(measured[big]["seconds"], measured[small]["seconds"]),
                unit="s",
            )
        )
        rows.append(Row("X timeline export", case, "output MB", round(measured[big]["bytes"] / 1e6, 1), unit="MB"))
    return rows


# --------------------------------------------------------------------------------------- C. db copy


def bench_copy(ctx: Context) -> list[Row]:
    """``db copy`` of a SQLite history into a fresh PostgreSQL database (migration, copy, sequences, the
    checks), against PostgreSQL ``COPY`` of the very same rows into another fresh database, same run."""
    from bot.store import open_store
    from bot.store.copy import copy_database
    from tests.support.history import copy_history_postgres, insert_history

    incidents, per_incident = ctx.size(100_000, 10_000, 200), 10
    source = ctx.sqlite_url("copy-source")
    store = open_store(source)
    began = time.perf_counter()
    added = insert_history(store.engine, incidents, per_incident)
    load_seconds = time.perf_counter() - began
    store.dispose()

    baseline_url = ctx.postgres_url()
    store = open_store(baseline_url)  # the schema first, as the copy migrates its target before copying
    began = time.perf_counter()
    copied = copy_history_postgres(store.engine, incidents, per_incident)
    bulk_seconds = time.perf_counter() - began
    store.dispose()
    assert copied == added, (copied, added)

    marks: dict[str, float] = {}

    def progress(_table: str, done: int, total: int) -> None:
        marks.setdefault("first", time.perf_counter())
        if done == total:
            marks["last"] = time.perf_counter()

    began = time.perf_counter()
    report = copy_database(source, ctx.postgres_url(), progress=progress)
    copy_seconds = time.perf_counter() - began
    rows_copied = sum(report.counts.values())
    assert report.counts["timeline_entries"] == incidents * per_incident
    entries = report.counts["timeline_entries"]
    case = f"SQLite -> PostgreSQL, {incidents:,} incidents / {entries:,} entries ({rows_copied:,} rows)"
    rows_only = marks["last"] - marks["first"]
    ctx.details["copy"] = {
        "rows": dict(report.counts),
        "sqlite_bulk_load_s": round(load_seconds, 2),
        "postgres_copy_s": round(bulk_seconds, 2),
        "db_copy_s": round(copy_seconds, 2),
        "db_copy_rows_phase_s": round(rows_only, 2),
    }
    return [
        Row(
            "C db copy",
            case,
            "whole command",
            round(copy_seconds, 2),
            round(bulk_seconds, 2),
            stats.ratio(copy_seconds, bulk_seconds),
            unit="s",
        ),
        Row(
            "C db copy",
            case,
            "rows only",
            round(rows_only, 2),
            round(bulk_seconds, 2),
            stats.ratio(rows_only, bulk_seconds),
            unit="s",
        ),
        Row("C db copy", case, "rows/s (whole)", round(rows_copied / copy_seconds), unit=""),
        Row(
            "C db copy",
            f"SQLite bulk load of the source ({rows_copied:,} rows)",
            "seconds",
            round(load_seconds, 2),
            unit="s",
        ),
    ]


# --------------------------------------------------------------------------------------- S. CLI start-up


CLI_TARGETS_MS = {"--help": 300.0, "list": 500.0}
"""Issue 18, target 3: wall time of `incidentbot --help` and of `incidentbot list` on this machine."""


def _cli_command() -> list[str]:
    """The installed ``incidentbot`` script next to this interpreter, else ``python -m bot.cli.main``."""
    script = Path(sys.executable).parent / "incidentbot"
    return [str(script)] if script.exists() else [sys.executable, "-m", "bot.cli.main"]


def _timed_process(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """(wall ms, CPU ms: user + system) of one run of ``command`` as a whole process; its output is discarded."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    wall = (time.perf_counter() - started) * 1000
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited {done.returncode}: {done.stderr.decode()[-500:]}")
    cpu = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000
    return wall, cpu


def bench_cli(ctx: Context) -> list[Row]:
    """Start-up of the command line: ``incidentbot --help`` and ``incidentbot list`` (a SQLite database of
    1,000 incidents, 10 entries each; the listing shows 200), each a whole process, against ``python -c
    pass`` measured in the same rounds (pass, --help, list, pass, ...). The processes run in a folder with
    no .env, Slack unset, and Python's bytecode cache on (as an installed bot runs; one warm-up run each)."""
    url = ctx.sqlite_url("cli")
    dataset.generate(url, ctx.size(1000, 1000, 50), 10)
    folder = ctx.workdir / "cli"
    folder.mkdir()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "INCIDENT_", "LOG_", "TRACKER", "PAGERDUTY_"))
        and k not in ("DATABASE_URL", "PYTHONDONTWRITEBYTECODE")
    }
    env["DATABASE_URL"] = url
    cli = _cli_command()
    commands = {"python -c pass": [sys.executable, "-c", "pass"], "--help": [*cli, "--help"], "list": [*cli, "list"]}
    for command in commands.values():  # warm-up: writes the bytecode cache, reads the files once
        _timed_process(command, folder, env)
    runs = ctx.size(20, 10, 2)
    samples: dict[str, dict[str, list[float]]] = {name: {"wall": [], "cpu": []} for name in commands}
    for _ in range(runs):
        for name, command in commands.items():
            wall, cpu = _timed_process(command, folder, env)
            samples[name]["wall"].append(wall)
            samples[name]["cpu"].append(cpu)
    summary = {
        name: {
            f"{kind}_{figure}_ms": round(value, 1)
            for kind, values in measured.items()
            for figure, value in (("min", min(values)), ("p50", stats.percentile(values, 50)))
        }
        for name, measured in samples.items()
    }
    ctx.details["cli"] = {"runs": runs, "command": cli, "summary": summary, "samples_ms": samples}
    base = summary["python -c pass"]
    rows = []
    for name, target in CLI_TARGETS_MS.items():
        case = f"incidentbot {name}, n={runs}, vs python -c pass"
        for metric in ("wall_min_ms", "wall_p50_ms", "cpu_p50_ms"):
            value = summary[name][metric]
            judged = metric == "wall_p50_ms"
            rows.append(
                Row(
                    "S CLI start-up",
                    case,
                    metric.removesuffix("_ms").replace("_", " "),
                    value,
                    base[metric],
                    stats.ratio(value, base[metric]),
                    f"<= {target:.0f} ms" if judged else "",
                    value <= target if judged else None,
                )
            )
    return rows


# --------------------------------------------------------------------------------------- R. Slack's rate limits

BURST_TEXT = "note burst mark-{i}-x: edge CPU back under 40% on pop {i}"
UNPACED = {"SLACK_PACING": "off", "SLACK_BATCHING": "off"}
"""The baseline: one Slack call per outbox item, sent as soon as claimed (the outbox before issue 18)."""


def _burst(ctx: Context, env: dict[str, str], limited: bool, notes: int, seconds: float) -> dict[str, Any]:
    """``notes`` notes sent to one incident's channel over ``seconds`` (signed HTTP, one every seconds/notes), the
    outbox left to deliver them; the Web API calls the fake Slack received from the first note until the outbox
    is empty, and the time until the last line reached the channel."""
    slack = ctx.slack
    url = ctx.sqlite_url("burst")
    channel = dataset.seed_live(url, 1, slack.add_channel)[0]
    slack.limit_channel_rate(1.0 if limited else 0.0)
    with ctx.serving("bot", url, **env) as bot:
        client = _Client(bot.url)
        slack.forget_calls()
        slack.arrivals.clear()
        started = time.perf_counter()
        for i in range(notes):
            time.sleep(max(0.0, started + i * seconds / notes - time.perf_counter()))
            body, headers = _slash(BURST_TEXT.format(i=i), channel)
            assert client.post("/slack/events", body, headers) == 200
        sent = time.perf_counter() - started
        client.close()
        last = max(slack.wait_marker(f"mark-{i}-x", timeout=600) for i in range(notes)) - started
        deadline = time.monotonic() + 120
        while _outbox_backlog(url) and time.monotonic() < deadline:
            time.sleep(0.2)
        calls = [c for c in slack.calls if c.method != "response_url"]
    slack.limit_channel_rate(0.0)
    channel_id = channel[0]
    posts = [c for c in calls if c.method == "chat.postMessage" and c.params.get("channel") == channel_id]
    lines = [line for c in posts if c.ok for line in str(c.params.get("text") or "").split("\n")]
    marks = [m.group(0) for line in lines if (m := MARKER.search(line))]
    slack.forget_calls()
    return {
        "calls": len(calls),
        "channel_posts": len(posts),
        "status_edits": sum(1 for c in calls if c.method == "chat.update" and c.params.get("channel") == channel_id),
        "refused_429": sum(1 for c in calls if c.status == 429),
        "by_method": {m: sum(1 for c in calls if c.method == m) for m in sorted({c.method for c in calls})},
        "sent_seconds": round(sent, 2),
        "last_line_seconds": round(last, 2),
        "every_line_once_in_order": marks == [f"mark-{i}-x" for i in range(notes)],
    }


def bench_slack(ctx: Context) -> list[Row]:
    """Slack calls per transition for a burst of notes to one incident (100 in 10 s), pacing and batching on
    (the default) against one call per item unpaced, without and with the fake's limit of one post per second
    per channel. Under that limit the unpaced baseline retries each refused line through the outbox's backoff
    and idle poll (about 5 s a line), so that case sends 20 notes in 2 s (``--quick`` 10 in 1 s, not in
    ``--smoke``)."""
    cases = [(False, ctx.size(100, 100, 10), ctx.size(10, 10, 1))]
    if not ctx.smoke:
        cases.append((True, ctx.size(20, 10, 0), ctx.size(2, 1, 0)))
    rows: list[Row] = []
    details: dict[str, Any] = {}
    for limited, notes, seconds in cases:
        paced = _burst(ctx, {"SLACK_PACING": "on"}, limited, notes, seconds)  # on, the default, also in --smoke
        base = _burst(ctx, UNPACED, limited, notes, seconds)
        label = f"{notes} notes in {seconds} s, fake limit {'1 post/s/channel' if limited else 'off'}"
        details[label] = {"paced_batched": paced, "one_call_per_item": base}
        name = "R Slack calls per transition"
        rows.append(
            Row(
                name,
                label,
                "calls/transition",
                paced["calls"] / notes,
                base["calls"] / notes,
                stats.ratio(paced["calls"], base["calls"]),
                unit="",
            )
        )
        for metric in ("channel_posts", "status_edits", "refused_429", "last_line_seconds"):
            rows.append(
                Row(
                    name,
                    label,
                    metric.replace("_", " "),
                    paced[metric],
                    base[metric],
                    stats.ratio(paced[metric], base[metric]) if base[metric] else None,
                    unit="s" if metric.endswith("seconds") else "",
                )
            )
        if not (paced["every_line_once_in_order"] and base["every_line_once_in_order"]):
            rows.append(Row(name, label, "LINES LOST OR OUT OF ORDER", 1, unit=""))
    ctx.details["slack_burst"] = details
    return rows


BENCHES: dict[str, Callable[[Context], list[Row]]] = {
    "ack": bench_ack,
    "e2e": bench_e2e,
    "writes": bench_writes,
    "views": bench_views,
    "postmortem": bench_postmortem,
    "timeline_view": bench_timeline_view,
    "memory": bench_memory,
    "replicas": bench_replicas,
    "alerts": bench_alerts,
    "storm": bench_alert_storm,
    "copy": bench_copy,
    "export": bench_export,
    "cli": bench_cli,
    "web": bench_web,
    "slack": bench_slack,
}
