"""How hard the property tests search: a few hundred examples in everyday runs, far more on demand.

``INCIDENTBOT_PROPERTY_SCALE=20 pytest -q tests/unit`` multiplies every property test's
example count by 20 (README, "Testing"); the ``ci`` Hypothesis profile draws new examples on every
run (Hypothesis's own CI profile would replay the same derandomized ones forever) and prints the
seed blob of a failure so that it can be replayed.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

SCALE_ENV = "INCIDENTBOT_PROPERTY_SCALE"


def scale() -> int:
    """The multiplier from ``INCIDENTBOT_PROPERTY_SCALE`` (a positive integer; default 1)."""
    raw = os.environ.get(SCALE_ENV, "1").strip() or "1"
    try:
        value = int(raw)
    except ValueError as exc:
        raise ValueError(f"{SCALE_ENV} must be a positive integer, not {raw!r}") from exc
    if value < 1:
        raise ValueError(f"{SCALE_ENV} must be a positive integer, not {raw!r}")
    return value


def examples(count: int) -> int:
    """``count`` examples, times the scale."""
    return count * scale()


def register_profiles(in_ci: bool) -> None:
    """Register ``ci`` (random, reproducible by blob), ``scaled`` and ``mutmut``; load ``ci`` or ``scaled``."""
    common = {"deadline": None, "print_blob": True, "max_examples": examples(100)}
    settings.register_profile("ci", derandomize=False, database=None, **common)  # type: ignore[arg-type]
    settings.register_profile(
        "scaled",
        suppress_health_check=[HealthCheck.too_slow],
        **common,  # type: ignore[arg-type]
    )
    # mutmut runs pytest several times in one process (its stats run, then the clean run), so every
    # @given method of a test class meets a new instance of its class: Hypothesis's differing_executors
    # check, meant for a test called from two classes, fails on that alone. [tool.mutmut] selects this
    # profile with --hypothesis-profile; elsewhere the check stays on.
    settings.register_profile(
        "mutmut",
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.differing_executors],
        **common,  # type: ignore[arg-type]
    )
    settings.load_profile("ci" if in_ci else "scaled")


def suppressed(*checks: HealthCheck) -> list[HealthCheck]:
    """``checks`` and those the loaded profile suppresses: a test's own ``suppress_health_check`` list
    replaces the profile's, so a test that needs one more must name the profile's too (``mutmut``)."""
    current = settings.default
    profile = list(current.suppress_health_check) if current is not None else []
    return [*dict.fromkeys([*profile, *checks])]
