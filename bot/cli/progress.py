"""A progress bar on stderr for long copies (tqdm), shown only when stderr is a terminal."""

from __future__ import annotations

import os
import sys
from types import TracebackType
from typing import Never, TextIO

from tqdm import tqdm

DEFAULT_COLUMNS = 80
"""The bar's width when the terminal reports a size of 0x0 (a fresh pseudo-terminal, some CI runners):
tqdm would otherwise draw no bar at all."""


class ProgressBar:
    """Rows copied so far, as ``bot.store.copy.Progress`` reports them: ``update(table, done, total)``.

    Quiet (nothing written) when ``stream`` (default stderr) is not a terminal: logs and pipes get the
    final summary only. Use as a context manager; the bar is closed on exit.
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream if stream is not None else sys.stderr
        self._bar: tqdm[Never] | None = None
        self._shown = self._stream.isatty()

    def update(self, table: str, done: int, total: int) -> None:
        """``done`` of ``total`` rows copied; ``table`` is the one being copied (empty before the first batch)."""
        if not self._shown:
            return
        bar = self._bar
        if bar is None:
            sized = self._columns() > 0
            bar = self._bar = tqdm(
                total=total,
                unit=" rows",
                unit_scale=True,
                file=self._stream,
                dynamic_ncols=sized,
                ncols=None if sized else DEFAULT_COLUMNS,
            )
        if table:
            bar.set_description(table, refresh=False)
        bar.update(done - bar.n)

    def checking(self) -> None:
        """The rows are copied and the checks begin (they read both databases again): close the bar and
        say so, on a terminal only."""
        self._close()
        if self._shown:
            print("Checking counts and checksums...", file=self._stream, flush=True)

    def _columns(self) -> int:
        try:
            return os.get_terminal_size(self._stream.fileno()).columns
        except (OSError, ValueError):
            return 0

    def _close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._close()
