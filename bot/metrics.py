"""Prometheus metrics for ``GET /metrics``, exposed with prometheus-client (its text exposition format).

Two kinds, so that several replicas behind one load balancer are read correctly:

* **Counters and the histogram count what this process did** (``incidentbot_transitions_total``,
  ``incidentbot_slash_command_ack_seconds``, ``incidentbot_slack_api_errors_total``,
  ``incidentbot_webhook_requests_total``, ``incidentbot_nudges_sent_total``,
  ``incidentbot_slack_signature_rejected_total``), next to the process's own ``process_*`` and
  ``python_*`` metrics: each replica is scraped as its own target and PromQL's ``sum`` adds them up.
* **Gauges describe the shared database** (open incidents, the outbox, error budgets): they are read
  from it at scrape time by ``DatabaseCollector``, so whichever replica is scraped answers the same,
  correct value. Alert on them with ``max`` (or ``max by (service)``), not ``sum``, since every
  replica reports them.

Names follow Prometheus's conventions ("Metric and label naming", prometheus.io/docs/practices/naming):
the ``incidentbot_`` prefix, base units (seconds), ``_total`` for counters, ``_ratio`` for a share.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from contextvars import ContextVar
from datetime import datetime
from typing import Generic, TypeVar

import structlog
from aiohttp import web
from prometheus_client import (
    CollectorRegistry,
    Counter,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

from bot.domain.model import EntryKind, Severity, Status
from bot.usecases.budgets import BudgetUseCases
from bot.usecases.shared import Transactions

log = structlog.get_logger("incidentbot.metrics")
T = TypeVar("T")
_AWAITED_READ: ContextVar[list[Metric] | BaseException | None] = ContextVar("metrics_awaited_read", default=None)
"""The database read ``metrics_handler`` awaited for this scrape, for ``DatabaseCollector.collect``."""

METRICS_PATH = "/metrics"

# Counters of this process. Created unregistered: each server's registry registers them (tests run several).
TRANSITIONS = Counter(
    "incidentbot_transitions",
    "Timeline entries recorded by this process's commands, webhooks and events, by kind (declared, lead, "
    "mitigation, resolved, note...).",
    ["kind"],
    registry=None,
)
SLASH_COMMAND_ACK = Histogram(
    "incidentbot_slash_command_ack_seconds",
    "Seconds from a /incident request's arrival to its acknowledgement, over HTTP or Socket Mode (Slack shows "
    "operation_timeout after 3 s).",
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 5.0, 10.0),
    registry=None,
)
SLACK_API_ERRORS = Counter(
    "incidentbot_slack_api_errors",
    "Slack Web API calls that failed, by method and Slack's error code (http_<status> without one, "
    "network_error when Slack did not answer).",
    ["method", "code"],
    registry=None,
)
WEBHOOK_REQUESTS = Counter(
    "incidentbot_webhook_requests",
    "Webhook requests (alerts, changes) answered, by route and HTTP status.",
    ["route", "status"],
    registry=None,
)
NUDGES_SENT = Counter(
    "incidentbot_nudges_sent", "Status-update reminders queued for quiet incident channels.", registry=None
)
SIGNATURE_REJECTED = Counter(
    "incidentbot_slack_signature_rejected",
    "Requests to /slack/events refused (401) because of their Slack signature, by reason.",
    ["reason"],
    registry=None,
)
PROCESS_METRICS: tuple[Collector, ...] = (
    TRANSITIONS,
    SLASH_COMMAND_ACK,
    SLACK_API_ERRORS,
    WEBHOOK_REQUESTS,
    NUDGES_SENT,
    SIGNATURE_REJECTED,
)

OPEN_STATUSES = tuple(s for s in Status if s.is_open)


def count_entry(kind: EntryKind) -> None:
    """``Transactions.on_entry``: one more timeline entry of ``kind`` recorded by this process."""
    TRANSITIONS.labels(kind=kind.value).inc()


_DATABASE_GAUGES: dict[str, tuple[str, tuple[str, ...]]] = {
    "incidentbot_database_up": ("1 when the database answered this scrape's queries.", ()),
    "incidentbot_open_incidents": (
        "Unresolved incidents by severity and status (every combination, zero included).",
        ("severity", "status"),
    ),
    "incidentbot_outbox_pending_items": ("Slack and PagerDuty calls queued, not yet delivered.", ()),
    "incidentbot_outbox_oldest_pending_age_seconds": (
        "Seconds since the oldest undelivered outbox item was queued (0 when none waits).",
        (),
    ),
    "incidentbot_outbox_dead_items": (
        "Outbox items given up on (`incidentbot outbox --status dead` lists them, `--retry ID` revives one).",
        (),
    ),
    "incidentbot_error_budget_remaining_ratio": (
        "Share of each catalogued service's error budget left in its SLO window (1 = untouched, "
        "0 or less = exhausted).",
        ("service",),
    ),
    "incidentbot_error_budget_remaining_seconds": (
        "Error budget left in each catalogued service's SLO window, in seconds of full outage (negative "
        "when overspent).",
        ("service",),
    ),
}
"""The gauges ``DatabaseCollector`` reports, in the order it yields them: name -> (help text, label names)."""


def _gauge(name: str, value: float | None = None) -> GaugeMetricFamily:
    """The family of the database gauge ``name`` (``_DATABASE_GAUGES``), with ``value`` when it has no labels."""
    documentation, labels = _DATABASE_GAUGES[name]
    return GaugeMetricFamily(name, documentation, value=value, labels=list(labels) or None)


PROBE_TIMEOUT_SECONDS = 5.0
"""How long ``/healthz``'s ping and ``/metrics``' database read may take before they count as the database not
answering: under Prometheus's default scrape timeout (10 s, prometheus.io "Configuration", scrape_config)."""


class BoundedProbe(Generic[T]):
    """A blocking database probe (``/healthz``'s ping, ``/metrics``' read) answered within ``timeout`` seconds.

    The probe runs in a daemon thread of its own, one at a time: a call while the last run is still waiting for
    the database (a paused PostgreSQL, which no server-side timeout ends) waits for that same run, up to
    ``timeout``, instead of starting another, so probes repeated every few seconds never pile up threads or
    connections; a daemon thread does not hold the process at exit. ``__call__`` returns the probe's result, or
    raises ProbeTimedOut; the probe's own exception is raised as it is.
    """

    def __init__(self, probe: Callable[[], T], timeout: float = PROBE_TIMEOUT_SECONDS, name: str = "probe") -> None:
        self.probe = probe
        self.timeout = timeout
        self.name = name
        self._lock = threading.Lock()
        self._running: Future[T] | None = None

    def __call__(self) -> T:
        try:
            return self._start().result(timeout=self.timeout)
        except FutureTimeout:
            raise self._timed_out() from None

    async def answer(self) -> T:
        """As a call, awaited on the event loop: no thread of any pool waits for the answer (``/healthz``)."""
        try:
            return await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(self._start())), self.timeout)
        except TimeoutError:
            raise self._timed_out() from None

    def _timed_out(self) -> ProbeTimedOut:
        return ProbeTimedOut(f"{self.name}: no answer within {self.timeout:g} s")

    def _start(self) -> Future[T]:
        with self._lock:
            if self._running is None or self._running.done():
                self._running = Future()
                threading.Thread(target=self._run, args=(self._running,), name=self.name, daemon=True).start()
            return self._running

    def _run(self, future: Future[T]) -> None:
        try:
            result = self.probe()
        except BaseException as exc:  # handed to the caller, who decides
            if not future.cancelled():
                future.set_exception(exc)
            return
        if not future.cancelled():
            future.set_result(result)


class ProbeTimedOut(Exception):
    """A BoundedProbe's run did not answer within its timeout (it goes on in its thread)."""


class DatabaseCollector(Collector):
    """The gauges read from the database at each scrape (the same from every replica).

    ``incidentbot_database_up`` is 1 when the queries answered, 0 otherwise (the other gauges are then
    left out, not reported as zero). Error budgets come from the SLO catalogue (INCIDENT_SLO_FILE), one
    series per catalogued service.
    """

    def __init__(self, transactions: Transactions, budgets: BudgetUseCases) -> None:
        self.transactions = transactions
        self.budgets = budgets
        self._probe = BoundedProbe(lambda: list(self._read()), name="metrics-database")

    def describe(self) -> Iterator[Metric]:
        """The families ``collect`` yields, without values: the registry asks at registration, which otherwise runs
        ``collect`` (a database read at every start of ``serve``; prometheus-client, ``CollectorRegistry.register``
        with ``auto_describe``)."""
        for name in _DATABASE_GAUGES:
            yield _gauge(name)

    def collect(self) -> Iterator[Metric]:
        """``incidentbot_database_up`` 1 and the gauges read from the database; 0 alone when the read failed or
        did not answer within ``PROBE_TIMEOUT_SECONDS`` (5 s: a scrape still answers within Prometheus's
        default 10 s scrape timeout when a lock or a paused server holds the read)."""
        up = _gauge("incidentbot_database_up")
        awaited = _AWAITED_READ.get()
        try:
            if isinstance(awaited, BaseException):
                raise awaited
            metrics = self._probe() if awaited is None else awaited
        except Exception as exc:  # the database is away: say so, and report nothing stale
            if isinstance(exc, ProbeTimedOut):  # no answer yet: expected while the database is away, no traceback
                log.warning("metrics_database_unavailable", reason=str(exc))
            else:
                log.warning("metrics_database_unavailable", exc_info=True)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from metrics

    async def read_awaited(self) -> list[Metric] | BaseException:
        """The database read, awaited on the event loop (``BoundedProbe.answer``): what ``collect`` then uses when
        ``metrics_handler`` hands it over, so a scrape holds no reader thread while the database does not answer.
        Its failure is returned, for ``collect`` to report."""
        try:
            return await self._probe.answer()
        except Exception as exc:
            return exc

    def _read(self) -> Iterator[Metric]:
        now = self.transactions.clock()
        with self.transactions.read() as uow:
            counts = uow.incidents.count_open()
            queue = uow.outbox.queue_stats()
        incidents = _gauge("incidentbot_open_incidents")
        for severity in Severity:
            for status in OPEN_STATUSES:
                incidents.add_metric([severity.value, status.value], counts.get((severity, status), 0))
        yield incidents
        yield _gauge("incidentbot_outbox_pending_items", queue.pending)
        yield _gauge("incidentbot_outbox_oldest_pending_age_seconds", _age_seconds(queue.oldest_pending_at, now))
        yield _gauge("incidentbot_outbox_dead_items", queue.dead)
        reports = self.budgets.reports()
        ratio = _gauge("incidentbot_error_budget_remaining_ratio")
        seconds = _gauge("incidentbot_error_budget_remaining_seconds")
        for report in reports:
            ratio.add_metric([report.slo.service], report.remaining_share)
            seconds.add_metric([report.slo.service], report.remaining.total_seconds())
        yield ratio
        yield seconds


def _age_seconds(since: datetime | None, now: datetime) -> float:
    return max(0.0, (now - since).total_seconds()) if since is not None else 0.0


def build_registry(database: DatabaseCollector) -> CollectorRegistry:
    """A registry with this process's counters, its process/platform/GC metrics and the database gauges
    (``database``, which ``metrics_handler`` reads for each scrape)."""
    registry = CollectorRegistry(auto_describe=True)
    for collector in PROCESS_METRICS:
        registry.register(collector)
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    registry.register(database)
    return registry


def metrics_handler(
    registry: CollectorRegistry,
    run_in_thread: Callable[[Callable[[], bytes]], Awaitable[bytes]],
    database: DatabaseCollector,
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """``GET /metrics``: the registry in the format the scraper's Accept header asks for (Prometheus's text
    format by default, OpenMetrics on request: prometheus-client's ``choose_encoder``). The registry's database
    collector ``database`` is read first, in its probe's own thread, awaited on the event loop
    (``DatabaseCollector.read_awaited``); the registry is then encoded in ``run_in_thread`` (the readers' pool)."""

    async def metrics(request: web.Request) -> web.Response:
        encode, content_type = choose_encoder(request.headers.get("Accept", ""))
        # Scrapes in numbers while the database does not answer hold no reader thread (the second fresh tester
        # starved `help`).
        token = _AWAITED_READ.set(await database.read_awaited())
        try:
            body = await run_in_thread(lambda: encode(registry))  # the context, and so the read, goes with it
        finally:
            _AWAITED_READ.reset(token)
        return web.Response(body=body, headers={"Content-Type": content_type})

    return metrics


def webhook_counter(paths: frozenset[str]) -> Callable[..., Awaitable[web.StreamResponse]]:
    """An aiohttp middleware counting requests to the webhook routes ``paths`` by route and final status
    (an HTTP error raised by a handler counts with its status; any other exception as 500)."""

    @web.middleware
    async def count_webhooks(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        route = request.match_info.route.resource.canonical if request.match_info.route.resource else ""
        if route not in paths:
            return await handler(request)
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            WEBHOOK_REQUESTS.labels(route=route, status=str(status)).inc()

    return count_webhooks


def observe_slash_command(started: float) -> None:
    """One slash command answered; ``started`` is its arrival on ``time.monotonic``'s clock."""
    SLASH_COMMAND_ACK.observe(time.monotonic() - started)
