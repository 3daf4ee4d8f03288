"""`incidentbot outbox`: what Slack still owes, and undeliverable items brought back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.app import wire_usecases
from bot.domain.effects import Effect
from bot.store import open_store


def _cli(database: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}"}
    return subprocess.run(
        [sys.executable, "-m", "bot.cli.main", "--env-file", "", "outbox", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


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
        """Beyond a database integer, zero, negative or not a number: exit 2, one line, no traceback."""
        result = _cli(tmp_path / "empty.db", "--retry", text)
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
