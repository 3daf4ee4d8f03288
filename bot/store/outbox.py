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

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from bot.domain.effects import Effect as Effect
from bot.domain.effects import OutboxItem as OutboxItem
from bot.store.tables import OutboxRow

PENDING = "pending"
DEAD = "dead"
_OUTBOX: sa.Table = OutboxRow.__table__  # type: ignore[attr-defined]
_INSERT = sa.insert(_OUTBOX)


def _waiting(incident: sa.ColumnElement[bool]) -> sa.Select[tuple[bool]]:
    return sa.select(
        sa.exists().where(
            incident,
            _OUTBOX.c.kind == sa.bindparam("kind"),
            _OUTBOX.c.status == PENDING,
            _OUTBOX.c.attempts == 0,
            sa.or_(_OUTBOX.c.locked_until.is_(None), _OUTBOX.c.locked_until < sa.bindparam("now")),
        )
    )


_WAITING = _waiting(_OUTBOX.c.incident_number == sa.bindparam("number"))
_WAITING_WITHOUT_INCIDENT = _waiting(_OUTBOX.c.incident_number.is_(None))


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

    def __init__(self, session: Session, connection: sa.Connection) -> None:
        """``connection``: the session's connection, for Core statements."""
        self._session = session
        self._connection = connection

    def enqueue(self, effects: Sequence[Effect], now: datetime) -> None:
        """Add ``effects`` in order; a coalescing effect already pending and unclaimed is not added twice.

        One query per coalescing effect (for its waiting twin), then one insert of every row (an executemany
        for several, in order)."""
        waiting: set[tuple[int | None, str]] = set()
        for effect in effects:
            key = (effect.incident_number, effect.kind)
            if effect.coalesce and key not in waiting and self._waiting_twin(effect, now):
                waiting.add(key)
        rows: list[dict[str, Any]] = []
        for effect in effects:
            key = (effect.incident_number, effect.kind)
            if effect.coalesce and key in waiting:
                continue
            waiting.add(key)  # any row added here is a waiting twin for a later coalescing effect
            rows.append(
                {
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
            )
        if rows:
            self._connection.execute(_INSERT, rows[0] if len(rows) == 1 else rows)

    def _waiting_twin(self, effect: Effect, now: datetime) -> bool:
        """Whether an item of ``effect``'s kind and incident is pending, never tried and not leased: a coalescing
        effect is then already owed."""
        query = _WAITING_WITHOUT_INCIDENT if effect.incident_number is None else _WAITING
        parameters = {"number": effect.incident_number, "kind": effect.kind, "now": now}
        return bool(self._connection.execute(query, parameters).scalar())

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
        self, item_id: int, next_attempt_at: datetime, error: str, now: datetime, *, crashed: bool = False
    ) -> None:
        """Not delivered this time: release the lease and try again at ``next_attempt_at``; ``crashed``
        counts the attempt among the item's crashes (an unexpected exception in its deliverer)."""
        self._session.execute(
            sa.update(OutboxRow)
            .where(col(OutboxRow.id) == item_id)
            .values(
                crashes=col(OutboxRow.crashes) + (1 if crashed else 0),
                next_attempt_at=next_attempt_at,
                locked_until=None,
                locked_by=None,
                last_error=error[:2000],
                updated_at=now,
            )
        )

    def bury(self, item_id: int, error: str, now: datetime) -> None:
        """Undeliverable: keep it, visibly, without retrying for ever."""
        self._session.execute(
            sa.update(OutboxRow)
            .where(col(OutboxRow.id) == item_id)
            .values(status=DEAD, locked_until=None, locked_by=None, last_error=error[:2000], updated_at=now)
        )

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
