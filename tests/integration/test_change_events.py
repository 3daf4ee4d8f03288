"""CI/CD change events (``POST /changes``): recent changes of the affected service are posted into the incident's
channel and kept for the postmortem; whatever validation accepts fits the database, on SQLite and PostgreSQL
alike, or is refused with 422 naming the field; never a 500 (CI systems retry 5xx for ever).

The limits are the columns of ``change_events`` written out by hand from the table definition:
service VARCHAR(64), author VARCHAR(256), description TEXT and link TEXT (both capped at 2000 characters
by the documented API), and no value may hold NUL (PostgreSQL text refuses it) or an unpaired surrogate
(no UTF-8 form). Stored values are read back with plain SQL.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.support.alerts import firing_payload
from tests.support.bot_server import HttpResult, RunningBot, running_bot
from tests.support.fake_slack import FakeSlack
from tests.support.properties import examples
from tests.support.slack_driver import SlackDriver, channel_texts
from tests.support.webhooks import WEBHOOK_AUTH, WEBHOOK_TOKEN, post_json

SERVICE_LIMIT, AUTHOR_LIMIT, TEXT_LIMIT = 64, 256, 2000
SERVICE_NAME = re.compile(r"[a-z0-9][a-z0-9._-]*")  # the documented form of a service name


@pytest.fixture()
def webhook_bot(migrated_database: None, database_url: str, fake_slack: FakeSlack) -> Iterator[RunningBot]:
    with running_bot(database_url, fake_slack.base_url, INCIDENT_WEBHOOK_TOKEN=WEBHOOK_TOKEN) as running:
        yield running


def post_change(bot: RunningBot, body: Any) -> HttpResult:
    return bot.post(json.dumps(body), "application/json", WEBHOOK_AUTH, path="/changes")


def stored_changes(database_url: str) -> list[tuple[str, str, str, str]]:
    return [row[:4] for row in stored_rows(database_url)]  # type: ignore[misc]


def stored_rows(database_url: str) -> list[tuple[str, str, str, str, datetime]]:
    """(service, description, author, link, occurred_at as aware UTC) of every stored change, oldest first."""
    engine = sa.create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    query = sa.text("SELECT service, description, author, link, occurred_at FROM change_events ORDER BY id")
    try:
        with engine.connect() as connection:
            rows = connection.execute(query.columns(occurred_at=sa.DateTime(timezone=True))).all()
    finally:
        engine.dispose()
    return [
        (str(s), str(d), str(a), str(k), t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC))
        for s, d, a, k, t in rows
    ]


class TestChangeFieldExamples:
    def test_300_character_author_is_refused_naming_author(self, webhook_bot: RunningBot, database_url: str) -> None:
        """The issue's example: a 300-character author is 422 naming `author` (was 201 on SQLite, 500 on PostgreSQL)."""
        result = post_change(webhook_bot, {"service": "cdn-edge", "description": "deploy 42", "author": "a" * 300})
        assert result.status == 422, result.body
        assert "`author`" in result.json()["error"]
        assert stored_changes(database_url) == []

    def test_256_character_author_is_stored_whole(self, webhook_bot: RunningBot, database_url: str) -> None:
        """An author of exactly 256 characters (astral ones included) is accepted and stored unchanged."""
        author = "\U0001f600" * 100 + "é" * 156
        result = post_change(webhook_bot, {"service": "cdn-edge", "description": "deploy 42", "author": author})
        assert result.status == 201, result.body
        assert stored_changes(database_url) == [("cdn-edge", "deploy 42", author, "")]

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("author", "ci\x00bot"),
            ("description", "deploy\x00"),
            ("link", "https://ci.example.com/\x00"),
            ("description", "deploy \ud800"),
            ("description", "   "),
            ("time", "0001-01-01T00:30:00+01:00"),
        ],
    )
    def test_unstorable_values_are_refused_naming_the_field(
        self, webhook_bot: RunningBot, database_url: str, field: str, value: str
    ) -> None:
        """NUL, a lone surrogate, a blank description, a time before year 1 in UTC: 422 naming the field."""
        body = {"service": "cdn-edge", "description": "deploy 42", field: value}
        result = post_change(webhook_bot, body)
        assert result.status == 422, result.body
        assert f"`{field}`" in result.json()["error"]
        assert stored_changes(database_url) == []

    def test_a_surrogate_pair_escaped_in_json_is_one_character_and_accepted(
        self, webhook_bot: RunningBot, database_url: str
    ) -> None:
        """JSON writes U+103FF as the escaped pair \\ud800\\udfff (RFC 8259 7): one valid character, stored whole."""
        body = '{"service": "cdn-edge", "description": "deploy \\ud800\\udfff"}'
        result = webhook_bot.post(body, "application/json", WEBHOOK_AUTH, path="/changes")
        assert result.status == 201, result.body
        assert stored_changes(database_url) == [("cdn-edge", "deploy \U000103ff", "unknown", "")]


ODD = st.sampled_from(
    ["\x00", "\ud800", "\udfff", "é", "e\u0301", "\U0001f600", "\u202e", "İ", "ß", " ", "\n", "\u3000", "\ufeff", "a"]
)
"""Odd characters: NUL, lone surrogates, combining marks, astral, bidi override, case-changing, blanks."""


def text_around(limit: int, alphabet: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Strings of a few characters, or within 3 of ``limit``."""
    lengths = st.one_of(st.integers(0, 4), st.integers(limit - 3, limit + 3))
    return lengths.flatmap(lambda n: st.lists(alphabet, min_size=n, max_size=n).map("".join))


ANY_CHAR = st.one_of(st.characters(codec="utf-8"), ODD)
SERVICE_CHAR = st.one_of(st.sampled_from("abcxyz019._-"), st.sampled_from("A\u212aİ -"))
bodies = st.fixed_dictionaries(
    {
        "service": text_around(SERVICE_LIMIT, SERVICE_CHAR).filter(bool),
        "description": text_around(TEXT_LIMIT, ANY_CHAR),
    },
    optional={
        "author": text_around(AUTHOR_LIMIT, ANY_CHAR),
        "link": text_around(TEXT_LIMIT - 8, ANY_CHAR).map(lambda rest: "https://" + rest),
    },
)


@st.composite
def timestamps(draw: st.DrawFn) -> tuple[str, datetime | None]:
    """An RFC 3339 time as CI systems write it (Z or an offset, 0-9 fraction digits) and its UTC value,
    None when it is not representable (before year 1 or after 9999 once in UTC)."""
    year = draw(st.one_of(st.sampled_from([1, 2, 1970, 2025, 9999]), st.integers(1, 9999)))
    wall = datetime(  # the clock time written, before its offset is applied
        year,
        draw(st.integers(1, 12)),
        draw(st.integers(1, 28)),
        draw(st.integers(0, 23)),
        draw(st.integers(0, 59)),
        draw(st.integers(0, 59)),
        tzinfo=UTC,
    )
    digits = draw(st.text("0123456789", min_size=0, max_size=9))
    offset = draw(st.one_of(st.none(), st.integers(-14 * 60, 14 * 60)))
    zone = "Z" if offset is None else f"{'+' if offset >= 0 else '-'}{abs(offset) // 60:02d}:{abs(offset) % 60:02d}"
    text = f"{wall.year:04d}-{wall:%m-%dT%H:%M:%S}{'.' + digits if digits else ''}{zone}"
    wall = wall.replace(microsecond=int(digits[:6].ljust(6, "0")) if digits else 0)
    try:
        utc = wall - timedelta(minutes=offset or 0)
    except OverflowError:
        return text, None
    return text, utc


def storable(text: str) -> bool:
    return "\x00" not in text and not any("\ud800" <= ch <= "\udfff" for ch in text)


def invalid_fields(body: dict[str, str]) -> set[str]:
    """The fields the API must refuse, by the documented rules and the columns' limits."""
    bad = set()
    service = body["service"].strip().lower()
    if not (SERVICE_NAME.fullmatch(service) and len(service) <= SERVICE_LIMIT):
        bad.add("service")
    # Lengths apply to the trimmed text (README: "trimmed first").
    description = body["description"]
    if len(description.strip()) > TEXT_LIMIT or not storable(description) or not description.strip():
        bad.add("description")
    author = body.get("author", "")
    if len(author.strip()) > AUTHOR_LIMIT or not storable(author):
        bad.add("author")
    link = body.get("link", "")
    if len(link.strip()) > TEXT_LIMIT or not storable(link) or (link and not link.strip().startswith("https://")):
        bad.add("link")
    return bad


class TestChangeFieldsProperty:
    @settings(
        max_examples=examples(40),
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(body=bodies, time=st.one_of(st.none(), timestamps()))
    def test_accepted_values_are_stored_whole_and_refusals_name_a_field(
        self,
        webhook_bot: RunningBot,
        database_url: str,
        body: dict[str, str],
        time: tuple[str, datetime | None] | None,
    ) -> None:
        """201 and the row holds exactly the trimmed values (and the time in UTC), or 422 naming a field the
        rules refuse; never 5xx."""
        now = datetime.now(UTC)
        # Judged as the server reads it: JSON escapes a high and a low surrogate next to each other as a
        # pair, which every decoder reads as one astral character (RFC 8259 section 7), valid and stored.
        body = json.loads(json.dumps(body))
        if time is not None:
            assume(time[1] is None or abs(time[1] - now) > timedelta(hours=1))  # clear of the 5-minute grace
            body = {**body, "time": time[0]}
        before = stored_rows(database_url)
        result = post_change(webhook_bot, body)
        bad = invalid_fields(body)
        if time is not None and (time[1] is None or time[1] > now):
            bad.add("time")
        if not bad:
            assert result.status == 201, (result.status, result.body)
            expected = (
                body["service"].strip().lower(),
                body["description"].strip(),
                body.get("author", "").strip() or "unknown",
                body.get("link", "").strip(),
            )
            rows = stored_rows(database_url)
            assert len(rows) == len(before) + 1 and rows[:-1] == before
            assert rows[-1][:4] == expected
            if time is not None:
                assert rows[-1][4] == time[1]
            else:
                assert now <= rows[-1][4] <= datetime.now(UTC)
        else:
            assert result.status == 422, (result.status, result.body, bad)
            named = set(re.findall(r"`(\w+)`", result.json()["error"]))
            assert named and named <= bad, (named, bad)
            assert stored_rows(database_url) == before


class TestChangeEvents:
    def test_recent_changes_are_posted_when_the_service_is_named(self, slo_slack: SlackDriver) -> None:
        """A WAF deploy 12 minutes before the declaration is posted in the channel; older ones are not."""
        now = datetime.now(UTC)
        for minutes, text in ((12, "WAF rule 'inspect-large-payloads' deployed"), (180, "TLS cert rotated")):
            change = {
                "service": "cdn-edge",
                "description": text,
                "author": "carol",
                "time": (now - timedelta(minutes=minutes)).isoformat(),
                "link": "https://ci.example.com/d/1",
            }
            result = post_json(slo_slack.bot, "/changes", change)
            assert result.status == 201, result.body
        channel = slo_slack.declare("declare sev2 CDN edge 502s")
        slo_slack.ephemeral("service cdn-edge", channel_id=channel)
        texts = channel_texts(slo_slack, channel)
        assert "Recent changes to cdn-edge" in texts and "inspect-large-payloads" in texts
        assert "TLS cert rotated" not in texts
        pm = slo_slack.bot.usecases.incidents.postmortem(1)
        assert len(pm.recent_changes) == 1 and "inspect-large-payloads" in pm.recent_changes[0]

    def test_alert_declare_posts_recent_changes(self, slo_slack: SlackDriver) -> None:
        """An alert with a service label brings the recent changes into the new channel too."""
        starts = datetime.now(UTC) - timedelta(minutes=1)
        post_json(
            slo_slack.bot,
            "/changes",
            {
                "service": "cdn-edge",
                "description": "edge config push 88",
                "time": (starts - timedelta(minutes=30)).isoformat(),
            },
        )
        post_json(slo_slack.bot, "/alerts/alertmanager", firing_payload(startsAt=starts.isoformat()))
        slo_slack.bot.drain()
        channel = slo_slack.bot.usecases.incidents.get(1).channel_id
        assert channel and "edge config push 88" in channel_texts(slo_slack, channel)

    @pytest.mark.parametrize(
        ("body", "status"),
        [({"description": "no service"}, 422), ({"service": "cdn-edge"}, 422), ("[]", 422), ("nope", 400)],
    )
    def test_bad_change_bodies(self, slo_slack: SlackDriver, body: Any, status: int) -> None:
        """Missing fields: 422 naming them; not JSON: 400."""
        assert post_json(slo_slack.bot, "/changes", body).status == status


class TestMisspeltService:
    """With an SLO catalogue (cdn-edge), a change for a misspelt service is refused naming the closest, so
    the pipeline's author fixes it; a name nothing resembles is a service without an SLO and is kept."""

    def test_a_misspelt_service_is_refused_naming_the_closest(self, slo_slack: SlackDriver) -> None:
        result = post_change(slo_slack.bot, {"service": "cdn-egde", "description": "deploy 42"})
        assert result.status == 422, result.body
        assert result.json() == {
            "ok": False,
            "error": "`cdn-egde` is not in the SLO catalogue; did you mean `cdn-edge`? (catalogued: cdn-edge)",
        }

    @pytest.mark.parametrize("service", ["cdn-edge", "billing-batch"])
    def test_a_catalogued_or_unrelated_service_is_kept(self, slo_slack: SlackDriver, service: str) -> None:
        result = post_change(slo_slack.bot, {"service": service, "description": "deploy 42"})
        assert result.status == 201, result.body
