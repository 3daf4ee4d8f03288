"""The outbox repository: enqueue inside a transition's transaction, claim, complete, retry, bury.

Items of one incident are delivered in order within their **lane**, the destination named by the
kind's prefix (``slack.create_channel`` -> ``slack``, ``pagerduty.trigger`` -> ``pagerduty``): an
item is claimable only when no earlier pending item of the same incident and lane exists. So a
page never waits behind a Slack call that fails (Slack down), and a Slack line never waits for
PagerDuty; a ``resolve`` still follows its ``trigger``, and Slack items keep their order.

Claims are leases (``locked_until``), taken with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL so replicas
share the work without double delivery.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from bot.domain.effects import Effect as Effect
from bot.domain.effects import OutboxItem as OutboxItem
from bot.store.prepared import Statement
from bot.store.tables import OutboxRow

PENDING = "pending"
DEAD = "dead"
_OUTBOX: sa.Table = OutboxRow.__table__  # type: ignore[attr-defined]


def _twin_waiting(index: int, has_incident: bool) -> sa.Exists:
    """An item of row ``index``'s kind and incident that is pending, never tried and not leased (a coalescing
    effect is then already owed)."""
    incident = (
        _OUTBOX.c.incident_number == sa.bindparam(f"incident_number_{index}")
        if has_incident
        else _OUTBOX.c.incident_number.is_(None)
    )
    return sa.exists().where(
        incident,
        _OUTBOX.c.kind == sa.bindparam(f"kind_{index}"),
        _OUTBOX.c.status == PENDING,
        _OUTBOX.c.attempts == 0,
        sa.or_(_OUTBOX.c.locked_until.is_(None), _OUTBOX.c.locked_until < sa.bindparam("now")),
    )


PLAIN, GUARDED, GUARDED_WITHOUT_INCIDENT = 0, 1, 2
"""How each row of an ``_insert_guarded`` statement is added: always, or only without a waiting twin (of its
incident, or of no incident)."""
_ENQUEUE_COLUMNS = (
    "kind",
    "lane",
    "incident_number",
    "payload",
    "status",
    "attempts",
    "crashes",
    "next_attempt_at",
    "locked_until",
    "locked_by",
    "last_error",
    "created_at",
    "updated_at",
)
_INSERT = Statement(sa.insert(_OUTBOX), column_keys=_ENQUEUE_COLUMNS)
"""The plain insert of outbox rows (``OutboxRepository._row``), run as driver SQL (bot.store.prepared)."""


@functools.lru_cache(maxsize=64)
def _insert_guarded(shape: tuple[int, ...], postgresql: bool) -> Statement:
    """One ``INSERT INTO outbox ... SELECT ... UNION ALL SELECT ...`` adding row ``i`` (parameters ``kind_i``,
    ``lane_i``, ``incident_number_i``, ``payload_i``, ``next_attempt_at_i``; ``now``) in order, each row of a
    GUARDED ``shape`` only ``WHERE NOT EXISTS`` its waiting twin: the coalescing check and the insert in one
    statement. Built once per shape and dialect (a note: a coalescing status refresh, then its line; the 64 shapes
    used last are kept).

    ``postgresql``: the NULLs are cast to their columns' types (PostgreSQL types an untyped NULL in a ``UNION``
    as text, which it will not assign to ``timestamptz``; SQLAlchemy's psycopg dialect casts every parameter
    itself). SQLite gets no casts: its ``CAST(x AS DATETIME)`` would make a number of a date."""
    c = _OUTBOX.c

    def null(column: sa.Column[Any]) -> sa.ColumnElement[Any]:
        return sa.cast(sa.null(), column.type) if postgresql else sa.null()

    now = sa.bindparam("now", type_=c.created_at.type)
    selects = []
    for index, how in enumerate(shape):
        select = sa.select(
            sa.bindparam(f"kind_{index}", type_=c.kind.type),
            sa.bindparam(f"lane_{index}", type_=c.lane.type),
            sa.bindparam(f"incident_number_{index}", type_=c.incident_number.type),
            sa.bindparam(f"payload_{index}", type_=c.payload.type),
            sa.literal(PENDING, c.status.type),
            sa.literal(0, c.attempts.type),
            sa.literal(0, c.crashes.type),
            sa.bindparam(f"next_attempt_at_{index}", type_=c.next_attempt_at.type),
            null(c.locked_until),
            null(c.locked_by),
            sa.literal("", c.last_error.type),
            now,
            now,
        )
        if how != PLAIN:
            select = select.where(~_twin_waiting(index, how == GUARDED))
        selects.append(select)
    source = selects[0] if len(selects) == 1 else sa.union_all(*selects)
    return Statement(sa.insert(_OUTBOX).from_select(list(_ENQUEUE_COLUMNS), source))


def _item(row: OutboxRow) -> OutboxItem:
    assert row.id is not None
    return OutboxItem(
        row.id,
        row.kind,
        dict(row.payload),
        row.incident_number,
        row.status,
        row.attempts,
        row.next_attempt_at,
        row.last_error,
        row.created_at,
        row.crashes,
    )


def _held_by(holder: str | None) -> list[sa.ColumnElement[bool]]:
    """The condition that worker ``holder`` holds the row's lease (none without a holder)."""
    return [] if holder is None else [col(OutboxRow.locked_by) == holder]


def lane_of(kind: str) -> str:
    """The ordering lane of an item of ``kind``: its prefix before the first dot (``pagerduty.trigger`` ->
    ``pagerduty``)."""
    return kind.split(".", 1)[0][:32]


@dataclass(frozen=True)
class QueueStats:
    """The outbox at one moment: items still to deliver, when the oldest of them was queued (UTC; None
    when there is none), and items given up on."""

    pending: int
    oldest_pending_at: datetime | None
    dead: int


class OutboxRepository:
    """The outbox table, in the unit of work's transaction."""

    def __init__(self, session: Callable[[], Session], connection: sa.Connection) -> None:
        """``session``: the transaction's ORM session, made when first asked for; ``connection``: the
        transaction's connection, for Core statements."""
        self._orm = session
        self._connection = connection

    @property
    def _session(self) -> Session:
        return self._orm()

    def enqueue(self, effects: Sequence[Effect], now: datetime) -> None:
        """Add ``effects`` in order; a coalescing effect already pending and unclaimed is not added twice.

        One statement: a plain insert (an executemany for several, in order) when no effect coalesces, else an
        ``INSERT ... SELECT`` in which each coalescing effect's row is added only where its waiting twin is not
        (``_insert_guarded``). A coalescing effect after a row of the same kind and incident in ``effects`` is
        left out here (that row is its waiting twin)."""
        added: set[tuple[int | None, str]] = set()
        kept: list[tuple[Effect, int]] = []
        for effect in effects:
            key = (effect.incident_number, effect.kind)
            if effect.coalesce and key in added:
                continue
            added.add(key)
            how = PLAIN
            if effect.coalesce:
                how = GUARDED if effect.incident_number is not None else GUARDED_WITHOUT_INCIDENT
            kept.append((effect, how))
        if not kept:
            return
        if all(how == PLAIN for _effect, how in kept):
            rows = [self._row(effect, now) for effect, _how in kept]
            _INSERT.on(self._connection).execute(self._connection, rows[0] if len(rows) == 1 else rows)
            return
        parameters: dict[str, Any] = {"now": now}
        for index, (effect, _how) in enumerate(kept):
            parameters[f"kind_{index}"] = effect.kind
            parameters[f"lane_{index}"] = lane_of(effect.kind)
            parameters[f"incident_number_{index}"] = effect.incident_number
            parameters[f"payload_{index}"] = effect.payload
            parameters[f"next_attempt_at_{index}"] = now + effect.not_before if effect.not_before else now
        shape = tuple(how for _effect, how in kept)
        connection = self._connection
        _insert_guarded(shape, connection.dialect.name == "postgresql").on(connection).execute(connection, parameters)

    @staticmethod
    def _row(effect: Effect, now: datetime) -> dict[str, Any]:
        return {
            "kind": effect.kind,
            "lane": lane_of(effect.kind),
            "incident_number": effect.incident_number,
            "payload": effect.payload,
            "status": PENDING,
            "attempts": 0,
            "crashes": 0,
            "next_attempt_at": now + effect.not_before if effect.not_before else now,
            "locked_until": None,
            "locked_by": None,
            "last_error": "",
            "created_at": now,
            "updated_at": now,
        }

    def claim(self, now: datetime, worker_id: str, lease: timedelta, limit: int) -> list[OutboxItem]:
        """Lease up to ``limit`` due items, at most one per incident and lane (the oldest pending one)."""
        earlier = aliased(OutboxRow)
        blocked = (
            select(earlier.id)
            .where(
                earlier.incident_number == OutboxRow.incident_number,
                earlier.lane == OutboxRow.lane,
                earlier.status == PENDING,
                col(earlier.id) < col(OutboxRow.id),
            )
            .exists()
        )
        query = (
            select(OutboxRow)
            .where(
                OutboxRow.status == PENDING,
                col(OutboxRow.next_attempt_at) <= now,
                sa.or_(col(OutboxRow.locked_until).is_(None), col(OutboxRow.locked_until) < now),
                sa.or_(col(OutboxRow.incident_number).is_(None), ~blocked),
            )
            .order_by(col(OutboxRow.id))
            .limit(limit)
            .with_for_update(skip_locked=True, of=OutboxRow)
        )
        rows = list(self._session.exec(query))
        for row in rows:
            row.locked_until = now + lease
            row.locked_by = worker_id
            row.attempts += 1
            row.updated_at = now
            self._session.add(row)
        self._session.flush()
        return [_item(row) for row in rows]

    def complete(self, item_id: int, carried: Sequence[int] = ()) -> None:
        """Delivered: the row is no longer owed, nor the rows ``carried`` by the same call (lines posted with it,
        status refreshes it superseded), in the same transaction."""
        ids = [item_id, *carried]
        self._session.execute(sa.delete(OutboxRow).where(col(OutboxRow.id).in_(ids)))

    def followers(
        self, head: OutboxItem, kind: str, passable: frozenset[str], now: datetime, limit: int
    ) -> list[OutboxItem]:
        """The pending items of ``kind`` that follow ``head`` (a claimed item) in its incident's lane and are due
        at ``now``, oldest first, up to ``limit``: read past items of a ``passable`` kind, stopping at the first
        item of any other kind (or not yet due), so that nothing overtakes an item it must follow."""
        if head.incident_number is None:
            return []
        query = (
            select(OutboxRow)
            .where(
                OutboxRow.incident_number == head.incident_number,
                OutboxRow.lane == lane_of(head.kind),
                OutboxRow.status == PENDING,
                col(OutboxRow.id) > head.id,
            )
            .order_by(col(OutboxRow.id))
            .limit(limit * 3 + 10)
        )
        found: list[OutboxItem] = []
        for row in self._session.exec(query):
            if row.next_attempt_at > now or (row.kind != kind and row.kind not in passable):
                break
            if row.kind == kind:
                found.append(_item(row))
                if len(found) >= limit:
                    break
        return found

    def reschedule(
        self,
        item_id: int,
        next_attempt_at: datetime,
        error: str,
        now: datetime,
        *,
        crashed: bool = False,
        holder: str | None = None,
    ) -> bool:
        """Not delivered this time: release the lease and try again at ``next_attempt_at``; ``crashed``
        counts the attempt among the item's crashes (an unexpected exception in its deliverer).

        With ``holder`` (a worker id) only while that worker still holds the item's lease: once it expired
        and another worker claimed the item, this attempt's outcome no longer decides. False when nothing
        was changed."""
        result = self._session.execute(
            sa.update(OutboxRow)
            .where(col(OutboxRow.id) == item_id, *_held_by(holder))
            .values(
                crashes=col(OutboxRow.crashes) + (1 if crashed else 0),
                next_attempt_at=next_attempt_at,
                locked_until=None,
                locked_by=None,
                last_error=error[:2000],
                updated_at=now,
            )
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def bury(self, item_id: int, error: str, now: datetime, *, holder: str | None = None) -> bool:
        """Undeliverable: keep it, visibly, without retrying for ever. ``holder`` as for ``reschedule``; False
        when nothing was changed."""
        result = self._session.execute(
            sa.update(OutboxRow)
            .where(col(OutboxRow.id) == item_id, *_held_by(holder))
            .values(status=DEAD, locked_until=None, locked_by=None, last_error=error[:2000], updated_at=now)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def revive(self, item_id: int, now: datetime) -> bool:
        """Put a dead item back in the queue (after the cause was fixed)."""
        result = self._session.execute(
            sa.update(OutboxRow)
            .where(col(OutboxRow.id) == item_id, col(OutboxRow.status) == DEAD)
            .values(status=PENDING, attempts=0, crashes=0, next_attempt_at=now, last_error="", updated_at=now)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def release_locks(self, worker_id: str) -> int:
        """A restarted worker frees the leases its previous life held, so its queue resumes at once."""
        result = self._session.execute(
            sa.update(OutboxRow)
            .where(col(OutboxRow.locked_by) == worker_id, col(OutboxRow.status) == PENDING)
            .values(locked_until=None, locked_by=None)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    def list_items(self, status: str | None = None, limit: int = 200) -> list[OutboxItem]:
        """Up to ``limit`` items (of ``status`` if given), oldest first."""
        query = select(OutboxRow).order_by(col(OutboxRow.id)).limit(limit)
        if status:
            query = query.where(OutboxRow.status == status)
        return [_item(row) for row in self._session.exec(query)]

    def is_pending(self, kind: str, incident_number: int) -> bool:
        """True when an item of ``kind`` for the incident is still to be delivered."""
        query = (
            select(OutboxRow.id)
            .where(OutboxRow.kind == kind, OutboxRow.incident_number == incident_number, OutboxRow.status == PENDING)
            .limit(1)
        )
        return self._session.exec(query).first() is not None

    def count_pending(self) -> int:
        """Items still to be delivered, due or not."""
        query = select(sa.func.count()).select_from(OutboxRow).where(OutboxRow.status == PENDING)
        return int(self._session.exec(query).one())

    def queue_stats(self) -> QueueStats:
        """Pending and dead items, and when the oldest pending one was queued (``created_at``), in one query."""
        pending = sa.func.count().filter(col(OutboxRow.status) == PENDING)
        oldest = sa.func.min(OutboxRow.created_at).filter(col(OutboxRow.status) == PENDING)
        dead = sa.func.count().filter(col(OutboxRow.status) == DEAD)
        row = self._session.execute(sa.select(pending, oldest, dead).select_from(OutboxRow)).one()
        return QueueStats(int(row[0] or 0), row[1], int(row[2] or 0))

    def next_attempt_after(self, now: datetime) -> datetime | None:
        """When the earliest pending item scheduled later than ``now`` (UTC) falls due (a retry's back-off, a
        ``Retry-After``, a paced call); None when none is scheduled."""
        query = select(sa.func.min(OutboxRow.next_attempt_at)).where(
            OutboxRow.status == PENDING, col(OutboxRow.next_attempt_at) > now
        )
        return self._session.exec(query).one()

    def count_outstanding(self, now: datetime) -> int:
        """Pending items that are due now or being delivered right now (leased)."""
        query = (
            select(sa.func.count())
            .select_from(OutboxRow)
            .where(
                OutboxRow.status == PENDING,
                sa.or_(col(OutboxRow.next_attempt_at) <= now, col(OutboxRow.locked_until) > now),
            )
        )
        return int(self._session.exec(query).one())
