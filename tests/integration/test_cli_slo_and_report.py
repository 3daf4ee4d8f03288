"""`incidentbot slo` and `incidentbot report` as users run them: real processes on a SQLite file. The module's
set-up (seven ``run`` steps) runs the entry function in this process (``incidentbot_here``)."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.cli import assert_one_line_error, incidentbot, run_incidentbot

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Team:
    folder: Path
    database_url: str

    def run(self, *args: str, here: bool = False) -> str:
        """``incidentbot ARGS`` exiting 0: its stdout, from a child process (or ``here``, in this process)."""
        result = run_incidentbot(*args, process=not here, database_url=self.database_url, cwd=self.folder)
        assert result.returncode == 0, result.stderr
        return result.stdout


@pytest.fixture(scope="module")
def team(tmp_path_factory: pytest.TempPathFactory) -> Team:
    """INC-1 on cdn-edge: 100% failing for 30 minutes, then rolled back; INC-2 a sev3 without service."""
    folder = tmp_path_factory.mktemp("team")
    (folder / ".env").write_text(f"INCIDENT_SLO_FILE={ROOT / 'slos.yml'}\n")
    team = Team(folder, f"sqlite:///{folder / 'incidents.db'}")
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=40)

    def at(minutes: int) -> str:
        return f"--at {start + timedelta(minutes=minutes):%Y-%m-%d %H:%M} UTC"

    for text in (
        f"declare sev1 CDN edge down {at(0)}",
        "INC-1 service cdn-edge",
        f"INC-1 impact 100% {at(0)}",
        f"INC-1 assemble <@U0BOB>:networking {at(5)}",
        f"INC-1 rollback WAF rule {at(30)}",
        f"INC-1 resolve back to normal {at(35)}",
        "declare sev3 Search slow",
    ):
        team.run("run", text, here=True)
    return team


class TestSlo:
    def test_text_shows_burn_and_policy(self, team: Team) -> None:
        """30 bad minutes against 21.6: exhausted, with the incident's burn and the freeze policy."""
        out = team.run("slo", "cdn-edge")
        assert "cdn-edge: SLO 99.95% availability over 30 days; budget 21.6 min" in out
        assert "INC-1 CDN edge down: 30.0 min (138.9%)" in out
        assert "Budget exhausted. Error budget policy: release freeze for cdn-edge" in out

    def test_json_lists_every_service(self, team: Team) -> None:
        """Without a name every catalogued service is reported; JSON carries minutes and the policy."""
        services = {s["service"]: s for s in json.loads(team.run("slo", "--format", "json"))["services"]}
        assert set(services) == {"cdn-edge", "checkout-api", "search"}
        assert services["cdn-edge"]["consumed_minutes"] == 30.0 and services["cdn-edge"]["exhausted"] is True
        assert services["search"]["exhausted"] is False and services["search"]["incidents"] == []

    def test_run_slo_matches_the_slash_command(self, team: Team) -> None:
        """`incidentbot run "slo cdn-edge"` answers like /incident slo cdn-edge."""
        assert "Budget exhausted" in team.run("run", "slo cdn-edge")

    def test_unknown_service_is_one_line(self, team: Team) -> None:
        """A service missing from the catalogue is named with the known ones."""
        result = incidentbot("slo", "nosuch", database_url=team.database_url, cwd=team.folder)
        assert_one_line_error(result, "nosuch", "cdn-edge")


class TestReport:
    def test_text_json_csv(self, team: Team) -> None:
        """The formats agree: 2 incidents, a sev1 on cdn-edge assembled after 5 min, 30 budget minutes."""
        text = team.run("report", "--since", "7d")
        assert "Incidents" in text and "sev1         1" in text and "cdn-edge     30 min" in text
        document = json.loads(team.run("report", "--format", "json"))
        assert document["count"] == 2 and document["by_service"] == {"(none)": 1, "cdn-edge": 1}
        assert document["minutes_from_detection"]["assemble"]["median"] == 5.0
        rows = list(csv.DictReader(io.StringIO(team.run("report", "--format", "csv"))))
        assert [r["incident"] for r in rows] == ["INC-1", "INC-2"] and rows[0]["minutes_to_resolve"] == "35.0"

    def test_chart_is_written(self, team: Team, tmp_path: Path) -> None:
        """--chart writes a PNG (real signature, more than a blank image)."""
        chart = tmp_path / "incidents.png"
        team.run("report", "--chart", str(chart))
        data = chart.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000

    def test_bad_since_is_one_line(self, team: Team) -> None:
        """--since takes Nd, Nw or Nm."""
        assert_one_line_error(
            incidentbot("report", "--since", "soon", database_url=team.database_url, cwd=team.folder),
            "--since soon",
        )
