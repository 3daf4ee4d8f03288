"""SQLModel tables: incidents, their timeline, IRT participants, hypotheses, follow-ups, seen Slack events.

Rows never leave the ``store`` package: ``repo`` converts them to domain objects.
Timeline rows are append-only; the other tables are the incident's current state.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlmodel import Field, SQLModel

from bot.store.columns import UTCDateTime

JSONData = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _utc_column(nullable: bool = False, index: bool = False) -> Any:
    return Field(sa_type=UTCDateTime, nullable=nullable, index=index)


class IncidentRow(SQLModel, table=True):
    """One incident's current state; ``version`` guards against lost updates."""

    __tablename__ = "incidents"

    id: int | None = Field(default=None, primary_key=True)
    number: int = Field(unique=True)
    title: str = Field(sa_type=sa.Text)
    description: str = Field(default="", sa_type=sa.Text)
    severity: str = Field(max_length=8)
    status: str = Field(max_length=16, index=True)
    declared_at: datetime = _utc_column()
    declared_by: str = Field(max_length=64)
    lead: str | None = Field(default=None, max_length=64)
    channel_id: str | None = Field(default=None, max_length=64, unique=True)
    resolved_at: datetime | None = _utc_column(nullable=True)
    resolved_by: str | None = Field(default=None, max_length=64)
    summary: str = Field(default="", sa_type=sa.Text)
    status_message_ts: str | None = Field(default=None, max_length=32)
    postmortem_url: str | None = Field(default=None, sa_type=sa.Text)
    service: str | None = Field(default=None, max_length=64, index=True)
    impact_percent: float | None = Field(default=None)
    private: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    """Declared ``--private`` (migration 0010): a private channel, title and details for members only."""
    announcement_channel: str | None = Field(default=None, max_length=64)
    announcement_ts: str | None = Field(default=None, max_length=32)
    """Where the announcement was posted: it is edited in place and status updates thread under it."""
    channel_archived_at: datetime | None = _utc_column(nullable=True)
    """When the bot archived the channel (cleared when a reopen unarchives it)."""
    channel_problem: str | None = Field(default=None, sa_type=sa.Text, nullable=True)
    """Why Slack no longer lets the bot use the channel (archived by hand, bot removed), for App Home."""
    statuspage_incident_id: str | None = Field(default=None, max_length=64)
    """Unused since migration 0012 (``statuspage_incidents`` keeps one id per ``statuspage open``)."""
    latest_change_kind: str | None = Field(default=None, max_length=32)
    latest_change_at: datetime | None = _utc_column(nullable=True)
    """The kind and time (UTC) of the incident's latest status change entry (``STATUS_CHANGE_KINDS``: the one that
    happened last, of equal times the one written last), as stored, corrections not applied; None before the first
    one. Kept by triggers on ``timeline_entries`` whoever writes an entry (migration 0014), so loading the incident
    reads no timeline."""
    corrected: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    """Its timeline holds a correction or strike entry (kept by a trigger likewise, migration 0014)."""
    version: int = Field(default=1)
    created_at: datetime = _utc_column()
    updated_at: datetime = _utc_column()


class TimelineEntryRow(SQLModel, table=True):
    """An append-only fact about an incident."""

    __tablename__ = "timeline_entries"
    __table_args__ = (
        sa.Index("ix_timeline_entries_incident_order", "incident_id", "occurred_at", "recorded_at"),
        # An incident's entries of some kinds (migration 0013): whether it was corrected, its follow-ups' changes.
        sa.Index("ix_timeline_entries_incident_kind", "incident_id", "kind", "occurred_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incidents.id", ondelete="RESTRICT")
    kind: str = Field(max_length=32)
    occurred_at: datetime = _utc_column()
    recorded_at: datetime = _utc_column()
    actor: str = Field(max_length=64)
    text: str = Field(default="", sa_type=sa.Text)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSONData)


class ParticipantRow(SQLModel, table=True):
    """A member of an incident's response team and their role."""

    __tablename__ = "participants"
    __table_args__ = (sa.UniqueConstraint("incident_id", "user_id", name="uq_participants_incident_user"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incidents.id", ondelete="RESTRICT")
    user_id: str = Field(max_length=64)
    role: str | None = Field(default=None, max_length=64)
    joined_at: datetime = _utc_column()


class HypothesisRow(SQLModel, table=True):
    """A numbered theory about the cause and how it turned out."""

    __tablename__ = "hypotheses"
    __table_args__ = (sa.UniqueConstraint("incident_id", "number", name="uq_hypotheses_incident_number"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incidents.id", ondelete="RESTRICT")
    number: int
    text: str = Field(sa_type=sa.Text)
    status: str = Field(max_length=16)
    outcome: str = Field(default="", sa_type=sa.Text)
    proposed_by: str = Field(max_length=64)
    proposed_at: datetime = _utc_column()
    decided_at: datetime | None = _utc_column(nullable=True)


class FollowupRow(SQLModel, table=True):
    """A postmortem action item: ``state`` open/done/dropped, ``due`` a UTC day, ``done_at`` when done,
    ``tracker_*`` the issue filed for it (migration 0007)."""

    __tablename__ = "followups"
    __table_args__ = (sa.UniqueConstraint("incident_id", "number", name="uq_followups_incident_number"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incidents.id", ondelete="RESTRICT")
    number: int
    text: str = Field(sa_type=sa.Text)
    owner: str | None = Field(default=None, max_length=64)
    created_at: datetime = _utc_column()
    state: str = Field(default="open", max_length=16)
    due: date | None = Field(default=None, sa_type=sa.Date, nullable=True)
    done_at: datetime | None = _utc_column(nullable=True)
    tracker_key: str | None = Field(default=None, max_length=128)
    tracker_url: str | None = Field(default=None, sa_type=sa.Text, nullable=True)


class ProcessedEventRow(SQLModel, table=True):
    """A Slack Events API ``event_id`` that already took effect (Slack retries deliveries)."""

    __tablename__ = "processed_events"

    event_id: str = Field(primary_key=True, max_length=64)
    received_at: datetime = _utc_column()


class OutboxRow(SQLModel, table=True):
    """A Slack call (or other side effect) owed after a committed transition, until it is delivered.

    Delivered rows are deleted; undeliverable ones stay with status ``dead`` for ``incidentbot outbox``.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        sa.Index("ix_outbox_due", "status", "next_attempt_at"),
        sa.Index("ix_outbox_incident_order", "incident_number", "lane", "status", "id"),
        sa.Index("ix_outbox_incident_kind", "incident_number", "kind", "status"),  # a coalescing twin (0013)
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=64)
    lane: str = Field(default="", max_length=32)
    """The destination (``slack``, ``pagerduty``): an incident's items are delivered in order within a lane."""
    incident_number: int | None = Field(default=None)
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSONData)
    status: str = Field(default="pending", max_length=16)
    attempts: int = Field(default=0)
    crashes: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    """Attempts that ended in an unexpected exception (a deliverer's bug); the worker buries at 3."""
    next_attempt_at: datetime = _utc_column()
    locked_until: datetime | None = _utc_column(nullable=True)
    locked_by: str | None = Field(default=None, max_length=128)
    last_error: str = Field(default="", sa_type=sa.Text)
    created_at: datetime = _utc_column()
    updated_at: datetime = _utc_column()


class ChangeEventRow(SQLModel, table=True):
    """A deploy or config change reported by CI/CD (``POST /changes``)."""

    __tablename__ = "change_events"
    __table_args__ = (sa.Index("ix_change_events_service_time", "service", "occurred_at"),)

    id: int | None = Field(default=None, primary_key=True)
    service: str = Field(max_length=64)
    description: str = Field(sa_type=sa.Text)
    author: str = Field(max_length=256)
    occurred_at: datetime = _utc_column()
    link: str = Field(default="", sa_type=sa.Text)
    received_at: datetime = _utc_column()


class AlertGroupRow(SQLModel, table=True):
    """The incidents one alert group (``groupKey``) declared, one row per incident.

    ``generation`` counts the group's incidents; the unique pair makes replicas that receive the same
    new group at once declare one incident (the loser's insert fails, it retries and finds it open).
    """

    __tablename__ = "alert_groups"
    __table_args__ = (sa.UniqueConstraint("group_id", "generation", name="uq_alert_groups_group_generation"),)

    id: int | None = Field(default=None, primary_key=True)
    group_id: str = Field(max_length=64)
    generation: int
    incident_number: int
    group_key: str = Field(sa_type=sa.Text)
    source: str = Field(max_length=16)
    created_at: datetime = _utc_column()


class AlertEventRow(SQLModel, table=True):
    """One state change of one alert episode, recorded once per group (see ``bot.domain.alerts``).

    The unique key (group, fingerprint, startsAt, state) is what makes repeats, HA duplicates,
    reordering and racing replicas record a state change exactly once: inserts skip on conflict.
    ``incident_number`` is the incident whose timeline holds it (None: the group had no incident).
    """

    __tablename__ = "alert_events"
    __table_args__ = (
        sa.UniqueConstraint("group_id", "fingerprint", "starts_at", "state", name="uq_alert_events_change"),
    )

    id: int | None = Field(default=None, primary_key=True)
    group_id: str = Field(max_length=64)
    fingerprint: str = Field(max_length=128)
    starts_at: datetime = _utc_column()
    state: str = Field(max_length=8)
    occurred_at: datetime = _utc_column()
    incident_number: int | None = Field(default=None, index=True)
    recorded_at: datetime = _utc_column()


class InstallationRow(SQLModel, table=True):
    """This installation's identity: one row, written by migration 0005 with a random uuid4.

    PagerDuty ``dedup_key`` values are derived from it, so a staging bot or a reset database never
    folds its INC-1 into another installation's open INC-1.
    """

    __tablename__ = "installation"

    id: int = Field(default=1, primary_key=True)
    installation_id: str = Field(max_length=64)
    created_at: datetime = _utc_column()


class PageRow(SQLModel, table=True):
    """The PagerDuty page of one incident: written in the transaction that queues its trigger or resolve.

    A row exists once the incident was ever paged; ``open`` says a trigger was queued and no resolve yet.
    """

    __tablename__ = "pages"

    incident_number: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    dedup_key: str = Field(max_length=255)
    open: bool
    triggers: int = Field(default=0)
    updated_at: datetime = _utc_column()


class StatuspageIncidentRow(SQLModel, table=True):
    """One ``statuspage open`` of an incident (its ``opened``-th, 1 first) as Statuspage knows it (migration 0012):
    ``statuspage_id`` once Statuspage answered its create; ``given_up`` when its resolve was delivered before
    it was created (the open was refused, then `statuspage resolve` gave it up): it is never created after."""

    __tablename__ = "statuspage_incidents"

    incident_number: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    opened: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    statuspage_id: str | None = Field(default=None, max_length=64)
    given_up: bool = Field(default=False)
    updated_at: datetime = _utc_column()
