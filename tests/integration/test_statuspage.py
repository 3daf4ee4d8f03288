"""The public status page through the real outbox worker and store (SQLite and PostgreSQL) into the fake
Statuspage: open, update and resolve with the incident, exactly once across a dropped answer and retries;
429 and 503 retried, 401 and 422 dead with Statuspage's reason and the channel told; only what a person typed
ever reaches the page."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from structlog.testing import capture_logs

from bot.app import dead_item_notice, stalled_item_notice
from bot.cli.demo import ReplayClock
from bot.config import Secret
from bot.domain.errors import TransitionError, UsageError
from bot.domain.grammar import parse_command
from bot.domain.model import EntryKind
from bot.domain.slo import Slo, SloCatalog
from bot.errors import ConfigError
from bot.integrations.statuspage.client import StatuspageClient
from bot.integrations.statuspage.delivery import StatuspageDeliverer
from bot.integrations.statuspage.plan import StatuspagePlan
from bot.outbox.worker import OutboxWorker, RetryPolicy, route_by_kind
from bot.store import IncidentStore
from bot.usecases.shared import Actor
from bot.usecases.wiring import UseCases, wire_usecases
from tests.support.fake_statuspage import API_KEY, PAGE_ID, FakeStatuspage

ALICE = Actor("U0ALICE", "alice")
TITLE = "Checkout db primary OOM-killed by runaway migration"
NOTE = "internal: customer 4711 data exposed in logs"
OPEN_MAJOR = "INC-1 statuspage open major service Checkout is failing"
SUMMARY = "root cause: migration 0042 without a batch size"
CATALOG = SloCatalog(
    {
        "checkout-api": Slo("checkout-api", 99.9, timedelta(days=30), None, ("cmpcheckout1",)),
        "search": Slo("search", 99.5, timedelta(days=28), None, ("cmpsearch002",)),
    }
)


def _usecases(store: IncidentStore, clock: ReplayClock, confirm: bool = False) -> UseCases:
    resolve_text = "All systems are back to normal."
    return wire_usecases(
        store,
        clock,
        slos=CATALOG,
        standing_plans=[StatuspagePlan(confirm, resolve_text)],
        statuspage_resolve_text=resolve_text,
    )


@pytest.fixture
async def fake() -> AsyncIterator[FakeStatuspage]:
    server = FakeStatuspage()
    await server.start()
    yield server
    await server.stop()


def _worker(usecases: UseCases, clock: ReplayClock, fake: FakeStatuspage, key: str = API_KEY) -> OutboxWorker:
    client = StatuspageClient(Secret(key), PAGE_ID, fake.url, timeout_seconds=2)
    deliver = route_by_kind({"statuspage": StatuspageDeliverer(client, usecases.statuspage)})
    return OutboxWorker(
        usecases.store,
        deliver,
        "w1",
        clock=clock,
        policy=RetryPolicy(base_seconds=1, max_seconds=8),
        on_buried=dead_item_notice,
        on_stalled=stalled_item_notice,
    )


def _run(usecases: UseCases, clock: ReplayClock, text: str) -> None:
    clock.now += timedelta(minutes=1)
    usecases.incidents.run(parse_command(text), ALICE)


def _declared(store: IncidentStore, clock: ReplayClock, *, confirm: bool = False) -> UseCases:
    """The use cases on ``store``, with INC-1 declared by alice (sev1), on service checkout-api, with one note."""
    usecases = _usecases(store, clock, confirm=confirm)
    usecases.incidents.run(parse_command(f"declare sev1 {TITLE}"), ALICE)
    _run(usecases, clock, "INC-1 service checkout-api")
    _run(usecases, clock, f"INC-1 note {NOTE}")
    return usecases


async def _deliver_all(worker: OutboxWorker, clock: ReplayClock, rounds: int = 6) -> None:
    """Deliver what is due; between rounds, move the clock past any backoff (at most 15 minutes)."""
    for _ in range(rounds):
        await worker.drain(timeout=10)
        clock.now += timedelta(minutes=16)


def _statuspage_items(usecases: UseCases, status: str | None = None) -> list[Any]:
    return [i for i in usecases.outbox.items(status) if i.kind.startswith("statuspage.")]


class TestOpenUpdateResolve:
    async def test_the_statuspage_incident_follows_the_commands_and_resolves_once_with_the_incident(
        self, store: IncidentStore, clock: ReplayClock, fake: FakeStatuspage
    ) -> None:
        """open -> update -> incident resolve: one Statuspage incident, two updates and one resolve, in order."""
        usecases = _declared(store, clock)
        worker = _worker(usecases, clock, fake)
        _run(usecases, clock, "INC-1 statuspage open major service Checkout is failing\nSome payments fail.")
        _run(usecases, clock, "INC-1 statuspage update identified We found the cause.")
        _run(usecases, clock, f"INC-1 resolve {SUMMARY}")
        await _deliver_all(worker, clock)

        assert len(fake.incidents) == 1
        incident = next(iter(fake.incidents.values()))
        assert incident["name"] == "Checkout is failing"
        assert incident["status"] == "resolved"
        assert incident["impact_override"] == "major"
        assert incident["metadata"]["incidentbot"]["marker"].endswith("-INC-1-1")
        bodies = [(u["status"], u["body"]) for u in reversed(incident["incident_updates"])]
        assert bodies == [
            ("investigating", "Checkout is failing\nSome payments fail."),
            ("identified", "We found the cause."),
            ("resolved", "All systems are back to normal."),
        ]
        assert fake.components["cmpcheckout1"] == "operational"
        assert [r.route for r in fake.requests if r.method != "GET"] == ["create", "update", "update"]
        assert usecases.statuspage.known_id(1, 1) == incident["id"]
        entries = usecases.incidents.timeline(1)[1]
        statuspage = [(e.actor, e.data["action"], e.text) for e in entries if e.kind is EntryKind.STATUSPAGE]
        assert statuspage == [
            ("U0ALICE", "open", "Checkout is failing\nSome payments fail."),
            ("U0ALICE", "update", "We found the cause."),
            ("incidentbot", "resolve", "All systems are back to normal."),
        ]
        assert _statuspage_items(usecases) == []

    async def test_components_are_degraded_while_open(
        self, store: IncidentStore, clock: ReplayClock, fake: FakeStatuspage
    ) -> None:
        """A critical impact sets each named component (ids and services) to major_outage."""
        usecases = _declared(store, clock)
        _run(usecases, clock, "INC-1 statuspage open critical search,cmpcdnedge03 Search and CDN are down")
        await _deliver_all(_worker(usecases, clock, fake), clock)
        assert fake.components == {
            "cmpcheckout1": "operational",
            "cmpsearch002": "major_outage",
            "cmpcdnedge03": "major_outage",
        }

    async def test_with_confirmation_the_resolve_waits_for_statuspage_resolve(
        self, store: IncidentStore, clock: ReplayClock, fake: FakeStatuspage
    ) -> None:
        """STATUSPAGE_CONFIRM_RESOLVE: the incident resolves, the channel is asked, the page stays open until
        `statuspage resolve <text>`."""
        usecases = _declared(store, clock, confirm=True)
        worker = _worker(usecases, clock, fake)
        _run(usecases, clock, "INC-1 statuspage open minor service Slow checkout")
        _run(usecases, clock, f"INC-1 resolve {SUMMARY}")
        lines = [i.payload.get("text", "") for i in usecases.outbox.items() if i.kind == "slack.post_line"]
        assert any("status-page incident is still open" in line for line in lines)
        await _deliver_all(worker, clock)
        assert next(iter(fake.incidents.values()))["status"] == "investigating"
        _run(usecases, clock, "INC-1 statuspage resolve Checkout is fast again.")
        await _deliver_all(worker, clock)
        incident = next(iter(fake.incidents.values()))
        assert (incident["status"], incident["incident_updates"][0]["body"]) == ("resolved", "Checkout is fast again.")

    async def test_after_a_reopen_a_new_open_makes_a_second_statuspage_incident(
        self, store: IncidentStore, clock: ReplayClock, fake: FakeStatuspage
    ) -> None:
        """Resolved with the incident, reopened, opened again: a second Statuspage incident with its own marker;
        its update goes to the second one, the first stays resolved."""
        usecases = _declared(store, clock)
        worker = _worker(usecases, clock, fake)
        _run(usecases, clock, "INC-1 statuspage open minor service Slow checkout")
        _run(usecases, clock, f"INC-1 resolve {SUMMARY}")
        await _deliver_all(worker, clock)
        _run(usecases, clock, "INC-1 reopen it is back")
        _run(usecases, clock, "INC-1 statuspage open major service Checkout is failing again")
        _run(usecases, clock, "INC-1 statuspage update identified Found it.")
        await _deliver_all(worker, clock)
        first, second = fake.incidents.values()
        assert (first["status"], second["status"]) == ("resolved", "identified")
        assert first["metadata"]["incidentbot"]["marker"].endswith("-INC-1-1")
        assert second["metadata"]["incidentbot"]["marker"].endswith("-INC-1-2")
        assert [u["body"] for u in second["incident_updates"]] == ["Found it.", "Checkout is failing again"]
        assert usecases.statuspage.known_id(1, 2) == second["id"]
        assert usecases.statuspage.known_id(1, 1) == first["id"]


class TestRefusals:
    def test_update_without_an_open_statuspage_incident_is_refused(
        self, store: IncidentStore, clock: ReplayClock
    ) -> None:
        """Nothing open: `statuspage update` says how to open one, and nothing is queued."""
        usecases = _declared(store, clock)
        with pytest.raises(TransitionError, match="has no open status-page incident"):
            _run(usecases, clock, "INC-1 statuspage update still looking")
        assert _statuspage_items(usecases) == []

    def test_a_second_open_is_refused(self, store: IncidentStore, clock: ReplayClock) -> None:
        usecases = _declared(store, clock)
        _run(usecases, clock, "INC-1 statuspage open minor service Slow checkout")
        with pytest.raises(TransitionError, match="already has an open status-page incident"):
            _run(usecases, clock, "INC-1 statuspage open major service Again")
        assert len(_statuspage_items(usecases)) == 1

    def test_service_without_components_is_refused(self, store: IncidentStore, clock: ReplayClock) -> None:
        usecases = _usecases(store, clock)
        usecases.incidents.run(parse_command(f"declare sev1 {TITLE}"), ALICE)
        with pytest.raises(UsageError, match="no service yet"):
            _run(usecases, clock, "INC-1 statuspage open minor service Slow checkout")

    def test_without_statuspage_the_command_says_how_to_enable_it(
        self, store: IncidentStore, clock: ReplayClock
    ) -> None:
        usecases = wire_usecases(store, clock, slos=CATALOG)
        usecases.incidents.run(parse_command(f"declare sev1 {TITLE}"), ALICE)
        with pytest.raises(ConfigError, match="set STATUSPAGE_API_KEY and STATUSPAGE_PAGE_ID"):
            _run(usecases, clock, "INC-1 statuspage open minor cmpsearch002 Slow")


class TestExactlyOnce:
    async def test_a_dropped_answer_after_the_create_makes_one_statuspage_incident(
        self, store: IncidentStore, clock: ReplayClock, fake: FakeStatuspage
    ) -> None:
        """Statuspage creates the incident but the answer is lost: the retry finds it by its marker."""
        usecases = _declared(store, clock)
        fake.fail("create", drop=True)
        _run(usecases, clock, OPEN_MAJOR)
        _run(usecases, clock, "INC-1 statuspage update monitoring A fix is out.")
        await _deliver_all(_worker(usecases, clock, fake), clock)
        assert len(fake.calls("create")) == 1
        assert len(fake.incidents) == 1
        incident = next(iter(fake.incidents.values()))
        assert [u["body"] for u in incident["incident_updates"]] == ["A fix is out.", "Checkout is failing"]
        assert usecases.statuspage.known_id(1, 1) == incident["id"]

    async def test_a_dropped_answer_after_an_update_sends_it_once(
        self, store: IncidentStore, clock: ReplayClock, fake: FakeStatuspage
    ) -> None:
        usecases = _declared(store, clock)
        _run(usecases, clock, OPEN_MAJOR)
        fake.fail("update", drop=True)
        _run(usecases, clock, "INC-1 statuspage update monitoring A fix is out.")
        await _deliver_all(_worker(usecases, clock, fake), clock)
        incident = next(iter(fake.incidents.values()))
        assert [u["body"] for u in incident["incident_updates"]] == ["A fix is out.", "Checkout is failing"]

    async def test_a_create_recorded_before_the_worker_completes_is_not_repeated(
        self, store: IncidentStore, clock: ReplayClock, fake: FakeStatuspage
    ) -> None:
        """A second delivery of the same open item (another replica) reads the recorded id and creates nothing."""
        usecases = _declared(store, clock)
        _run(usecases, clock, OPEN_MAJOR)
        item = _statuspage_items(usecases)[0]
        client = StatuspageClient(Secret(API_KEY), PAGE_ID, fake.url, timeout_seconds=2)
        deliverer = StatuspageDeliverer(client, usecases.statuspage)
        await deliverer(item)
        await deliverer(item)
        assert len(fake.calls("create")) == 1


class TestFaults:
    async def test_429_with_retry_after_then_success(
        self, store: IncidentStore, clock: ReplayClock, fake: FakeStatuspage
    ) -> None:
        """429 with Retry-After: 120 is retried no sooner than 120 s later, then succeeds."""
        usecases = _declared(store, clock)
        fake.fail("unresolved", 429, body={"error": "Rate limited"}, headers={"Retry-After": "120"})
        _run(usecases, clock, OPEN_MAJOR)
        worker = _worker(usecases, clock, fake)
        await worker.drain(timeout=10)
        (item,) = _statuspage_items(usecases, "pending")
        assert item.attempts == 1
        assert "rate limited by Statuspage (HTTP 429)" in item.last_error
        assert (item.next_attempt_at - clock.now).total_seconds() >= 120
        await _deliver_all(worker, clock)
        assert len(fake.incidents) == 1
        assert _statuspage_items(usecases) == []

    @pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422])
    async def test_every_refusal_is_dead_at_once_with_statuspages_words(
        self, store: IncidentStore, clock: ReplayClock, fake: FakeStatuspage, status: int
    ) -> None:
        """Any 4xx but 429: one attempt, a dead item naming the status and Statuspage's own words."""
        usecases = _declared(store, clock)
        fake.fail("create", status, body={"error": [f"refused with {status}"]})
        _run(usecases, clock, OPEN_MAJOR)
        await _deliver_all(_worker(usecases, clock, fake), clock)
        (dead,) = _statuspage_items(usecases, "dead")
        assert (dead.attempts, f"HTTP {status}" in dead.last_error) == (1, True)
        assert dead.last_error.endswith(f": refused with {status}")
        assert fake.incidents == {}

    @pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
    async def test_every_temporary_failure_is_retried_until_it_passes(
        self, store: IncidentStore, clock: ReplayClock, fake: FakeStatuspage, status: int
    ) -> None:
        usecases = _declared(store, clock)
        fake.fail("create", status, body={"error": "try later"}, times=2)
        _run(usecases, clock, OPEN_MAJOR)
        await _deliver_all(_worker(usecases, clock, fake), clock)
        assert (len(fake.calls("create")), len(fake.incidents), _statuspage_items(usecases)) == (3, 1, [])

    async def test_503_is_retried(self, store: IncidentStore, clock: ReplayClock, fake: FakeStatuspage) -> None:
        usecases = _declared(store, clock)
        fake.fail("create", 503, body={"error": "Service Unavailable"}, times=2)
        _run(usecases, clock, OPEN_MAJOR)
        await _deliver_all(_worker(usecases, clock, fake), clock)
        assert len(fake.incidents) == 1
        assert len(fake.calls("create")) == 3

    async def test_401_is_dead_with_statuspages_reason_the_channel_told_once_and_no_key(
        self, store: IncidentStore, clock: ReplayClock, fake: FakeStatuspage
    ) -> None:
        usecases = _declared(store, clock)
        wrong_key = "wrong-key-5f4dcc3b5aa765d61d8327deb882cf99"
        _run(usecases, clock, OPEN_MAJOR)
        await _deliver_all(_worker(usecases, clock, fake, key=wrong_key), clock)
        (dead,) = _statuspage_items(usecases, "dead")
        assert "Statuspage refused (HTTP 401" in dead.last_error
        assert "Could not authenticate" in dead.last_error
        assert wrong_key not in dead.last_error
        lines = [i.payload["text"] for i in usecases.outbox.items() if i.kind == "slack.post_line"]
        told = [line for line in lines if "public status page could not be updated" in line]
        assert len(told) == 1
        assert "HTTP 401" in told[0] and wrong_key not in told[0]

    async def test_a_key_echoed_by_statuspage_is_redacted_in_the_reason_and_the_logs(
        self, store: IncidentStore, clock: ReplayClock, fake: FakeStatuspage
    ) -> None:
        usecases = _declared(store, clock)
        fake.fail("create", 422, echo_token=True)
        _run(usecases, clock, OPEN_MAJOR)
        with capture_logs() as logs:
            await _deliver_all(_worker(usecases, clock, fake), clock)
        (dead,) = _statuspage_items(usecases, "dead")
        assert dead.last_error.endswith("(HTTP 422, Statuspage refused a field): Bad credentials for OAuth ***")
        assert API_KEY not in dead.last_error
        assert API_KEY not in repr(logs)
        assert [entry["event"] for entry in logs if entry["event"].startswith("statuspage")] == [
            "statuspage_delivery_failed"
        ]

    async def test_an_incident_deleted_on_statuspage_makes_the_update_dead_with_404(
        self, store: IncidentStore, clock: ReplayClock, fake: FakeStatuspage
    ) -> None:
        usecases = _declared(store, clock)
        worker = _worker(usecases, clock, fake)
        _run(usecases, clock, OPEN_MAJOR)
        await _deliver_all(worker, clock)
        fake.incidents.clear()  # a person deleted it on Statuspage
        _run(usecases, clock, "INC-1 statuspage update A fix is out.")
        await _deliver_all(worker, clock)
        (dead,) = _statuspage_items(usecases, "dead")
        assert dead.kind == "statuspage.update"
        assert dead.last_error.startswith("GET /v1/pages/kctbh9vrtdwd/incidents/inc000000001: Statuspage refused")
        assert dead.last_error.endswith(
            "(HTTP 404, no such page or incident, or the key cannot see it: check STATUSPAGE_PAGE_ID and "
            "STATUSPAGE_URL): Not found"
        )

    async def test_422_is_dead_with_statuspages_words(
        self, store: IncidentStore, clock: ReplayClock, fake: FakeStatuspage
    ) -> None:
        """A component id the page does not have: Statuspage's 422 words are the dead item's reason."""
        usecases = _declared(store, clock)
        _run(usecases, clock, "INC-1 statuspage open major cmpunknown99 Checkout is failing")
        await _deliver_all(_worker(usecases, clock, fake), clock)
        (dead,) = _statuspage_items(usecases, "dead")
        assert "HTTP 422" in dead.last_error and "Component cmpunknown99 not found" in dead.last_error
        # The way out: resolve the one that was never created (nothing to do there), open again.
        _run(usecases, clock, "INC-1 statuspage resolve Never mind.")
        _run(usecases, clock, OPEN_MAJOR)
        await _deliver_all(_worker(usecases, clock, fake), clock)
        assert [i.kind for i in _statuspage_items(usecases)] == ["statuspage.open"]  # only the first, dead
        assert [i["name"] for i in fake.incidents.values()] == ["Checkout is failing"]
        assert fake.calls("update") == []

    async def test_an_hour_of_503_tells_the_channel_once(
        self, store: IncidentStore, clock: ReplayClock, fake: FakeStatuspage
    ) -> None:
        usecases = _declared(store, clock)
        fake.fail("unresolved", 503, body={"error": "down"}, times=100)
        _run(usecases, clock, OPEN_MAJOR)
        await _deliver_all(_worker(usecases, clock, fake), clock, rounds=8)
        lines = [i.payload for i in usecases.outbox.items() if i.kind == "slack.post_line"]
        stalled = [line for line in lines if "still not updated (open) after an hour" in line["text"]]
        assert len(stalled) == 1
        # finding 8 (breaksp): posted with the lead's mention in front (the Slack deliverer, as for a dead item)
        assert stalled[0]["mention_lead"] is True


class TestMoreFaults:
    """Findings 10-13 (breaksp)."""

    @pytest.mark.parametrize("status", [420, 429])
    async def test_420_and_429_are_rate_limits_retried_after_retry_after(
        self, store: IncidentStore, clock: ReplayClock, fake: FakeStatuspage, status: int
    ) -> None:
        """Statuspage's older rate-limit answer 420 is retried like 429, no sooner than its Retry-After."""
        usecases = _declared(store, clock)
        fake.fail("unresolved", status, body={"error": "Rate limit exceeded"}, headers={"Retry-After": "120"})
        _run(usecases, clock, OPEN_MAJOR)
        worker = _worker(usecases, clock, fake)
        await worker.drain(timeout=10)
        (item,) = _statuspage_items(usecases, "pending")
        assert item.last_error == (
            f"GET /v1/pages/{PAGE_ID}/incidents/unresolved: rate limited by Statuspage (HTTP {status}): "
            "Rate limit exceeded"
        )
        assert (item.next_attempt_at - clock.now).total_seconds() >= 120
        await _deliver_all(worker, clock)
        assert _states(fake) == [("Checkout is failing", "investigating")]

    @pytest.mark.parametrize(
        ("status", "said"),
        [
            (401, "HTTP 401, the API key is not valid: check STATUSPAGE_API_KEY) with a web page"),
            (403, "HTTP 403, the API key may not do this: check its user's permissions on the page) with a web page"),
            (
                404,
                "HTTP 404, no such page or incident, or the key cannot see it: check STATUSPAGE_PAGE_ID and "
                "STATUSPAGE_URL) with a web page",
            ),
            (400, "HTTP 400, a request Statuspage cannot read) with a web page"),
        ],
    )
    async def test_a_refusal_as_a_web_page_is_dead_at_once(
        self, store: IncidentStore, clock: ReplayClock, fake: FakeStatuspage, status: int, said: str
    ) -> None:
        """A 4xx whose body is a proxy's HTML page is a refusal (dead at the first attempt), not retried."""
        usecases = _declared(store, clock)
        fake.fail("*", status, html=True, times=100)
        _run(usecases, clock, OPEN_MAJOR)
        await _deliver_all(_worker(usecases, clock, fake), clock)
        (dead,) = _statuspage_items(usecases, "dead")
        assert dead.attempts == 1
        assert f"GET /v1/pages/{PAGE_ID}/incidents/unresolved: Statuspage refused (" + said in dead.last_error
        fake.faults.clear()

    async def test_a_5xx_web_page_is_still_retried(
        self, store: IncidentStore, clock: ReplayClock, fake: FakeStatuspage
    ) -> None:
        usecases = _declared(store, clock)
        fake.fail("create", 502, html=True, times=2)
        _run(usecases, clock, OPEN_MAJOR)
        await _deliver_all(_worker(usecases, clock, fake), clock)
        assert (len(fake.calls("create")), _states(fake)) == (3, [("Checkout is failing", "investigating")])

    async def test_a_plain_text_404_from_a_wrong_base_url_is_dead_naming_statuspage_url(
        self, store: IncidentStore, clock: ReplayClock, fake: FakeStatuspage
    ) -> None:
        """A base URL with a doubled path (``.../v1`` + ``/v1/pages``) answers a plain-text 404: dead at once."""
        usecases = _declared(store, clock)
        _run(usecases, clock, OPEN_MAJOR)
        client = StatuspageClient(Secret(API_KEY), PAGE_ID, fake.url + "/v1", timeout_seconds=2)
        deliver = route_by_kind({"statuspage": StatuspageDeliverer(client, usecases.statuspage)})
        worker = OutboxWorker(
            usecases.store, deliver, "w1", clock=clock, policy=RetryPolicy(base_seconds=1, max_seconds=8)
        )
        await _deliver_all(worker, clock)
        (dead,) = _statuspage_items(usecases, "dead")
        assert dead.attempts == 1
        assert dead.last_error.startswith(
            f"GET /v1/pages/{PAGE_ID}/incidents/unresolved: Statuspage refused (HTTP 404, no such page or incident, "
            "or the key cannot see it: check STATUSPAGE_PAGE_ID and STATUSPAGE_URL) with "
        )

    async def test_an_update_to_an_incident_a_person_resolved_on_statuspage_is_dead_and_does_not_reopen_it(
        self, store: IncidentStore, clock: ReplayClock, fake: FakeStatuspage
    ) -> None:
        usecases = _declared(store, clock)
        worker = _worker(usecases, clock, fake)
        _run(usecases, clock, OPEN_MAJOR)
        await _deliver_all(worker, clock)
        (incident,) = fake.incidents.values()
        incident["status"] = "resolved"  # a person resolved it on Statuspage
        _run(usecases, clock, "INC-1 statuspage update monitoring Still watching")
        await _deliver_all(worker, clock)
        assert incident["status"] == "resolved"
        assert fake.calls("update") == []
        (dead,) = _statuspage_items(usecases, "dead")
        assert dead.last_error == (
            f"INC-1's status-page incident {incident['id']} was resolved on Statuspage: this update was not "
            "published (it would reopen it); `statuspage open` publishes a new one"
        )
        _run(usecases, clock, f"INC-1 resolve {SUMMARY}")  # nothing left to resolve there: done, not dead
        await _deliver_all(worker, clock)
        assert [i.kind for i in _statuspage_items(usecases)] == ["statuspage.update"]
        assert fake.calls("update") == []


class TestNothingInternalIsPublished:
    async def test_title_notes_and_resolve_summary_never_reach_statuspage(
        self, store: IncidentStore, clock: ReplayClock, fake: FakeStatuspage
    ) -> None:
        usecases = _declared(store, clock)
        _run(usecases, clock, OPEN_MAJOR)
        _run(usecases, clock, "INC-1 statuspage update We are working on it.")
        _run(usecases, clock, f"INC-1 resolve {SUMMARY}")
        await _deliver_all(_worker(usecases, clock, fake), clock)
        assert fake.leaked((TITLE, NOTE, SUMMARY), ("OOM", "4711", "0042")) == []
        assert fake.bodies() == [
            "Checkout is failing",
            "Checkout is failing",
            "We are working on it.",
            "All systems are back to normal.",
        ]


def _states(fake: FakeStatuspage) -> list[tuple[str, str]]:
    return [(i["name"], i["status"]) for i in fake.incidents.values()]


def _bodies(incident: dict[str, Any]) -> list[tuple[str, str]]:
    """(status, body) of each incident update, oldest first."""
    return [(u["status"], u["body"]) for u in reversed(incident["incident_updates"])]


class TestEachOpenItsOwnStatuspageIncident:
    """Findings 1 and 5 (breaksp): every ``statuspage open`` is its own Statuspage incident, and each update or
    resolve goes to the incident of the open it follows, whatever was delivered between them."""

    @pytest.mark.parametrize(
        "fault", [None, (503, {}), (429, {"Retry-After": "1"})], ids=["up", "503-at-first", "429-at-first"]
    )
    async def test_open_resolve_reopen_open_update_queued_before_any_delivery(
        self, store: IncidentStore, clock: ReplayClock, fake: FakeStatuspage, fault: tuple[int, dict[str, str]] | None
    ) -> None:
        """Everything queued before Statuspage answers once: two Statuspage incidents, the first resolved by
        the incident's resolve, the second open with its own update."""
        usecases = _declared(store, clock)
        if fault is not None:
            fake.fail("*", fault[0], body={"error": "later"}, headers=fault[1], times=3)
        _run(usecases, clock, "INC-1 statuspage open major service First outage")
        _run(usecases, clock, "INC-1 resolve fixed")
        _run(usecases, clock, "INC-1 reopen came back")
        _run(usecases, clock, "INC-1 statuspage open critical service Second outage")
        _run(usecases, clock, "INC-1 statuspage update identified Second outage identified")
        await _deliver_all(_worker(usecases, clock, fake), clock)
        assert _states(fake) == [("First outage", "resolved"), ("Second outage", "identified")]
        first, second = fake.incidents.values()
        assert _bodies(first) == [("investigating", "First outage"), ("resolved", "All systems are back to normal.")]
        assert _bodies(second) == [("investigating", "Second outage"), ("identified", "Second outage identified")]
        assert second["metadata"]["incidentbot"]["marker"].endswith("-INC-1-2")
        assert (usecases.statuspage.known_id(1, 1), usecases.statuspage.known_id(1, 2)) == (first["id"], second["id"])
        assert _statuspage_items(usecases) == []

    async def test_a_slow_open_given_up_and_opened_again_with_other_components(
        self, store: IncidentStore, clock: ReplayClock, fake: FakeStatuspage
    ) -> None:
        """While 429: open, `statuspage resolve` (give it up), open with other components: both created, the
        first resolved, the second open with its own components."""
        usecases = _declared(store, clock)
        fake.fail("*", 429, headers={"Retry-After": "1"}, times=4)
        _run(usecases, clock, "INC-1 statuspage open major service Checkout errors")
        _run(usecases, clock, "INC-1 statuspage resolve Opened with the wrong components, see the next incident.")
        _run(usecases, clock, "INC-1 statuspage open major search Search errors")
        await _deliver_all(_worker(usecases, clock, fake), clock)
        assert _states(fake) == [("Checkout errors", "resolved"), ("Search errors", "investigating")]
        second = list(fake.incidents.values())[1]
        assert second["component_ids"] == ["cmpsearch002"]
        assert fake.components == {
            "cmpcheckout1": "operational",
            "cmpsearch002": "partial_outage",
            "cmpcdnedge03": "operational",
        }

    async def test_a_refused_open_given_up_then_retried_is_never_created(
        self, store: IncidentStore, clock: ReplayClock, fake: FakeStatuspage
    ) -> None:
        """The dead-open notice's two ways out, both taken: `statuspage resolve` (nothing to resolve on
        Statuspage), then `incidentbot outbox --retry N` of the open: the open is skipped (our timeline says it is
        over), so no public incident is left open that nothing resolves."""
        usecases = _declared(store, clock)
        fake.fail("create", 401, body={"error": "Could not authenticate"})
        worker = _worker(usecases, clock, fake)
        _run(usecases, clock, OPEN_MAJOR)
        await _deliver_all(worker, clock)
        (dead,) = _statuspage_items(usecases, "dead")
        _run(usecases, clock, "INC-1 statuspage resolve")
        await _deliver_all(worker, clock)
        assert usecases.outbox.revive(dead.id)
        with capture_logs() as logs:
            await _deliver_all(worker, clock)
        _run(usecases, clock, f"INC-1 resolve {SUMMARY}")
        await _deliver_all(worker, clock)
        assert fake.incidents == {}
        assert len(fake.calls("create")) == 1  # the refused one
        assert [e["opened"] for e in logs if e["event"] == "statuspage_open_skipped"] == [1]
        assert usecases.statuspage.record(1, 1) == (None, True)
        assert _statuspage_items(usecases) == []


class TestRecordingOrder:
    """Findings 2 and 3 (breaksp): the status page's state follows the order entries were recorded in, never a
    backdated time; `statuspage` commands take no `--at`."""

    async def test_a_backdated_resolve_after_the_open_leaves_the_page_resolved(
        self, store: IncidentStore, clock: ReplayClock, fake: FakeStatuspage
    ) -> None:
        usecases = _declared(store, clock)
        clock.now += timedelta(minutes=10)
        _run(usecases, clock, "INC-1 statuspage open major search Search is slow")
        _run(usecases, clock, "INC-1 resolve fixed --at 5m ago")  # before the open's own time
        await _deliver_all(_worker(usecases, clock, fake), clock)
        assert _states(fake) == [("Search is slow", "resolved")]
        with pytest.raises(TransitionError, match="INC-1 has no open status-page incident"):
            _run(usecases, clock, "INC-1 statuspage update Are we still open?")
        _run(usecases, clock, "INC-1 reopen again")
        _run(usecases, clock, "INC-1 statuspage open minor search Search is slow again")
        await _deliver_all(_worker(usecases, clock, fake), clock)
        assert _states(fake) == [("Search is slow", "resolved"), ("Search is slow again", "investigating")]

    @pytest.mark.parametrize(
        "command",
        [
            "INC-1 statuspage open major search Second --at 5m ago",
            "INC-1 statuspage update Still working --at 1m ago",
            "INC-1 statuspage resolve --at 13:42",
        ],
    )
    def test_statuspage_commands_take_no_at(self, command: str) -> None:
        with pytest.raises(UsageError, match="`statuspage` takes no `--at`: what customers read is published when"):
            parse_command(command)


class TestSharedComponents:
    """Finding 4 (breaksp): a component listed by several of our open status-page incidents shows the worst of
    them; a resolve sets it operational only when no other open one lists it."""

    @pytest.mark.parametrize(
        ("first", "second"),
        [("minor", "critical"), ("critical", "minor"), ("major", "minor"), ("minor", "major")],
    )
    async def test_opens_delivered_at_once_leave_the_worst_status_in_any_order(
        self, store: IncidentStore, clock: ReplayClock, fake: FakeStatuspage, first: str, second: str
    ) -> None:
        """Two incidents' opens listing one component, delivered at the same time by one process (the outbox
        runs different incidents' items at once): the component ends with the worse of the two impacts, whichever
        write comes last. Without the lock both read the page before either is created (the create answers
        late here) and the last write wins (checked: 3 of these 8 cases failed, the milder open writing last)."""
        usecases = _usecases(store, clock)
        for title in ("Search slow in EU", "Search down"):
            usecases.incidents.run(parse_command(f"declare sev2 {title}"), ALICE)
        _run(usecases, clock, f"INC-1 statuspage open {first} cmpsearch002 Search is affected")
        _run(usecases, clock, f"INC-2 statuspage open {second} cmpsearch002 Search is affected")
        fake.slow("create", 0.3)  # the second read comes while the first create is on its way
        client = StatuspageClient(Secret(API_KEY), PAGE_ID, fake.url, timeout_seconds=2)
        deliverer = StatuspageDeliverer(client, usecases.statuspage)
        await asyncio.gather(*(deliverer(item) for item in _statuspage_items(usecases)))
        expected = "major_outage" if "critical" in (first, second) else "partial_outage"
        assert fake.components["cmpsearch002"] == expected

    async def test_resolving_one_incident_keeps_what_another_has_down(
        self, store: IncidentStore, clock: ReplayClock, fake: FakeStatuspage
    ) -> None:
        usecases = _usecases(store, clock)
        worker = _worker(usecases, clock, fake)
        for title in ("Search slow in EU", "Search and CDN down", "Search timeouts"):
            usecases.incidents.run(parse_command(f"declare sev2 {title}"), ALICE)
        _run(usecases, clock, "INC-1 statuspage open minor cmpsearch002 Search is slow in Europe")
        _run(usecases, clock, "INC-2 statuspage open critical cmpsearch002,cmpcdnedge03 Search and CDN are down")
        await _deliver_all(worker, clock)
        assert (fake.components["cmpsearch002"], fake.components["cmpcdnedge03"]) == ("major_outage", "major_outage")
        _run(usecases, clock, "INC-3 statuspage open minor cmpsearch002 Some searches time out")  # no downgrade
        await _deliver_all(worker, clock)
        assert fake.components["cmpsearch002"] == "major_outage"
        _run(usecases, clock, "INC-1 resolve EU index rebuilt")
        await _deliver_all(worker, clock)
        assert (fake.components["cmpsearch002"], fake.components["cmpcdnedge03"]) == ("major_outage", "major_outage")
        _run(usecases, clock, "INC-2 resolve failover")  # INC-3 (minor) still lists search
        await _deliver_all(worker, clock)
        assert (fake.components["cmpsearch002"], fake.components["cmpcdnedge03"]) == (
            "degraded_performance",
            "operational",
        )
        _run(usecases, clock, "INC-3 resolve timeouts gone")
        await _deliver_all(worker, clock)
        assert fake.components["cmpsearch002"] == "operational"
        assert [s for _, s in _states(fake)] == ["resolved", "resolved", "resolved"]
