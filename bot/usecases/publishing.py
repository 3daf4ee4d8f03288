"""Publishing the postmortem: ``postmortem publish`` queues one ``publish.<target>`` effect per configured
target (Confluence, a Git repository) in one transaction; the publishing deliverer
(``bot.integrations.publishing``) reads the document and the previous publication here at delivery, and
records each publication as a ``postmortem_published`` timeline entry (target, ref, link, version).

The published document is the record **as of its last change**: ``document`` renders the postmortem with
``generated_at`` set to the latest recorded timeline entry (the entries the document leaves out aside: the
bot's nudges and reminders, the publications themselves; ``BOT_REMINDERS``), not the clock, so
publishing again without a new entry produces the same bytes (no Git commit, no new Confluence version),
and a retry after a crash publishes exactly what the first attempt did.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import structlog

from bot.domain.commands import RecordPublication
from bot.domain.effects import Effect
from bot.domain.model import EntryKind, Incident, TimelineEntry, format_incident_id
from bot.domain.postmortem import BOT_REMINDERS, PostmortemData, build_postmortem
from bot.domain.privacy import PrivatePublication
from bot.errors import ConfigError
from bot.store.repo import UnitOfWork
from bot.usecases.changes import changes_before
from bot.usecases.incidents import IncidentUseCases
from bot.usecases.shared import Actor, EffectPlan, Outcome, find_incident

log = structlog.get_logger("incidentbot.publishing")

PUBLISH_LANE = "publish"
"""The outbox lane (kind prefix) of publications: an incident's publications are delivered one at a time,
in the order asked, whichever replica delivers them."""
TARGETS = ("confluence", "git")
"""Every publishing target, in the order they are queued."""
BOT_ACTOR = Actor("incidentbot")


@dataclass(frozen=True)
class Publication:
    """A recorded publication of INC-n's postmortem: ``target`` (``confluence``, ``git``), ``ref`` (the
    Confluence page id, the file's path in the repository), ``url`` and ``version`` (the page's version
    number, the commit's hash) as text."""

    target: str
    ref: str
    url: str
    version: str
    digest: str = ""
    """The document sent, where the target keeps it (Confluence: the version message's digest); else empty."""


def publish_effect(target: str, number: int, requested_by: str) -> Effect:
    """The outbox effect publishing INC-``number``'s postmortem to ``target``. Kind ``publish.<target>``;
    payload ``target`` and ``requested_by`` (a Slack user id or CLI name). Raises ValueError for an unknown
    target."""
    if target not in TARGETS:
        raise ValueError(f"unknown publishing target {target!r}")
    return Effect(f"{PUBLISH_LANE}.{target}", {"target": target, "requested_by": requested_by}, number)


def publication_of(entry: TimelineEntry) -> Publication:
    """The publication a ``postmortem_published`` entry records."""
    data = entry.data
    return Publication(
        str(data.get("target")),
        str(data.get("ref")),
        str(data.get("url")),
        str(data.get("version")),
        str(data.get("digest") or ""),
    )


class PublishingUseCases:
    """Asking for, reading and recording publications of the postmortem; ``targets`` are those configured."""

    def __init__(self, incidents: IncidentUseCases, targets: Sequence[str] = ()) -> None:
        self.incidents = incidents
        self.transactions = incidents.transactions
        self.targets = tuple(t for t in TARGETS if t in targets)

    def request(
        self,
        actor: Actor,
        number: int | None = None,
        channel_id: str | None = None,
        channel_number: int | None = None,
    ) -> tuple[Incident, tuple[str, ...]]:
        """Queue the publication of the incident's postmortem to every configured target, in one transaction;
        returns the incident and the targets queued. Raises ConfigError when no target is configured,
        IncidentNotFound, PrivatePublication for a private incident (``bot.domain.privacy``)."""
        if not self.targets:
            raise ConfigError(
                "No publishing target is configured, so the postmortem cannot be published: set CONFLUENCE_URL, "
                "CONFLUENCE_SPACE, CONFLUENCE_USER and CONFLUENCE_API_TOKEN, or POSTMORTEM_GIT_REPO "
                "(README: Publishing the postmortem). `postmortem` alone uploads the draft to the channel."
            )
        now = self.transactions.clock()

        def attempt(uow: UnitOfWork) -> Incident:
            incident = find_incident(uow, number, channel_id, channel_number)
            if incident.private:
                raise PrivatePublication(incident)
            uow.outbox.enqueue([publish_effect(t, incident.number, actor.user_id) for t in self.targets], now)
            return incident

        incident = self.transactions.retrying(attempt)
        log.info(
            "postmortem_publish_requested", incident=incident.incident_id, targets=list(self.targets), by=actor.user_id
        )
        return incident, self.targets

    def document(self, number: int) -> PostmortemData:
        """The postmortem as of the incident's last recorded change (see the module docstring): a follow-up's
        ``overdue`` state too is as of then. Raises IncidentNotFound."""
        incident, entries = self.incidents.timeline(number)
        recorded = [e.recorded_at for e in entries if e.kind not in BOT_REMINDERS]
        as_of = max(recorded, default=incident.declared_at)
        with self.transactions.read() as uow:
            changes = changes_before(uow, incident)
        return build_postmortem(incident, entries, as_of, self.incidents.slos.get(incident.service), changes)

    def installation_id(self) -> str:
        """This database's random identity (``PageRepository.installation_id``), which scopes the marker of a
        published page: a staging bot or a reset database never takes production's page for its own."""
        return self.transactions.retrying(lambda uow: str(uow.pages.installation_id()))

    def last_publication(self, number: int, target: str) -> Publication | None:
        """INC-``number``'s latest recorded publication to ``target``, or None before the first."""
        with self.transactions.read() as uow:
            entries = uow.timeline.list_entries(number, kinds=[EntryKind.POSTMORTEM_PUBLISHED])
        found = [publication_of(e) for e in entries if e.data.get("target") == target]
        return found[-1] if found else None

    def record(self, number: int, publication: Publication, plan: EffectPlan | None = None) -> Outcome | None:
        """Record ``publication`` as a ``postmortem_published`` entry by the bot, with ``plan``'s effects (the
        channel's line) in the same transaction. Idempotent: when the latest
        publication to that target already has this ref and version (a retried delivery, another replica),
        nothing is recorded and None is returned. Raises IncidentNotFound."""

        def not_recorded(uow: UnitOfWork, incident: Incident) -> bool:
            entries = uow.timeline.list_entries(incident.number, kinds=[EntryKind.POSTMORTEM_PUBLISHED])
            same = [publication_of(e) for e in entries if e.data.get("target") == publication.target]
            return not same or (same[-1].ref, same[-1].version) != (publication.ref, publication.version)

        outcome = self.incidents.transition(
            RecordPublication(
                publication.target, publication.ref, publication.url, publication.version, publication.digest
            ),
            BOT_ACTOR,
            number=number,
            plan=plan,
            still_wanted=not_recorded,
        )
        log.info(
            "postmortem_published" if outcome is not None else "postmortem_publication_known",
            incident=format_incident_id(number),
            target=publication.target,
            ref=publication.ref,
            url=publication.url,
            version=publication.version,
        )
        return outcome
