"""The seed scenario (a CDN's WAF rule puts half the edge in a CPU spin loop), replayed offline.

Every step is the very text an SRE would type after ``/incident``, parsed by the real grammar and
applied by the real service to a fresh SQLite database, with a clock that moves through the
afternoon of the outage. The same steps drive the Slack end-to-end test.
"""

from __future__ import annotations

import shlex
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TextIO

from bot.cli import DEMO_KEEP_FILE
from bot.config import sqlite_url
from bot.domain.changes import ChangeEvent, describe_change
from bot.domain.commands import ExportPostmortem, ShowTimeline
from bot.domain.grammar import parse_command
from bot.domain.slo import Slo, SloCatalog
from bot.errors import BotError
from bot.usecases.shared import Actor, Clock
from bot.usecases.wiring import UseCases
from bot.views.postmortem import PostmortemRenderer
from bot.views.replies import confirmation, timeline_text

SEED_DAY = datetime(2026, 11, 22, tzinfo=UTC)
TYPING_DELAY = timedelta(seconds=20)
"""How long after the fact each step is typed: recorded_at = occurred_at + this."""

ALICE = Actor("U0ALICE", "alice")  # on-call SRE, incident lead
BOB = Actor("U0BOB", "bob")  # networking SME
CAROL = Actor("U0CAROL", "carol")  # security SME
DAVE = Actor("U0DAVE", "dave")  # ops SME


@dataclass(frozen=True)
class SeedStep:
    """One command of the outage: who typed what, and at what time of day (UTC) it happened."""

    time: str
    actor: Actor
    text: str

    @property
    def occurred_at(self) -> datetime:
        hours, minutes = (int(part) for part in self.time.split(":"))
        return SEED_DAY.replace(hour=hours, minute=minutes)

    @property
    def slack_text(self) -> str:
        """The text as typed, backdated with ``--at`` to the time it happened (queries take no --at)."""
        command = parse_command(self.text)
        return f"{self.text} --at {self.time}" if command.changes_state else self.text


DEMO_SLOS = SloCatalog({"cdn-edge": Slo("cdn-edge", 99.95, timedelta(days=30), "C0CDNEDGE")})
"""The demo's catalogue, built in code so ``pip install . && incidentbot demo`` needs no file; slos.yml matches it."""

SEED_CHANGES: tuple[ChangeEvent, ...] = (
    ChangeEvent(
        "cdn-edge",
        "WAF rule 'inspect-large-payloads' deployed to all edge servers",
        "carol",
        SEED_DAY.replace(hour=13, minute=30),
        "https://ci.example.com/deploys/4182",
    ),
)
"""What CI/CD reported (``POST /changes``) before the outage: the WAF rule that triggered it."""

SEED_STEPS: tuple[SeedStep, ...] = (
    # 5% is the alert's threshold on the 502 rate; the service's SLO is 99.95% availability (DEMO_SLOS).
    SeedStep("13:42", ALICE, "declare sev1 CDN edge returning 502s above the 5% alerting threshold"),
    SeedStep("13:42", ALICE, "service cdn-edge"),
    SeedStep("13:42", ALICE, "impact 50%"),
    SeedStep("13:43", ALICE, "lead <@U0ALICE|alice>"),
    SeedStep("13:50", ALICE, "assemble <@U0BOB|bob>:networking <@U0CAROL|carol>:security <@U0DAVE|dave>:ops"),
    SeedStep("13:52", CAROL, "hypothesis external DDoS attack against the edge"),
    SeedStep("13:55", BOB, "mitigate rate limiting at the edge"),
    SeedStep("14:01", BOB, "hypothesis reject 1 rate limiting had no effect; request volume is normal"),
    SeedStep("14:03", DAVE, "note half of the edge servers are pinned at 100% CPU"),
    SeedStep("14:05", DAVE, "hypothesis new WAF rule causes a CPU spin loop on packet inspection"),
    SeedStep("14:05", ALICE, "hypothesis confirm 2 CPU profiles show the WAF rule's regex spinning"),
    SeedStep("14:35", CAROL, "rollback WAF rule rolled back globally"),
    SeedStep("14:45", ALICE, "resolve 502 rate back within SLO and edge CPU normal"),
    SeedStep("14:47", ALICE, "followup canary deployment for firewall changes <@U0CAROL|carol>"),
    SeedStep("14:48", BOB, "followup synthetic traffic tests against the WAF in staging every 5 minutes <@U0BOB|bob>"),
    SeedStep(
        "14:49", DAVE, 'followup add a "verify CPU load" step to the runbook before global rollout <@U0DAVE|dave>'
    ),
    SeedStep("14:50", ALICE, "postmortem"),
)


class ReplayClock:
    """A clock the replay moves forward step by step."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


OpenUseCases = Callable[[str, Clock, SloCatalog], UseCases]
"""(database URL, clock, SLO catalogue) -> use cases on that database, migrated (``bot.compose.open_usecases``)."""


def run_demo(
    out: TextIO, open_usecases: OpenUseCases, database_url: str | None = None, keep: Path | None = None
) -> str:
    """Replay the seed into a fresh database; return the postmortem.

    The database is ``database_url`` if given, else the SQLite file ``keep`` (refused with a BotError if
    it exists: never overwritten), else a temporary SQLite file deleted at the end. The output ends
    with where the data went and commands that read it (``DATABASE_URL=... incidentbot timeline INC-1``).
    """
    if database_url is not None:
        return _replay_into(out, open_usecases, database_url)
    if keep is not None:
        if keep.exists():
            raise BotError(
                f"{keep} already exists; the demo never overwrites a file: remove it, or keep the demo elsewhere "
                "with `incidentbot demo --keep FILE`."
            )
        postmortem = _replay_into(out, open_usecases, sqlite_url(keep))
        url = "DATABASE_URL=" + shlex.quote(sqlite_url(keep))
        out.write(
            f"\n---\nThe demo's incidents are kept in {keep} ({keep.absolute()}). From this folder, try:\n"
            f"  {url} incidentbot timeline INC-1\n"
            f"  {url} incidentbot postmortem INC-1\n"
            f"  {url} incidentbot list\n"
        )
        return postmortem
    with tempfile.TemporaryDirectory(prefix="incidentbot-demo-") as folder:
        postmortem = _replay_into(out, open_usecases, sqlite_url(Path(folder) / "demo.db"))
    out.write(
        "\n---\nThe demo ran in a temporary database, now deleted: nothing was written here. To explore it, run\n"
        f"`incidentbot demo --keep`, which keeps it in {DEMO_KEEP_FILE} and shows commands that read it.\n"
    )
    return postmortem


def _replay_into(out: TextIO, open_usecases: OpenUseCases, url: str) -> str:
    usecases = open_usecases(url, ReplayClock(SEED_DAY), DEMO_SLOS)
    try:
        return _replay(out, usecases)
    finally:
        usecases.store.dispose()


def _replay(out: TextIO, usecases: UseCases) -> str:
    clock = usecases.clock
    assert isinstance(clock, ReplayClock)
    out.write(f"Replaying the CDN outage of {SEED_DAY:%Y-%m-%d} (all times UTC)\n\n")
    number: int | None = None
    for change in SEED_CHANGES:
        clock.now = change.occurred_at + TYPING_DELAY
        usecases.changes.record(change)
        out.write(f"{change.occurred_at:%H:%M}  CI/CD   POST /changes  {describe_change(change)}\n")
    for step in SEED_STEPS:
        clock.now = step.occurred_at + TYPING_DELAY
        command = parse_command(step.slack_text)
        out.write(f"{step.time}  @{step.actor.name:<6} /incident {step.slack_text}\n")
        if isinstance(command.action, ExportPostmortem | ShowTimeline):
            continue
        outcome = usecases.incidents.run(
            command if number is None else replace(command, incident_number=number), step.actor
        )
        number = outcome.incident.number
        out.write(f"       -> {confirmation(outcome, mention=lambda u: '@' + _name(u))}\n")
    assert number is not None
    incident, entries = usecases.incidents.timeline(number)
    out.write("\n" + timeline_text(incident, entries, mention=lambda u: "@" + _name(u)) + "\n\n")
    postmortem = PostmortemRenderer().render(usecases.incidents.postmortem(number))
    out.write(postmortem)
    return postmortem


_NAMES = {a.user_id: a.name or a.user_id for a in (ALICE, BOB, CAROL, DAVE)}


def _name(user_id: str) -> str:
    return _NAMES.get(user_id, user_id)
