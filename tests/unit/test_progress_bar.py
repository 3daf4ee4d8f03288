"""db copy's progress bar (bot/cli/progress.py): drawn on a terminal, silent anywhere else."""

from __future__ import annotations

import io

from bot.cli.progress import ProgressBar


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class TestProgressBar:
    def test_on_a_terminal_it_shows_the_table_and_rows_copied(self) -> None:
        screen = _Terminal()
        with ProgressBar(screen) as bar:
            bar.update("", 0, 4000)
            bar.update("incidents", 2000, 4000)
            bar.update("timeline_entries", 4000, 4000)
        drawn = screen.getvalue()
        assert "timeline_entries" in drawn
        assert "4.00k/4.00k" in drawn  # tqdm's unit_scale: rows done / rows in all
        assert "100%" in drawn

    def test_off_a_terminal_it_writes_nothing(self) -> None:
        pipe = io.StringIO()
        with ProgressBar(pipe) as bar:
            bar.update("", 0, 4000)
            bar.update("incidents", 4000, 4000)
        assert pipe.getvalue() == ""
