"""A progress bar on stderr for long copies (tqdm), shown only when stderr is a terminal."""

from __future__ import annotations

import sys
from types import TracebackType
from typing import Never, TextIO

from tqdm import tqdm


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
            bar = self._bar = tqdm(total=total, unit=" rows", unit_scale=True, file=self._stream, dynamic_ncols=True)
        if table:
            bar.set_description(table, refresh=False)
        bar.update(done - bar.n)

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if self._bar is not None:
            self._bar.close()
