"""`incidentbot outbox`: what Slack still owes, and undeliverable items brought back.

Each test's first run of the command is a child process; the other spellings of a bad id and the JSON listing next
to a text one (the same command and path) run the entry function in this process (``_cli(..., here=True)``)."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.app import wire_usecases
from bot.domain.effects import Effect
from bot.store import open_store
from tests.support.cli import run_incidentbot


def _cli(database: Path, *args: str, here: bool = False) -> subprocess.CompletedProcess[str]:
    url = f"sqlite:///{database}"
    return run_incidentbot("--env-file", "", "outbox", *args, process=not here, database_url=url, cwd=database.parent)


class TestOutboxCommand:
    def test_lists_dead_items_and_requeues_one(self, tmp_path: Path) -> None:
        """A buried item shows with its error, and --retry puts it back in the queue."""
        database = tmp_path / "outbox.db"
        usecases = wire_usecases(open_store(f"sqlite:///{database}"))
        usecases.outbox.enqueue([Effect("slack.post_line", {"text": "x"}, 3), Effect("slack.refresh", {}, 4)])
        first = usecases.outbox.items()[0]
        with usecases.store.transaction() as uow:
            uow.outbox.bury(first.id, "channel_not_found", datetime.now(UTC))
        usecases.store.dispose()

        listed = _cli(database, "--status", "dead", "--format", "json")
        assert listed.returncode == 0, listed.stderr
        items = json.loads(listed.stdout)["items"]
        assert [(i["id"], i["incident"], i["last_error"]) for i in items] == [(first.id, "INC-3", "channel_not_found")]

        retried = _cli(database, "--retry", str(first.id))
        assert retried.returncode == 0 and "queued again" in retried.stdout
        assert "pending" in _cli(database).stdout
        assert _cli(database, "--status", "dead").stdout.startswith("No outbox item has been given up on (database: ")

    def test_retrying_an_unknown_item_fails_with_one_line(self, tmp_path: Path) -> None:
        """--retry of an id that is not dead exits non-zero with one clear line."""
        result = _cli(tmp_path / "empty.db", "--retry", "42")
        assert result.returncode == 1
        assert result.stderr.strip().splitlines() == ["incidentbot: There is no dead outbox item #42."]

    @pytest.mark.parametrize("text", ["99999999999999999999999", "9223372036854775808", "0", "-1", "abc", "#", "1.5"])
    def test_an_id_that_is_not_one_is_a_usage_error(self, tmp_path: Path, text: str) -> None:
        """Beyond a database integer, zero, negative or not a number: exit 2, one line, no traceback (the first
        spelling in a real process, the others, checked by the same argument type, in this process)."""
        result = _cli(tmp_path / "empty.db", "--retry", text, here=text != "99999999999999999999999")
        assert result.returncode == 2 and "Traceback" not in result.stderr
        assert result.stderr.strip().splitlines() == [
            f"incidentbot: argument --retry: {text!r} is not an outbox item id: use the #number `incidentbot outbox` "
            "lists; see `incidentbot outbox --help`."
        ]

    @pytest.mark.parametrize(("text", "shown"), [("#42", "42"), ("9223372036854775807", "9223372036854775807")])
    def test_the_largest_id_and_the_listed_spelling_are_looked_up(self, tmp_path: Path, text: str, shown: str) -> None:
        result = _cli(tmp_path / "empty.db", "--retry", text)
        assert result.returncode == 1
        assert result.stderr.strip().splitlines() == [f"incidentbot: There is no dead outbox item #{shown}."]


class TestFollowupItems:
    @pytest.mark.parametrize(
        ("effect", "subject", "followup"),
        [
            (
                Effect("tracker.file", {"marker": "incidentbot:INC-3:followup-2", "followup": 2}, 3),
                "INC-3 follow-up 2",
                2,
            ),
            (
                Effect("tracker.file", {"marker": "incidentbot:INC-3:followup-11", "followup": 11}, 3),
                "INC-3 follow-up 11",
                11,
            ),
            (Effect("tracker.file", {"marker": "incidentbot:INC-3:followup-1"}, 3), "INC-3", None),
            (Effect("slack.post_line", {"text": "x"}, 3), "INC-3", None),
            (Effect("slack.post_line", {"text": "x", "followup": True}, 3), "INC-3", None),
        ],
    )
    def test_a_dead_item_names_its_follow_up(
        self, tmp_path: Path, effect: Effect, subject: str, followup: int | None
    ) -> None:
        """An item carrying a follow-up's number is listed as ``INC-n follow-up k`` (text) and with
        ``"followup": k`` (JSON); any other item names its incident alone."""
        database = tmp_path / "outbox.db"
        usecases = wire_usecases(open_store(f"sqlite:///{database}"))
        usecases.outbox.enqueue([effect])
        [item] = usecases.outbox.items()
        with usecases.store.transaction() as uow:
            uow.outbox.bury(item.id, "GitHub refused (HTTP 422)", datetime.now(UTC))
        usecases.store.dispose()

        text = _cli(database, "--status", "dead")
        assert text.returncode == 0, text.stderr
        [line] = text.stdout.splitlines()
        assert line.split(effect.kind, 1)[1].split("attempts=")[0].strip() == subject
        listed = json.loads(_cli(database, "--status", "dead", "--format", "json", here=True).stdout)["items"]
        assert [(i["incident"], i["followup"]) for i in listed] == [("INC-3", followup)]

    def test_the_example_line(self, tmp_path: Path) -> None:
        """The dead filing of follow-up 2 of INC-1, as `incidentbot outbox --status dead` prints it."""
        database = tmp_path / "outbox.db"
        usecases = wire_usecases(open_store(f"sqlite:///{database}"))
        usecases.outbox.enqueue([Effect("tracker.file", {"followup": 2}, 1)])
        [item] = usecases.outbox.items()
        with usecases.store.transaction() as uow:
            uow.outbox.bury(item.id, "POST /repos/acme/web/issues: GitHub refused (HTTP 410)", datetime.now(UTC))
        usecases.store.dispose()
        assert _cli(database, "--status", "dead").stdout.splitlines() == [
            f"#{item.id}  dead  tracker.file  INC-1 follow-up 2  attempts=0  "
            "POST /repos/acme/web/issues: GitHub refused (HTTP 410)"
        ]

    def test_a_mixed_listing_lines_up_its_columns(self, tmp_path: Path) -> None:
        """Pending and dead items of every width: each column starts at one offset, two spaces after the widest
        value of the column before; a dead item has no ``next=``; the JSON keeps its fields."""
        database = tmp_path / "outbox.db"
        usecases = wire_usecases(
            open_store(f"sqlite:///{database}"), clock=lambda: datetime(2026, 11, 29, 20, 0, tzinfo=UTC)
        )
        usecases.outbox.enqueue(
            [
                Effect("slack.post_line", {"text": "x"}, 3),
                Effect("tracker.file", {"followup": 2}, 1),
                Effect("slack.refresh", {}, 12),
                Effect("slack.post_recent_changes", {}, None),
            ]
        )
        filing = usecases.outbox.items()[1]
        with usecases.store.transaction() as uow:
            uow.outbox.bury(filing.id, "GitHub refused (HTTP 410)", datetime(2026, 11, 29, 20, 5, tzinfo=UTC))
        usecases.store.dispose()
        assert _cli(database).stdout.splitlines() == [
            "#1  pending  slack.post_line            INC-3              attempts=0  next=2026-11-29T20:00:00Z",
            "#2  dead     tracker.file               INC-1 follow-up 2  attempts=0"
            + " " * 29  # two spaces, the empty next= column (25 wide), two spaces
            + "GitHub refused (HTTP 410)",
            "#3  pending  slack.refresh              INC-12             attempts=0  next=2026-11-29T20:00:00Z",
            "#4  pending  slack.post_recent_changes  -                  attempts=0  next=2026-11-29T20:00:00Z",
        ]
        listed = json.loads(_cli(database, "--format", "json", here=True).stdout)["items"]
        assert listed[1] == {
            "id": 2,
            "status": "dead",
            "kind": "tracker.file",
            "incident": "INC-1",
            "followup": 2,
            "attempts": 0,
            "next_attempt_at": None,
            "last_error": "GitHub refused (HTTP 410)",
            "created_at": "2026-11-29T20:00:00Z",
        }
