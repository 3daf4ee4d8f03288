"""The use cases wired over one store and one clock: ``UseCases``, one object per aggregate.

``bot.app`` (the composition root) builds them from settings; the CLI's demo builds its own over a
replay clock through the opener ``bot.app`` gives it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.domain.slo import EMPTY_CATALOG, SloCatalog
from bot.store import IncidentStore
from bot.usecases.alerts import AlertUseCases
from bot.usecases.budgets import BudgetUseCases
from bot.usecases.changes import ChangeUseCases
from bot.usecases.channels import ChannelUseCases
from bot.usecases.events import EventUseCases
from bot.usecases.followups import FollowupUseCases
from bot.usecases.incidents import IncidentUseCases
from bot.usecases.nudges import NudgeUseCases
from bot.usecases.outbox import OutboxUseCases
from bot.usecases.publishing import PublishingUseCases
from bot.usecases.reviews import ReviewUseCases
from bot.usecases.shared import Clock, StandingPlan, Transactions, utc_now
from bot.usecases.statuspage import StatuspageUseCases


@dataclass(frozen=True)
class UseCases:
    """Every use case, one object per aggregate, over one store and one clock."""

    store: IncidentStore
    clock: Clock
    transactions: Transactions
    incidents: IncidentUseCases
    alerts: AlertUseCases
    changes: ChangeUseCases
    events: EventUseCases
    outbox: OutboxUseCases
    budgets: BudgetUseCases
    nudges: NudgeUseCases
    followups: FollowupUseCases
    publishing: PublishingUseCases
    reviews: ReviewUseCases
    statuspage: StatuspageUseCases
    channels: ChannelUseCases


def wire_usecases(
    store: IncidentStore,
    clock: Clock = utc_now,
    *,
    strict_roles: bool = False,
    slos: SloCatalog = EMPTY_CATALOG,
    standing_plans: Sequence[StandingPlan] = (),
    tracker: str | None = None,
    publish_targets: Sequence[str] = (),
    statuspage_resolve_text: str | None = None,
) -> UseCases:
    """The use cases over an open ``store``; ``standing_plans`` are queued after every transition (paging,
    tracker filing); ``tracker`` names the tracker follow-ups are filed in (None: ``followup export`` is refused);
    ``publish_targets`` the configured publishing targets (``confluence``, ``git``; none: ``postmortem publish``
    is refused); ``statuspage_resolve_text`` the public sentence of a status-page resolve nobody worded (None: no
    status page is configured, ``statuspage`` commands are refused)."""
    transactions = Transactions(store, clock, standing_plans)
    incidents = IncidentUseCases(
        transactions,
        strict_roles=strict_roles,
        slos=slos,
        tracker=tracker,
        statuspage_resolve_text=statuspage_resolve_text,
    )
    return UseCases(
        store=store,
        clock=clock,
        transactions=transactions,
        incidents=incidents,
        alerts=AlertUseCases(transactions, slos),
        changes=ChangeUseCases(transactions, slos),
        events=EventUseCases(transactions),
        outbox=OutboxUseCases(transactions),
        budgets=BudgetUseCases(transactions, slos),
        nudges=NudgeUseCases(incidents),
        followups=FollowupUseCases(incidents),
        publishing=PublishingUseCases(incidents, publish_targets),
        reviews=ReviewUseCases(incidents),
        statuspage=StatuspageUseCases(transactions),
        channels=ChannelUseCases(transactions),
    )
