"""Property tests of the alert history (issue 10, items 1, 2 and 6) through the webhook route, on SQLite and
PostgreSQL, with two bot replicas sharing the database.

Sequences of notifications (fire, clear, repeat, duplicate, reorder, several groups, either replica) are
checked against a model: the rules of ``bot.domain.alerts`` replayed on plain dicts. Concurrent deliveries
(threads over both replicas) are checked against what no delivery order can change.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.domain.commands import Resolve
from bot.domain.model import EntryKind, Status
from bot.store.tables import AlertEventRow
from bot.usecases.shared import Actor
from tests.support.alerts import T0, alert, notification
from tests.support.bot_server import RunningBot, running_bot
from tests.support.fake_slack import FakeSlack

TOKEN = "prop-webhook-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
FINGERPRINTS = ("a", "b", "c")
GROUPS = 2
EPISODES = 3
Key = tuple[str, datetime, str]  # (fingerprint, startsAt, state)


def starts(fingerprint: str, episode: int) -> datetime:
    """Episode k of an alert starts 20k minutes (plus a minute per alert) after T0 and lasts 10 minutes."""
    return T0 + timedelta(minutes=20 * episode + FINGERPRINTS.index(fingerprint))


def ends(fingerprint: str, episode: int) -> datetime:
    return starts(fingerprint, episode) + timedelta(minutes=10)


@dataclass(frozen=True)
class Notify:
    group: int
    alerts: tuple[tuple[str, int, bool], ...]  # (fingerprint, episode, resolved)
    replica: int

    def body(self, prefix: str) -> dict[str, Any]:
        items = [
            alert(fp, starts(fp, ep), ends(fp, ep), resolved=resolved, instance=f"edge-{fp}")
            for fp, ep, resolved in self.alerts
        ]
        return notification(items, group_key=f'{{}}:{{run="{prefix}", group="{self.group}"}}')

    def changes(self) -> list[tuple[Key, datetime]]:
        """Each state change the notification implies, with its time: firing -> fired; resolved -> both."""
        implied = []
        for fp, ep, resolved in self.alerts:
            implied.append(((fp, starts(fp, ep), "fired"), starts(fp, ep)))
            if resolved:
                implied.append(((fp, starts(fp, ep), "cleared"), ends(fp, ep)))
        return implied


@dataclass(frozen=True)
class ResolveGroup:
    group: int


notifies = st.builds(
    Notify,
    group=st.integers(0, GROUPS - 1),
    alerts=st.lists(
        st.tuples(st.sampled_from(FINGERPRINTS), st.integers(0, EPISODES - 1), st.booleans()),
        min_size=1,
        max_size=3,
        unique_by=lambda a: a[0],
    ).map(tuple),
    replica=st.integers(0, 1),
)
operations = st.lists(
    st.one_of(notifies, notifies, notifies, st.builds(ResolveGroup, st.integers(0, GROUPS - 1))), min_size=1, max_size=8
)


@dataclass
class ModelIncident:
    group: int
    entries: set[tuple[str, str, datetime]] = field(default_factory=set)  # (state, fingerprint, time)
    open: bool = True


@dataclass
class Model:
    """The rules, on dicts: a group's open incident takes its state changes; each change is kept once."""

    incidents: list[ModelIncident] = field(default_factory=list)
    recorded: dict[tuple[int, Key], int | None] = field(default_factory=dict)  # -> incident index

    def open_incident(self, group: int) -> int | None:
        return next((i for i, inc in enumerate(self.incidents) if inc.group == group and inc.open), None)

    def notify(self, op: Notify) -> None:
        new = [(key, when) for key, when in op.changes() if (op.group, key) not in self.recorded]
        cleared = {(fp, s) for (g, (fp, s, state)) in self.recorded if g == op.group and state == "cleared"}
        cleared |= {(fp, s) for (fp, s, state), _ in op.changes() if state == "cleared"}
        target = self.open_incident(op.group)
        if target is None and any(state == "fired" and (fp, s) not in cleared for (fp, s, state), _ in new):
            self.incidents.append(ModelIncident(op.group))
            target = len(self.incidents) - 1
        for (fp, s, state), when in sorted(new, key=lambda change: change[0][2] != "fired"):
            home = target if state == "fired" else self.recorded.get((op.group, (fp, s, "fired")))
            home = target if home is None else home
            self.recorded[(op.group, (fp, s, state))] = home
            if home is not None:
                self.incidents[home].entries.add((state, fp, when))

    def resolve(self, op: ResolveGroup) -> int | None:
        index = self.open_incident(op.group)
        if index is not None:
            self.incidents[index].open = False
        return index


@pytest.fixture()
def replicas(database_url: str) -> Iterator[list[RunningBot]]:
    """Two bots (replicas) on one database of each kind."""
    with (
        FakeSlack() as fake,
        running_bot(database_url, fake.base_url, INCIDENT_WEBHOOK_TOKEN=TOKEN) as first,
        running_bot(database_url, fake.base_url, INCIDENT_WEBHOOK_TOKEN=TOKEN) as second,
    ):
        yield [first, second]


def send(bot: RunningBot, body: dict[str, Any]) -> dict[str, Any]:
    result = bot.post(json.dumps(body), "application/json", AUTH, path="/alerts/alertmanager")
    assert result.status == 200, result.body
    answer: dict[str, Any] = result.json()
    return answer


def highest_number(bot: RunningBot) -> int:
    incidents = bot.usecases.incidents.summaries(limit=1)
    return incidents[0].number if incidents else 0


def alert_entries(bot: RunningBot, number: int) -> tuple[set[tuple[str, str, datetime]], int, list[EntryKind]]:
    """The incident's alert entries as a set, how many there are, and the kinds of its other entries."""
    entries = bot.usecases.incidents.timeline(number)[1]
    alerts = [e for e in entries if e.kind in (EntryKind.ALERT_FIRED, EntryKind.ALERT_CLEARED)]
    as_set = {
        ("fired" if e.kind is EntryKind.ALERT_FIRED else "cleared", str(e.data["fingerprint"]), e.occurred_at)
        for e in alerts
    }
    return as_set, len(alerts), [e.kind for e in entries if e not in alerts]


SETTINGS = settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


class TestAlertHistoryModel:
    @SETTINGS
    @given(ops=operations)
    def test_timelines_match_the_model(self, replicas: list[RunningBot], ops: list[Notify | ResolveGroup]) -> None:
        """One incident per open group, one entry per alert state change at its time, nothing else."""
        prefix = uuid.uuid4().hex[:12]
        base = highest_number(replicas[0])
        model = Model()
        for op in ops:
            if isinstance(op, Notify):
                send(replicas[op.replica], op.body(prefix))
                model.notify(op)
            else:
                index = model.resolve(op)
                if index is not None:
                    replicas[0].usecases.incidents.transition(
                        Resolve("fixed"), Actor("U0ALICE"), number=base + index + 1
                    )
        assert highest_number(replicas[0]) == base + len(model.incidents)
        for index, expected in enumerate(model.incidents):
            number = base + index + 1
            entries, count, others = alert_entries(replicas[0], number)
            assert entries == expected.entries and count == len(expected.entries)
            assert others == [EntryKind.DECLARED] + ([] if expected.open else [EntryKind.RESOLVED])
            assert replicas[0].usecases.incidents.get(number).status is (
                Status.DECLARED if expected.open else Status.RESOLVED
            )


class TestConcurrentDelivery:
    @SETTINGS
    @given(batch=st.lists(notifies, min_size=2, max_size=6), copies=st.integers(1, 3))
    def test_racing_replicas_record_each_state_change_once(
        self, replicas: list[RunningBot], batch: list[Notify], copies: int
    ) -> None:
        """The batch, each notification `copies` times (HA pair, retries), all at once over both replicas:
        every implied state change stored once, at most one incident per group, each entry once."""
        prefix = uuid.uuid4().hex[:12]
        base = highest_number(replicas[0])
        deliveries = [op for op in batch for _ in range(copies)]
        barrier = threading.Barrier(len(deliveries))
        failures: list[BaseException] = []

        def deliver(index: int, op: Notify) -> None:
            try:
                barrier.wait(timeout=30)
                send(replicas[(op.replica + index) % 2], op.body(prefix))
            except BaseException as exc:
                failures.append(exc)

        threads = [threading.Thread(target=deliver, args=pair) for pair in enumerate(deliveries)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not failures, failures[:1]

        implied = {(op.group, key) for op in batch for key, _ in op.changes()}
        stored = stored_changes(replicas[0], {op.body(prefix)["groupKey"]: op.group for op in batch})
        assert set(stored) == implied and len(stored) == len(implied)
        numbers = list(range(base + 1, highest_number(replicas[0]) + 1))
        incidents_of = {
            g: {n for (group, _), n in stored.items() if group == g and n is not None} for g in range(GROUPS)
        }
        assert all(len(found) <= 1 for found in incidents_of.values())
        assert sorted(n for found in incidents_of.values() for n in found) == numbers
        cleared = {(op.group, fp, ep) for op in batch for fp, ep, resolved in op.alerts if resolved}
        still_firing = {op.group for op in batch for fp, ep, _ in op.alerts if (op.group, fp, ep) not in cleared}
        assert {g for g, found in incidents_of.items() if found} >= still_firing
        attached = sum(1 for number in stored.values() if number is not None)
        on_timelines = 0
        for number in numbers:
            entries, count, others = alert_entries(replicas[0], number)
            assert count == len(entries) and others == [EntryKind.DECLARED]
            on_timelines += count
        assert on_timelines == attached


def stored_changes(bot: RunningBot, groups: dict[str, int]) -> dict[tuple[int, Key], int | None]:
    """The alert_events rows of ``groups`` (group key -> group index): (group, key) -> incident number."""
    from bot.domain.alerts import Notification

    ids = {Notification("alertmanager", key, {}, {}, {}, ()).group_id: group for key, group in groups.items()}
    with bot.usecases.store.engine.connect() as connection:
        rows = connection.execute(
            sa.select(
                AlertEventRow.group_id,
                AlertEventRow.fingerprint,
                AlertEventRow.starts_at,
                AlertEventRow.state,
                AlertEventRow.incident_number,
            ).where(AlertEventRow.group_id.in_(list(ids)))  # type: ignore[attr-defined]
        ).all()
    return {(ids[g], (fp, s, state)): number for g, fp, s, state, number in rows}


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.sampled_from([10**400, -(10**309), 2**63, 1e308])
    | st.floats(allow_nan=False, allow_infinity=False)  # Python would write Infinity, which is not JSON
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)
hostile_text = st.one_of(
    st.text(max_size=40),
    st.text(min_size=200, max_size=6000),
    st.sampled_from(["", " ", "\x00", "a\x00b", "\ud800", "x\udfff", "\u202e", "🔥" * 300, "'; DROP TABLE x; --"]),
)
timestamps = st.builds(
    lambda moment, offset: moment.isoformat() + offset,
    st.datetimes(),
    st.sampled_from(["Z", "+00:00", "+14:00", "-12:00", "", "+05:30"]),
)
TOP_FIELDS = (
    "version",
    "groupKey",
    "truncatedAlerts",
    "groupLabels",
    "commonLabels",
    "commonAnnotations",
    "receiver",
    "status",
    "externalURL",
    "title",
    "message",
    "orgId",
    "state",
)
ALERT_FIELDS = (
    "status",
    "labels",
    "annotations",
    "startsAt",
    "endsAt",
    "generatorURL",
    "fingerprint",
    "values",
    "dashboardURL",
    "panelURL",
    "silenceURL",
    "imageURL",
)
MAP_FIELDS = ("labels", "annotations", "groupLabels", "commonLabels", "commonAnnotations")


@st.composite
def field_edits(draw: st.DrawFn) -> tuple[list[str | int], Any, str]:
    """(path into the body, a value, the field name a refusal must mention)."""
    where = draw(st.sampled_from(["top", "alert", "map-value", "map-key"]))
    value = draw(st.one_of(json_values, hostile_text, timestamps))
    if where == "top":
        key = draw(st.sampled_from(TOP_FIELDS))
        return [key], value, key
    index = draw(st.integers(0, 1))
    if where == "alert":
        key = draw(st.sampled_from(ALERT_FIELDS))
        return ["alerts", index, key], value, f"alerts[{index}].{key}"
    key = draw(st.sampled_from(MAP_FIELDS))
    path: list[str | int] = ["alerts", index, key] if key in ("labels", "annotations") else [key]
    name = f"alerts[{index}].{key}" if key in ("labels", "annotations") else key
    text = draw(hostile_text)
    if where == "map-value":
        return [*path, draw(st.sampled_from(["instance", "summary", "service", "severity", "alertname"]))], value, name
    return [*path, text], "v", name


def edited(body: dict[str, Any], path: list[str | int], value: Any) -> dict[str, Any]:
    target: Any = body
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return body


class TestEveryAcceptedFieldFits:
    @settings(
        max_examples=80,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(edit=field_edits(), grafana=st.booleans())
    def test_any_field_value_is_stored_or_refused_with_422_naming_it(
        self, replicas: list[RunningBot], edit: tuple[list[str | int], Any, str], grafana: bool
    ) -> None:
        """Whatever one field holds: 200 and readable back on this database, or 422 naming the field; never 5xx."""
        path, value, name = edit
        prefix = uuid.uuid4().hex[:12]
        body = Notify(0, (("a", 0, False), ("b", 1, True)), 0).body(prefix)
        if grafana:
            body.update(version="1", orgId=1, title="[FIRING:1] x", state="alerting", message="m")
            for item in body["alerts"]:
                item.update(values={"A": 1.5}, dashboardURL="https://g.example.com/d/x", silenceURL="", panelURL="")
        body = edited(body, path, value)
        result = replicas[0].post(json.dumps(body), "application/json", AUTH, path="/alerts/alertmanager")
        assert result.status in (200, 422), (result.status, result.body[:300])
        answer = result.json()
        if result.status == 422:
            assert name in answer["error"], (name, answer["error"])
            return
        if answer["incident"]:
            number = int(answer["incident"].removeprefix("INC-"))
            replicas[0].usecases.incidents.timeline(number)
            replicas[0].usecases.incidents.postmortem(number)
