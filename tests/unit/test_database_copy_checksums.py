"""What a database copy is compared by (bot/store/checksums.py): a timeline's checksum from its rows, and
the sentence naming the first difference between two databases' fingerprints."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.store.checksums import Fingerprint, first_difference, timeline_checksum, timeline_line, utc_iso
from tests.support.properties import examples

AT = datetime(2026, 11, 22, 13, 42, tzinfo=UTC)
NOTE = (AT, AT + timedelta(minutes=1), "alice", "note", "WAF?")
NOTE_LINE = '["2026-11-22T13:42:00.000000Z","2026-11-22T13:43:00.000000Z","alice","note","WAF?"]'
# Both digests computed outside Python: printf '<NOTE_LINE>\n' | sha256sum
NOTE_SHA256 = "dd1213ff97064ca757852f3049b88129a4268ca3817ca1ff7925166b50c44e7c"
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
HYPOTHESIS = (
    datetime(2026, 11, 22, 14, 5, 0, 250_000, tzinfo=UTC),
    datetime(2026, 11, 22, 14, 5, 1, tzinfo=UTC),
    "bob",
    "hypothesis",
    'Ümlaut "quoted"\nline',
)
TWO_ENTRIES_SHA256 = "454903047a124d3b881ede18311c3e1fe9e75eaba461302619ae8ce926e20b61"


class TestUtcIso:
    def test_an_aware_time_in_another_zone_is_written_in_utc(self) -> None:
        """15:42 at +02:00 is 13:42 UTC, written with microseconds and Z."""
        berlin = datetime(2026, 11, 22, 15, 42, tzinfo=timezone(timedelta(hours=2)))
        assert utc_iso(berlin) == "2026-11-22T13:42:00.000000Z"

    def test_a_naive_time_is_taken_as_utc_as_sqlite_stores_it(self) -> None:
        assert utc_iso(datetime(2026, 11, 22, 13, 42, 0, 7)) == "2026-11-22T13:42:00.000007Z"  # noqa: DTZ001


class TestTimelineChecksum:
    def test_one_line_is_the_five_fields_as_compact_json(self) -> None:
        assert timeline_line(NOTE) == NOTE_LINE

    def test_one_entry_hashes_to_the_sha256_of_its_line_and_a_newline(self) -> None:
        assert timeline_checksum([NOTE]) == NOTE_SHA256

    def test_no_entries_hash_to_the_sha256_of_nothing(self) -> None:
        assert timeline_checksum([]) == EMPTY_SHA256

    def test_non_ascii_quotes_and_newlines_are_kept_as_json_escapes(self) -> None:
        """ensure_ascii off: Ü is written as UTF-8, the quote and the newline as JSON escapes."""
        assert timeline_line(HYPOTHESIS).endswith('"bob","hypothesis","Ümlaut \\"quoted\\"\\nline"]')
        assert timeline_checksum([NOTE, HYPOTHESIS]) == TWO_ENTRIES_SHA256

    def test_the_order_of_the_entries_counts(self) -> None:
        assert timeline_checksum([HYPOTHESIS, NOTE]) != TWO_ENTRIES_SHA256

    @settings(max_examples=examples(40))
    @given(
        st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1)),  # noqa: DTZ001
        st.integers(min_value=-14 * 60, max_value=14 * 60),
        st.text(max_size=30),
    )
    def test_the_same_instant_checksums_the_same_whatever_its_zone(
        self, naive: datetime, minutes: int, text: str
    ) -> None:
        """A naive UTC time (SQLite), the aware UTC time and the same instant at any offset (PostgreSQL's
        session zone) give one checksum."""
        utc = naive.replace(tzinfo=UTC)
        shifted = utc.astimezone(timezone(timedelta(minutes=minutes)))
        rows = [(naive, naive, "alice", "note", text), (utc, utc, "alice", "note", text)]
        assert timeline_checksum([rows[0]]) == timeline_checksum([rows[1]])
        assert timeline_checksum([(shifted, shifted, "alice", "note", text)]) == timeline_checksum([rows[1]])

    @settings(max_examples=examples(40))
    @given(st.integers(min_value=0, max_value=4), st.text(min_size=1, max_size=5))
    def test_a_change_to_any_one_field_changes_the_checksum(self, field: int, extra: str) -> None:
        changed: list[object] = list(NOTE)
        if field < 2:
            changed[field] = NOTE[field] + timedelta(microseconds=1)  # type: ignore[operator]
        else:
            changed[field] = str(NOTE[field]) + extra
        assert timeline_checksum([tuple(changed)]) != NOTE_SHA256  # type: ignore[list-item]


COUNTS = {"incidents": 3, "installation": 1, "timeline_entries": 1204}


class TestFirstDifference:
    def test_equal_fingerprints_have_none(self) -> None:
        same = Fingerprint(dict(COUNTS), {1: NOTE_SHA256, 2: EMPTY_SHA256})
        assert first_difference(same, Fingerprint(dict(COUNTS), {2: EMPTY_SHA256, 1: NOTE_SHA256})) is None

    def test_a_row_count_is_named_with_both_counts(self) -> None:
        assert (
            first_difference(Fingerprint(COUNTS), Fingerprint({**COUNTS, "timeline_entries": 1203}))
            == "timeline_entries: 1,204 rows in the source, 1,203 rows in the target"
        )

    def test_the_first_table_in_copy_order_is_named_first(self) -> None:
        target = Fingerprint({"incidents": 2, "installation": 1, "timeline_entries": 1})
        assert first_difference(Fingerprint(COUNTS), target) == "incidents: 3 rows in the source, 2 rows in the target"

    def test_one_row_and_a_missing_table_are_worded(self) -> None:
        assert (
            first_difference(Fingerprint({"outbox": 1}), Fingerprint({}), "the backup", "the restored database")
            == "outbox: 1 row in the backup, no such table in the restored database"
        )
        assert (
            first_difference(Fingerprint({}), Fingerprint({"extra": 0}))
            == "extra: no such table in the source, 0 rows in the target"
        )

    def test_counts_are_compared_before_timelines(self) -> None:
        left = Fingerprint(COUNTS, {1: NOTE_SHA256})
        right = Fingerprint({**COUNTS, "installation": 0}, {1: EMPTY_SHA256})
        assert first_difference(left, right) == "installation: 1 row in the source, 0 rows in the target"

    def test_the_lowest_incident_whose_timeline_differs_is_named_with_both_checksums(self) -> None:
        left = Fingerprint(COUNTS, {12: NOTE_SHA256, 7: NOTE_SHA256, 3: EMPTY_SHA256})
        right = Fingerprint(COUNTS, {12: EMPTY_SHA256, 7: EMPTY_SHA256, 3: EMPTY_SHA256})
        assert (
            first_difference(left, right)
            == "INC-7's timeline differs: checksum dd1213ff9706 in the source, e3b0c44298fc in the target"
        )

    def test_an_incident_on_one_side_only_is_named(self) -> None:
        assert (
            first_difference(
                Fingerprint(COUNTS, {1: NOTE_SHA256, 2: NOTE_SHA256}), Fingerprint(COUNTS, {1: NOTE_SHA256})
            )
            == "INC-2 is in the source but not in the target"
        )
        assert (
            first_difference(Fingerprint(COUNTS, {}), Fingerprint(COUNTS, {5: NOTE_SHA256}), "the backup", "the copy")
            == "INC-5 is in the copy but not in the backup"
        )

    @settings(max_examples=examples(40))
    @given(
        st.dictionaries(st.sampled_from(["incidents", "outbox", "pages"]), st.integers(0, 10**6)),
        st.dictionaries(st.integers(1, 10**6), st.sampled_from([NOTE_SHA256, EMPTY_SHA256])),
    )
    def test_a_fingerprint_never_differs_from_itself_and_any_one_change_is_found(
        self, counts: dict[str, int], timelines: dict[int, str]
    ) -> None:
        fingerprint = Fingerprint(counts, timelines)
        assert first_difference(fingerprint, Fingerprint(dict(counts), dict(timelines))) is None
        if counts:
            table = next(iter(counts))
            changed = Fingerprint({**counts, table: counts[table] + 1}, timelines)
            assert first_difference(fingerprint, changed) is not None
            assert str(first_difference(fingerprint, changed)).startswith(f"{table}: ")
        if timelines:
            number = min(timelines)
            flipped = EMPTY_SHA256 if timelines[number] == NOTE_SHA256 else NOTE_SHA256
            assert str(first_difference(fingerprint, Fingerprint(counts, {**timelines, number: flipped}))).startswith(
                f"INC-{number}'s timeline differs"
            )
