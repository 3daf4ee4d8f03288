"""Whether the suite runs in CI (the ``CI`` environment variable, as CI services set it)."""

from __future__ import annotations

import os


def running_in_ci() -> bool:
    """True when ``CI`` is set to anything but empty, ``0``, ``false`` or ``no`` (any case)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")
