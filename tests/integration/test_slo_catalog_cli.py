"""slos.yml mistakes through the CLI process (issue 13, C): a service listed twice, a fraction written for a
percentage, a bare number for a service. Each is refused in one line before anything is read or written."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.support.cli import assert_one_line_error, incidentbot


def _slo(tmp_path: Path, catalogue: str, *args: str) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """`incidentbot slo ARGS` with INCIDENT_SLO_FILE holding ``catalogue``."""
    path = tmp_path / "slos.yml"
    path.write_text(catalogue)
    (tmp_path / "slo.env").write_text(f"INCIDENT_SLO_FILE={path}\n")
    database_url = f"sqlite:///{tmp_path / 'bot.db'}"
    result = incidentbot("--env-file", str(tmp_path / "slo.env"), "slo", *args, database_url=database_url, cwd=tmp_path)
    return path, result


@pytest.mark.parametrize(
    ("catalogue", "message"),
    [
        (
            "services:\n  cdn-edge:\n    slo: 99.9\n  search:\n    slo: 99.5\n  cdn-edge:\n    slo: 99.0\n",
            "{path}: `cdn-edge` is listed twice in the same mapping (lines 2 and 6); the second would silently "
            "replace the first: keep one.",
        ),
        (
            "services:\n  cdn-edge:\n    slo: 99.9\n    slo: 99.0\n",
            "{path}: `slo` is listed twice in the same mapping (lines 3 and 4); the second would silently replace "
            "the first: keep one.",
        ),
        (
            "services:\n  cdn-edge: {slo: 99.9}\nservices:\n  search: {slo: 99.5}\n",
            "{path}: `services` is listed twice in the same mapping (lines 1 and 3); the second would silently "
            "replace the first: keep one.",
        ),
        (
            "services:\n  cdn-edge:\n    slo: 0.999\n",
            "{path}: cdn-edge.slo must be a percentage from 50 to below 100 (e.g. 99.95), got 0.999. Did you mean "
            "99.9?",
        ),
        (
            "services:\n  cdn-edge:\n    slo: 0.9995\n",
            "{path}: cdn-edge.slo must be a percentage from 50 to below 100 (e.g. 99.95), got 0.9995. Did you mean "
            "99.95?",
        ),
        (
            "services:\n  cdn-edge:\n    slo: 10\n",
            "{path}: cdn-edge.slo must be a percentage from 50 to below 100 (e.g. 99.95), got 10.",
        ),
        (
            "services:\n  cdn-edge:\n    slo: 49.99\n",
            "{path}: cdn-edge.slo must be a percentage from 50 to below 100 (e.g. 99.95), got 49.99.",
        ),
        (
            "services:\n  cdn-edge:\n    slo: 100\n",
            "{path}: cdn-edge.slo must be a percentage from 50 to below 100 (e.g. 99.95), got 100.",
        ),
        (
            "services:\n  cdn-edge: 99.9\n",
            "{path}: service 'cdn-edge' must be a mapping with `slo` (and optionally `window_days`, "
            "`owner_channel`), e.g. `cdn-edge: {{slo: 99.9}}`; got 99.9.",
        ),
        (
            "services:\n  cdn-edge: fast\n",
            "{path}: service 'cdn-edge' must be a mapping with `slo` (and optionally `window_days`, "
            "`owner_channel`), e.g. `cdn-edge: {{slo: 99.9}}`; got 'fast'.",
        ),
    ],
    ids=[
        "service-twice",
        "slo-twice",
        "services-twice",
        "fraction-99.9",
        "fraction-99.95",
        "ten-percent",
        "just-below-50",
        "hundred",
        "bare-number",
        "bare-word",
    ],
)
def test_a_bad_catalogue_is_refused_in_one_line(tmp_path: Path, catalogue: str, message: str) -> None:
    path, result = _slo(tmp_path, catalogue)
    assert_one_line_error(result)
    assert result.stderr == f"incidentbot: {message.format(path=path)}\n"
    assert not (tmp_path / "bot.db").exists()


@pytest.mark.parametrize(
    ("catalogue", "budget"),
    [
        (
            "services:\n  cdn-edge:\n    slo: 50\n",
            "cdn-edge: SLO 50% availability over 30 days; budget 360.0 h of failed requests.",
        ),
        (
            "services:\n  cdn-edge:\n    slo: 99.999\n    window_days: 30\n",
            "cdn-edge: SLO 99.999% availability over 30 days; budget 0.4 min of failed requests.",
        ),
        (
            "services:\n  search: &base {slo: 99.5, window_days: 28}\n  cdn-edge:\n    <<: *base\n    slo: 99.95\n",
            "cdn-edge: SLO 99.95% availability over 28 days; budget 20.2 min of failed requests.",
        ),
    ],
    ids=["fifty", "five-nines", "merge-key"],
)
def test_good_catalogues_still_load(tmp_path: Path, catalogue: str, budget: str) -> None:
    """50% and 99.999% are objectives; YAML merge keys are not duplicates."""
    incidentbot("db", "upgrade", database_url=f"sqlite:///{tmp_path / 'bot.db'}", cwd=tmp_path)
    _, result = _slo(tmp_path, catalogue, "cdn-edge")
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.splitlines()[0] == budget
