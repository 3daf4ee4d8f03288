"""The suite's side of the network guard (``netguard_site/loopback_only.py``): install it in this process
and, through ``PYTHONPATH``, in every Python process started from it; read what it logged since a mark."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tests.support.netguard_site import loopback_only

SITE = Path(__file__).parent / "netguard_site"
"""The folder whose ``sitecustomize`` installs the guard in child processes."""


@dataclass(frozen=True)
class GuardLog:
    """The guard's log: one line per attempt to reach beyond 127.0.0.1."""

    path: Path

    def mark(self) -> int:
        """The log's size in bytes now, to read only later attempts with `attempts_since`."""
        return self.path.stat().st_size

    def attempts_since(self, mark: int) -> str:
        """The attempts logged after ``mark`` (stripped text; empty when there were none)."""
        with self.path.open(encoding="utf-8") as log:
            log.seek(mark)
            return log.read().strip()


def guard_this_process_and_children() -> GuardLog:
    """Install the guard here and set ``TEST_NETGUARD_LOG`` and ``PYTHONPATH`` for child processes.

    Returns the log, a fresh file in a new temporary folder.
    """
    path = Path(tempfile.mkdtemp(prefix="incidentbot-netguard-")) / "violations.log"
    path.touch()
    os.environ[loopback_only.LOG_ENV] = str(path)
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SITE), os.environ.get("PYTHONPATH")]))
    loopback_only.install(str(path))
    return GuardLog(path)
