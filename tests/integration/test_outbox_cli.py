"""`incidentbot outbox`: what Slack still owes, and undeliverable items brought back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from bot.app import wire_usecases
from bot.store import open_store
from bot.store.outbox import Effect


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
        assert "pending" in _cli(database).stdout and "dead" not in _cli(database, "--status", "dead").stdout

    def test_retrying_an_unknown_item_fails_with_one_line(self, tmp_path: Path) -> None:
        """--retry of an id that is not dead exits non-zero with one clear line."""
        result = _cli(tmp_path / "empty.db", "--retry", "42")
        assert result.returncode == 1
        assert result.stderr.strip().splitlines() == ["incidentbot: There is no dead outbox item #42."]
