"""`incidentbot report --chart` with the tester's catalogue (issue 13, D): 31 services, one 7,000 times over
its budget. Through the CLI process, then the SVG's text is read: every service named in natural order, the
overspent bar labelled with its real value, the axis ending at 168% so the 100% line and the others show. The
fixture's eight ``run`` steps run the entry function in this process (``incidentbot_here``); the reports are child
processes."""

from __future__ import annotations

import re
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.cli import run_incidentbot


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """31 catalogued services; service-7 (99.9% over 1 day: 1.44 budget minutes) 7 days at 100% impact, i.e.
    10080 bad minutes = 700,000% of its budget; service-2 (99.9% over 30 days: 43.2) 30 minutes = 69.4%."""
    folder = tmp_path_factory.mktemp("charts")
    services = "".join(
        f"  service-{n}:\n    slo: 99.9\n    window_days: {1 if n == 7 else 30}\n" for n in range(31, 0, -1)
    )
    (folder / "slos.yml").write_text(f"services:\n{services}")
    (folder / "bot.env").write_text(f"INCIDENT_SLO_FILE={folder / 'slos.yml'}\n")
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(days=8)

    def at(minutes: int) -> str:
        return f"--at {start + timedelta(minutes=minutes):%Y-%m-%d %H:%M} UTC"

    for text in (
        f"declare sev1 Edge down {at(0)}",
        "INC-1 service service-7",
        f"INC-1 impact 100% {at(0)}",
        f"INC-1 resolve fixed {at(7 * 24 * 60)}",
        f"declare sev2 Search slow {at(60)}",
        "INC-2 service service-2",
        f"INC-2 impact 100% {at(60)}",
        f"INC-2 resolve fixed {at(90)}",
    ):
        result = _cli(folder, "run", text, process=False)
        assert result.returncode == 0, result.stderr
    return folder


def _cli(folder: Path, *args: str, process: bool = True) -> subprocess.CompletedProcess[str]:
    database_url = f"sqlite:///{folder / 'bot.db'}"
    return run_incidentbot(
        "--env-file", str(folder / "bot.env"), *args, process=process, database_url=database_url, cwd=folder
    )


def test_the_report_burns_what_the_fixture_says(folder: Path) -> None:
    """The numbers the chart draws, as the text report gives them (minutes, independent of the chart)."""
    out = _cli(folder, "report", "--since", "30d").stdout
    section = out.split("Error budget burned (bad-request minutes):\n", 1)[1].split("\n\n", 1)[0]
    assert section.splitlines() == ["  service-2    30 min", "  service-7    10080 min"]


def test_the_budget_panel_stays_readable(folder: Path) -> None:
    result = _cli(folder, "report", "--since", "30d", "--chart", "budget.svg")
    assert (result.returncode, result.stderr) == (0, "Wrote budget.svg\n")
    svg = (folder / "budget.svg").read_text()
    texts = [re.sub(r"\s+", " ", t).strip() for t in re.findall(r"<text[^>]*>(.*?)</text>", svg, re.S)]
    assert [t for t in texts if re.fullmatch(r"service-\d+", t)] == [f"service-{n}" for n in range(1, 32)]
    assert "700,000% \u25b6" in texts  # the clipped bar's real value
    assert "69.4%" in texts and texts.count("0%") >= 29  # the others, each labelled
    ticks = {"0%", "20%", "40%", "60%", "80%", "100%", "120%", "140%", "160%"}
    assert ticks <= set(texts) and not any(re.fullmatch(r"\d{4,}%", t) for t in texts)  # no 700000% axis
    assert "100% = the whole budget" in texts
    # 3.6 + 3.6 inches for the first two panels, 0.3 x 31 + 1.4 for the budget panel, 0.6 for the title: 18.5 in
    assert re.search(r'<svg[^>]* height="1332pt"', svg)
