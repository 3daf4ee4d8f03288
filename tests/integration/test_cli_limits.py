"""User ids typed into ``incidentbot run`` fit their VARCHAR(64) columns on SQLite and PostgreSQL, or are
refused with a usage error (before: a PostgreSQL DataError traceback).

64 is written out from bot/store/tables.py: incidents.lead and declared_by, participants.user_id,
followups.owner and timeline_entries.actor are VARCHAR(64). The CLI entry point runs in-process
(``bot.cli.main.main``, as ``python -m bot.cli.main`` calls it) to keep the test fast; the logging set-up it
does (structlog writing to the captured stderr) is undone afterwards.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.cli.main import main

ID_64 = "U0" + "A" * 62  # a Slack user id as typed: U, a digit, 64 characters in all
ID_65 = "U0" + "A" * 63


def column(database_url: str, query: str) -> list[str]:
    engine = sa.create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as connection:
            return [str(row[0]) for row in connection.execute(sa.text(query))]
    finally:
        engine.dispose()


class TestUserIdLimits:
    def test_64_character_ids_are_stored_65_are_refused(
        self, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """lead, assemble, follow-up owner and --user: 64 characters stored whole; 65 a usage error (exit 2)."""
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("DATABASE_URL", database_url)

        def run(*args: str) -> tuple[int, str]:
            code = main(["run", *args])
            return code, capsys.readouterr().err

        assert run("--user", ID_64, "declare sev3 Search slow") == (0, "")
        for text in (f"INC-1 lead <@{ID_64}>", f"INC-1 assemble <@{ID_64}>", f"INC-1 followup fix it <@{ID_64}>"):
            assert run(text) == (0, "")
        code, err = run(f"INC-1 lead <@{ID_65}>")
        assert code == 2 and err.startswith("incidentbot: `lead` needs") and "Traceback" not in err
        code, err = run(f"INC-1 assemble <@{ID_65}>")
        assert code == 2 and "is not a person" in err and "assemble @user" in err and "Traceback" not in err
        code, err = run("--user", ID_65, "INC-1 note hi")
        assert code == 2 and err.startswith("incidentbot: `--user U0AAA") and "is not a name" in err
        # A trailing token that is no mention is part of the follow-up's text: stored, with no owner.
        assert run(f"INC-1 followup fix it <@{ID_65}>") == (0, "")
        assert column(database_url, "SELECT lead FROM incidents") == [ID_64]
        assert column(database_url, "SELECT declared_by FROM incidents") == [ID_64]
        assert column(database_url, "SELECT user_id FROM participants ORDER BY id") == [ID_64]
        assert column(database_url, "SELECT owner FROM followups ORDER BY id") == [ID_64, "None"]

    def test_non_utf8_bytes_in_the_command_line_are_dropped(
        self, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A byte that is not UTF-8 (argv gives it as a lone surrogate) is dropped from title and note, not a crash."""
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("DATABASE_URL", database_url)
        assert main(["run", "declare sev3 bad \udcff byte"]) == 0
        assert main(["run", "INC-1 note also \udcff here"]) == 0
        assert "Traceback" not in capsys.readouterr().err
        assert column(database_url, "SELECT title FROM incidents") == ["bad  byte"]
        assert column(database_url, "SELECT text FROM timeline_entries WHERE kind = 'note'") == ["also  here"]
