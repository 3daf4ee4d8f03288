"""The public status page's pure parts: the grammar of ``statuspage ...``, the state its entries fold to,
what each command may record in every incident status, the components a command names, the settings, and
Statuspage's error shapes read into a reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.config import load_settings
from bot.domain.commands import Declare, Resolve, StatuspageOpen, StatuspageResolve, StatuspageUpdate
from bot.domain.errors import TransitionError, UsageError
from bot.domain.grammar import parse_command
from bot.domain.lifecycle import Stamp, apply, declare
from bot.domain.model import EntryKind, Incident, Severity, Status, TimelineEntry
from bot.domain.statuspage import public_name, resolve_components, statuspage_state
from bot.errors import ConfigError
from bot.integrations.statuspage.client import statuspage_reason

T0 = datetime(2026, 11, 30, 4, 0, tzinfo=UTC)
COMPONENTS = {"checkout-api": ("cmpcheckout1",), "search": ("cmpsearch002", "cmpsearch003"), "docs": ()}


def _stamp(minutes: int = 1) -> Stamp:
    return Stamp("U0ALICE", T0 + timedelta(minutes=minutes), T0 + timedelta(minutes=minutes))


def _incident(status: Status = Status.INVESTIGATING) -> Incident:
    incident = declare(Declare("Checkout db OOM", Severity.SEV1), 3, Stamp("U0ALICE", T0, T0)).incident
    return incident.with_changes(status=status)


def _entry(action: str, **data: object) -> TimelineEntry:
    return TimelineEntry(EntryKind.STATUSPAGE, T0, T0, "U0ALICE", "text", {"action": action, **data})


OPENED = [_entry("open", status="investigating", impact="major", components=["cmpcheckout1"])]
OPEN = StatuspageOpen("major", "service", "Checkout is failing\nDetails follow.", ("cmpcheckout1",))


class TestGrammar:
    @pytest.mark.parametrize(
        ("text", "action"),
        [
            (
                "statuspage open MAJOR service Checkout is failing",
                StatuspageOpen("major", "service", "Checkout is failing"),
            ),
            ("statuspage open none - Planned work", StatuspageOpen("none", "-", "Planned work")),
            (
                "statuspage open critical search,cmpcdnedge03 Search is down",
                StatuspageOpen("critical", "search,cmpcdnedge03", "Search is down"),
            ),
            ("statuspage update We are on it", StatuspageUpdate("We are on it")),
            ("statuspage update identified the cause", StatuspageUpdate("the cause", "identified")),
            # finding 6 (breaksp): a capitalised status word is the public text's first word
            ("statuspage update Identified the cause", StatuspageUpdate("Identified the cause")),
            ("statuspage update Monitoring shows rates back", StatuspageUpdate("Monitoring shows rates back")),
            ("statuspage update INVESTIGATING now", StatuspageUpdate("INVESTIGATING now")),
            ("statuspage resolve", StatuspageResolve("")),
            ("statuspage resolve All good now.", StatuspageResolve("All good now.")),
        ],
    )
    def test_each_form_parses(self, text: str, action: object) -> None:
        assert parse_command(text).action == action

    @pytest.mark.parametrize(
        ("text", "shown", "joined"),
        [
            (
                "statuspage open major search, checkout-api Search and checkout are slow",
                "search,",
                "search,checkout-api",
            ),
            ("statuspage open major cmpsearch002,search, Slow", "cmpsearch002,search,", "cmpsearch002,search,Slow"),
            ("statuspage open minor , cmpsearch002 Slow", ",", ",cmpsearch002"),
        ],
    )
    def test_components_followed_by_a_comma_and_a_space_are_refused(self, text: str, shown: str, joined: str) -> None:
        """Finding 7 (breaksp): the next component would become the public name's first word."""
        with pytest.raises(UsageError) as raised:
            parse_command(text)
        assert str(raised.value) == (
            f"`{shown}` ends with a comma: write the components without spaces (`{joined}`), then the public text."
        )

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("statuspage", "use `statuspage open`, `statuspage update` or `statuspage resolve`."),
            (
                "statuspage close now",
                "`close` is not a statuspage command; use `statuspage open`, `statuspage update` or "
                "`statuspage resolve`.",
            ),
            (
                "statuspage open severe service x",
                "`severe` is not an impact; `statuspage open` needs an impact: none, minor, major, critical.",
            ),
            (
                "statuspage open major service",
                "`statuspage open` needs the affected components (`service`, or ids or services separated by "
                "commas) and the public text.",
            ),
            ("statuspage update", "`statuspage` needs the public text."),
            ("statuspage update identified", "`statuspage` needs the public text."),
        ],
    )
    def test_bad_input_is_refused_with_the_usage(self, text: str, message: str) -> None:
        with pytest.raises(UsageError) as raised:
            parse_command(text)
        assert raised.value.user_message == message
        assert raised.value.usage.startswith("statuspage open <none|minor|major|critical>")


class TestState:
    def test_open_update_resolve_fold(self) -> None:
        entries = [*OPENED, _entry("update", status="identified")]
        assert statuspage_state(entries).open and statuspage_state(entries).status == "identified"
        closed = statuspage_state([*entries, _entry("resolve", status="resolved")])
        assert (closed.open, closed.status, closed.component_ids, closed.opened) == (
            False,
            "resolved",
            ("cmpcheckout1",),
            1,
        )

    def test_a_second_open_counts(self) -> None:
        entries = [*OPENED, _entry("resolve"), *OPENED]
        assert (statuspage_state(entries).open, statuspage_state(entries).opened) == (True, 2)

    def test_other_kinds_do_not_count(self) -> None:
        note = TimelineEntry(EntryKind.NOTE, T0, T0, "U0ALICE", "statuspage open", {"action": "open"})
        assert statuspage_state([note]).open is False

    @given(
        st.lists(st.sampled_from(["open", "update", "resolve"]), min_size=1, max_size=12),
        st.lists(st.integers(min_value=-600, max_value=600), min_size=12, max_size=12),
    )
    def test_the_fold_follows_recording_order_whatever_the_times_claimed(
        self, actions: list[str], shifts: list[int]
    ) -> None:
        """Findings 2 and 3 (breaksp): backdating (``occurred_at``) never changes the state; only the order in
        which entries were recorded does (here: recorded a minute apart, each claiming any time)."""
        entries = [
            TimelineEntry(
                EntryKind.STATUSPAGE,
                T0 + timedelta(minutes=i + shift),
                T0 + timedelta(minutes=i),
                "U0ALICE",
                "text",
                {"action": action, "status": "identified" if action == "update" else "investigating"},
                number=i + 1,
            )
            for i, (action, shift) in enumerate(zip(actions, shifts, strict=False))
        ]
        expected_open, expected_opened = False, 0
        for action in actions:  # the expected fold, written out: the order typed
            if action == "open":
                expected_open, expected_opened = True, expected_opened + 1
            elif action == "resolve":
                expected_open = False
        by_claimed_time = sorted(entries, key=lambda e: e.occurred_at)  # as the store lists them
        state = statuspage_state(by_claimed_time)
        assert (state.open, state.opened) == (expected_open, expected_opened)

    def test_a_backdated_resolve_recorded_after_the_open_closes_it(self) -> None:
        opened = TimelineEntry(EntryKind.STATUSPAGE, T0, T0, "U0ALICE", "x", {"action": "open"}, number=5)
        resolved = TimelineEntry(
            EntryKind.STATUSPAGE, T0 - timedelta(minutes=2), T0, "incidentbot", "y", {"action": "resolve"}, number=6
        )
        assert statuspage_state([resolved, opened]).open is False


class TestRecord:
    @pytest.mark.parametrize("status", [Status.DECLARED, Status.INVESTIGATING, Status.MITIGATED, Status.MONITORING])
    def test_open_in_every_open_status_records_the_public_name_and_text(self, status: Status) -> None:
        decision = apply(_incident(status), OPEN, _stamp())
        (entry,) = decision.entries
        assert decision.incident.status is status
        assert (entry.kind, entry.text) == (EntryKind.STATUSPAGE, "Checkout is failing\nDetails follow.")
        assert entry.data == {
            "action": "open",
            "status": "investigating",
            "name": "Checkout is failing",
            "impact": "major",
            "components": ["cmpcheckout1"],
        }

    def test_open_on_a_resolved_incident_is_refused(self) -> None:
        with pytest.raises(TransitionError):
            apply(_incident(Status.RESOLVED), OPEN, _stamp())

    def test_open_while_one_is_open_is_refused(self) -> None:
        with pytest.raises(TransitionError, match="already has an open status-page incident"):
            apply(_incident(), OPEN, _stamp(), OPENED)

    @pytest.mark.parametrize("status", list(Status))
    @pytest.mark.parametrize("action", [StatuspageUpdate("x"), StatuspageResolve("x")])
    def test_update_and_resolve_need_an_open_one_in_every_status(
        self, status: Status, action: StatuspageUpdate | StatuspageResolve
    ) -> None:
        with pytest.raises(TransitionError, match="INC-3 has no open status-page incident"):
            apply(_incident(status), action, _stamp())

    @pytest.mark.parametrize("status", list(Status))
    def test_update_and_resolve_with_one_open_in_every_status(self, status: Status) -> None:
        (update,) = apply(_incident(status), StatuspageUpdate("Fix is out", "monitoring"), _stamp(), OPENED).entries
        assert (update.text, update.data) == ("Fix is out", {"action": "update", "status": "monitoring"})
        (kept,) = apply(_incident(status), StatuspageUpdate("More news"), _stamp(), OPENED).entries
        assert kept.data["status"] == "investigating"
        (resolved,) = apply(_incident(status), StatuspageResolve("All good"), _stamp(), OPENED).entries
        assert (resolved.text, resolved.data) == ("All good", {"action": "resolve", "status": "resolved"})

    def test_an_unknown_impact_or_status_is_refused(self) -> None:
        with pytest.raises(UsageError, match="is not an impact"):
            apply(_incident(), StatuspageOpen("huge", "service", "x", ("c1",)), _stamp())
        with pytest.raises(UsageError, match="is not a status"):
            apply(_incident(), StatuspageUpdate("x", "resolved"), _stamp(), OPENED)

    def test_resolve_of_the_incident_is_not_a_statuspage_entry(self) -> None:
        """The incident's own resolve records its summary as a resolve entry only (never a statuspage one)."""
        (entry,) = apply(_incident(), Resolve("internal summary"), _stamp(), OPENED).entries
        assert entry.kind is EntryKind.RESOLVED

    @pytest.mark.parametrize(("length", "ok"), [(255, True), (256, False)])
    def test_the_name_is_at_most_255_characters(self, length: int, ok: bool) -> None:
        text = "n" * length + "\nbody"
        if ok:
            assert public_name(text) == "n" * length
        else:
            with pytest.raises(UsageError, match="is 256 characters; Statuspage takes at most 255"):
                public_name(text)

    @pytest.mark.parametrize(
        ("name", "shown"),
        [
            ("B" * 244 + " <@U0BOB|bob>", None),  # customers read 249 characters
            ("B" * 250 + " <https://status.example.com/x|status.example.com/x>", 279),
            ("B" * 249 + " <!here>", None),  # 255
            ("B" * 250 + " <#C0GENERAL|general>", 259),
        ],
    )
    def test_the_name_limit_counts_the_public_text(self, name: str, shown: int | None) -> None:
        """Finding 16 (breaksp): Slack's markup is not counted, the text customers read is."""
        if shown is None:
            assert public_name(name + "\nmore") == name
        else:
            with pytest.raises(UsageError, match=f"is {shown} characters; Statuspage takes at most 255"):
                public_name(name + "\nmore")

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            (
                "Thanks to <@U0BOB> for the report",
                "`<@U0BOB>` would reach the status page as the bare Slack id @U0BOB: write the person's name instead "
                "(customers cannot read Slack ids).",
            ),
            (
                "See <#C0GENERAL> for news",
                "`<#C0GENERAL>` would reach the status page as the bare Slack id #C0GENERAL: write the channel's name "
                "instead (customers cannot read Slack ids).",
            ),
        ],
    )
    @pytest.mark.parametrize("make", ["open", "update", "resolve"])
    def test_a_mention_without_its_name_is_refused(self, text: str, message: str, make: str) -> None:
        """Finding 15 (breaksp): ``<@U0BOB>`` (no ``|name``) would publish the bare id."""
        actions: dict[str, StatuspageOpen | StatuspageUpdate | StatuspageResolve] = {
            "open": StatuspageOpen("major", "service", text, ("cmpcheckout1",)),
            "update": StatuspageUpdate(text),
            "resolve": StatuspageResolve(text),
        }
        with pytest.raises(UsageError) as raised:
            apply(_incident(), actions[make], _stamp(), [] if make == "open" else OPENED)
        assert str(raised.value) == message

    def test_a_labelled_mention_is_kept(self) -> None:
        (entry,) = apply(_incident(), StatuspageUpdate("Thanks <@U0BOB|bob>"), _stamp(), OPENED).entries
        assert entry.text == "Thanks <@U0BOB|bob>"

    @pytest.mark.parametrize(("length", "ok"), [(25_000, True), (25_001, False)])
    def test_the_body_is_at_most_25000_characters(self, length: int, ok: bool) -> None:
        action = StatuspageUpdate("b" * length)
        if ok:
            assert len(apply(_incident(), action, _stamp(), OPENED).entries[0].text) == 25_000
        else:
            with pytest.raises(UsageError, match="25,001 characters; Statuspage takes at most 25,000"):
                apply(_incident(), action, _stamp(), OPENED)


class TestComponents:
    @pytest.mark.parametrize(
        ("typed", "service", "ids"),
        [
            ("service", "checkout-api", ("cmpcheckout1",)),
            ("-", "search", ("cmpsearch002", "cmpsearch003")),
            ("search,cmpxxxxxxxx1", None, ("cmpsearch002", "cmpsearch003", "cmpxxxxxxxx1")),
            ("cmpxxxxxxxx1,search,cmpsearch002", "docs", ("cmpxxxxxxxx1", "cmpsearch002", "cmpsearch003")),
        ],
    )
    def test_examples(self, typed: str, service: str | None, ids: tuple[str, ...]) -> None:
        assert resolve_components(typed, service, COMPONENTS) == ids

    @pytest.mark.parametrize(
        ("typed", "service", "message"),
        [
            ("service", None, "This incident has no service yet"),
            ("service", "docs", "Service docs has no `statuspage_components`"),
            ("service", "billing", "Service billing has no `statuspage_components`"),
            ("docs", "search", "Service docs has no `statuspage_components`"),
            ("cmp_1", "search", "`cmp_1` is neither a catalogued service nor a Statuspage component id"),
        ],
    )
    def test_refusals_examples(self, typed: str, service: str | None, message: str) -> None:
        with pytest.raises(UsageError, match=message.replace("`", ".")):
            resolve_components(typed, service, COMPONENTS)

    @pytest.mark.parametrize(
        "word",
        ["Payments", "checkout", "cmpsearch02", "cmpsearch0002", "CMPSEARCH002", "Checkout-API", "8KBF7D35C070"],
    )
    def test_a_word_neither_a_service_nor_shaped_like_an_id_is_refused_with_the_fix(self, word: str) -> None:
        """Findings 17 (breaksp): a forgotten components list or a misspelt service is refused at the command."""
        with pytest.raises(UsageError) as raised:
            resolve_components(word, "search", COMPONENTS)
        assert str(raised.value) == (
            f"`{word}` is neither a catalogued service nor a Statuspage component id (12 lower-case letters and "
            "digits, e.g. 8kbf7d35c070). Name the components first: `statuspage open <impact> <service|components> "
            "<public text>`."
        )

    @given(
        st.text(st.characters(min_codepoint=33, max_codepoint=126, blacklist_characters=","), min_size=1, max_size=14)
    )
    def test_only_twelve_lower_case_letters_and_digits_read_as_an_id(self, word: str) -> None:
        known = word in COMPONENTS or word.lower() in ("service", "-")
        if known:
            return
        is_id = len(word) == 12 and all(c in "abcdefghijklmnopqrstuvwxyz0123456789" for c in word)
        if is_id:
            assert resolve_components(word, None, COMPONENTS) == (word,)
        else:
            with pytest.raises(UsageError, match="is neither a catalogued service nor a Statuspage component id"):
                resolve_components(word, None, COMPONENTS)

    @given(
        st.lists(
            st.one_of(st.sampled_from(["checkout-api", "search"]), st.from_regex(r"[a-z0-9]{12}", fullmatch=True)),
            min_size=1,
            max_size=6,
        )
    )
    def test_any_list_names_the_ids_of_each_item_in_order_once(self, words: list[str]) -> None:
        expected: list[str] = []
        for word in words:
            for component in COMPONENTS.get(word, (word,)):
                if component not in expected:
                    expected.append(component)
        assert resolve_components(",".join(words), None, COMPONENTS) == tuple(expected)


class TestSettings:
    def test_configured(self) -> None:
        settings = load_settings(
            {
                "STATUSPAGE_API_KEY": "k1",
                "STATUSPAGE_PAGE_ID": "kctbh9vrtdwd",
                "STATUSPAGE_URL": "http://127.0.0.1:9/",
                "STATUSPAGE_CONFIRM_RESOLVE": "TRUE",
            },
            None,
        )
        assert (settings.statuspage, settings.statuspage_url, settings.statuspage_confirm_resolve) == (
            True,
            "http://127.0.0.1:9",
            True,
        )
        assert settings.statuspage_resolve_text == "This incident has been resolved."
        assert "k1" not in repr(settings)

    @pytest.mark.parametrize(
        ("typed", "used"),
        [
            ("https://api.statuspage.io/v1", "https://api.statuspage.io"),  # as Atlassian writes it (finding 11)
            ("https://api.statuspage.io/v1/", "https://api.statuspage.io"),
            ("https://api.statuspage.io/", "https://api.statuspage.io"),
            ("http://localhost:8080/v1", "http://localhost:8080"),
            ("http://[::1]:9", "http://[::1]:9"),
            ("https://proxy.example/statuspage", "https://proxy.example/statuspage"),
        ],
    )
    def test_the_base_url_without_its_version(self, typed: str, used: str) -> None:
        environ = {"STATUSPAGE_API_KEY": "k1", "STATUSPAGE_PAGE_ID": "kctbh9vrtdwd", "STATUSPAGE_URL": typed}
        assert load_settings(environ, None).statuspage_url == used

    def test_off_by_default(self) -> None:
        settings = load_settings({}, None)
        assert (settings.statuspage, settings.statuspage_url) == (False, "https://api.statuspage.io")

    @pytest.mark.parametrize(
        ("environ", "message"),
        [
            (
                {"STATUSPAGE_API_KEY": "k1"},
                "STATUSPAGE_PAGE_ID is not set: the status page needs STATUSPAGE_API_KEY and STATUSPAGE_PAGE_ID "
                "(README: Public status page (Statuspage)).",
            ),
            (
                {"STATUSPAGE_API_KEY": "k1", "STATUSPAGE_PAGE_ID": "page/1"},
                "STATUSPAGE_PAGE_ID must be a page id (letters and digits, from the page's API settings), "
                "got 'page/1'.",
            ),
            (
                {"STATUSPAGE_API_KEY": "k1", "STATUSPAGE_PAGE_ID": "p1", "STATUSPAGE_URL": "https://u:pw@api.x"},
                "STATUSPAGE_URL must not hold a user or password (give the token in its own setting), "
                "got 'https://***@api.x'.",
            ),
            (
                {"STATUSPAGE_API_KEY": "k1", "STATUSPAGE_PAGE_ID": "p1", "STATUSPAGE_URL": "ftp://api.x"},
                "STATUSPAGE_URL must be an http(s) URL (e.g. https://api.statuspage.io), got 'ftp://api.x'.",
            ),
            (  # finding 18 (breaksp): every delivery would crash on the header
                {"STATUSPAGE_API_KEY": "k1\nX-Evil: 1", "STATUSPAGE_PAGE_ID": "p1"},
                "STATUSPAGE_API_KEY holds a space or a line break: paste the key alone, on one line.",
            ),
            (
                {"STATUSPAGE_API_KEY": "k1\tk2", "STATUSPAGE_PAGE_ID": "p1"},
                "STATUSPAGE_API_KEY holds a space or a line break: paste the key alone, on one line.",
            ),
            (  # finding 14 (breaksp): the key would cross the network in clear text
                {"STATUSPAGE_API_KEY": "k1", "STATUSPAGE_PAGE_ID": "p1", "STATUSPAGE_URL": "http://api.statuspage.io"},
                "STATUSPAGE_URL must use https: 'http://api.statuspage.io' would send the API key in clear text "
                "(plain http only to 127.0.0.1, ::1 or localhost).",
            ),
            (
                {"STATUSPAGE_API_KEY": "k1", "STATUSPAGE_PAGE_ID": "p1", "STATUSPAGE_URL": "http://10.0.0.7:8080/v1"},
                "STATUSPAGE_URL must use https: 'http://10.0.0.7:8080' would send the API key in clear text "
                "(plain http only to 127.0.0.1, ::1 or localhost).",
            ),
            (
                {"STATUSPAGE_API_KEY": "k1", "STATUSPAGE_PAGE_ID": "p1", "STATUSPAGE_CONFIRM_RESOLVE": "ask"},
                "STATUSPAGE_CONFIRM_RESOLVE must be true or false, got 'ask'.",
            ),
            (
                {"STATUSPAGE_CONFIRM_RESOLVE": "true"},
                "STATUSPAGE_CONFIRM_RESOLVE is set but STATUSPAGE_API_KEY and STATUSPAGE_PAGE_ID are not: "
                "set them or remove it.",
            ),
        ],
    )
    def test_bad_values_are_named(self, environ: dict[str, str], message: str) -> None:
        with pytest.raises(ConfigError) as raised:
            load_settings(environ, None)
        assert raised.value.user_message == message


class TestErrorShapes:
    @pytest.mark.parametrize(
        ("data", "reason"),
        [
            ({"error": "Could not authenticate"}, "Could not authenticate"),
            (
                {"error": ["Name can't be blank", "Status is not included in the list"]},
                "Name can't be blank; Status is not included in the list",
            ),
            ({"message": "Rate limited"}, "Rate limited"),
            ({}, ""),
            (["x"], ""),
            (None, ""),
        ],
    )
    def test_statuspages_words(self, data: object, reason: str) -> None:
        assert statuspage_reason(data) == reason
