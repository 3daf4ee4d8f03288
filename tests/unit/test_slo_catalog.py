"""slos.yml: the shipped example parses and matches the demo; bad files stop start-up naming the problem."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.cli.demo import DEMO_SLOS
from bot.errors import ConfigError
from bot.integrations.slo_catalog import load_catalog

ROOT = Path(__file__).resolve().parents[2]


class TestLoadCatalog:
    def test_shipped_example_matches_the_demo(self) -> None:
        """The top-level slos.yml holds cdn-edge at 99.95% over 30 days, as the offline demo does."""
        catalog = load_catalog(ROOT / "slos.yml")
        assert catalog.get("cdn-edge") == DEMO_SLOS.get("cdn-edge")
        assert catalog.get("search") is not None and catalog.get("search").window == timedelta(days=28)  # type: ignore[union-attr]

    def test_no_file_means_no_slos(self) -> None:
        """Without INCIDENT_SLO_FILE no budgets are computed."""
        assert load_catalog(None).names() == []

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("services: [", "not valid YAML"),
            ("other: {}", "services"),
            ("services:\n  CDN Edge:\n    slo: 99.9\n", "service name"),
            ("services:\n  cdn:\n    slo: 100\n", "cdn.slo"),
            ("services:\n  cdn:\n    slo: '99.9'\n", "cdn.slo"),
            ("services:\n  cdn:\n    slo: 99.9\n    window_days: 0\n", "window_days"),
            ("services:\n  cdn:\n    slo: 99.9\n    owner_channel: 7\n", "owner_channel"),
        ],
    )
    def test_bad_files_name_the_problem(self, tmp_path: Path, text: str, message: str) -> None:
        """Each mistake stops start-up with one message naming the field."""
        path = tmp_path / "slos.yml"
        path.write_text(text)
        with pytest.raises(ConfigError, match=message):
            load_catalog(path)
