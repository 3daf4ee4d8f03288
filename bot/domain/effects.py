"""What a decision owes the outside world, as data: an ``Effect`` is queued in the transaction of the
use case that owes it, an ``OutboxItem`` is that effect as the outbox keeps it until it is delivered.

Plain data shared by every layer above: the store keeps them (``bot.store.outbox``), the use cases
queue them, the adapters plan them (``bot.slack.delivery``, ``bot.integrations.pagerduty``) and
deliver them, the worker (``bot.outbox.worker``) hands them over. Defined here, at the bottom, so
that no adapter has to import the store to name one.

An effect's ``kind`` names its destination before the dot (``slack.post_line``,
``pagerduty.trigger``): its delivery lane and its deliverer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any


@dataclass(frozen=True)
class Effect:
    """A side effect owed after a commit. ``coalesce``: skip it if an identical one is already waiting;
    ``not_before``: first attempt no sooner than this long after it is queued (a Retry-After)."""

    kind: str
    payload: dict[str, Any] = field(default_factory=dict)
    incident_number: int | None = None
    coalesce: bool = False
    not_before: timedelta | None = None


@dataclass(frozen=True)
class OutboxItem:
    """An effect as stored, with its delivery history: ``status`` ``pending`` or ``dead``, ``attempts``
    so far, the ``last_error`` of a failed one; times in UTC."""

    id: int
    kind: str
    payload: dict[str, Any]
    incident_number: int | None
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str
    created_at: datetime
    crashes: int = 0
    """Attempts so far that ended in an unexpected exception (a bug in the deliverer)."""
