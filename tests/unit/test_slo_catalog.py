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


class TestUnknownKeys:
    @pytest.mark.parametrize(
        ("text", "message"),
        [
            (
                "services:\n  cdn-edge:\n    slo: 99.95\n    windows_days: 30\n",
                "f.yml: unknown key `cdn-edge.windows_days`; did you mean `window_days`? "
                "(known keys of a service: slo, window_days, owner_channel, statuspage_components).",
            ),
            (
                "services:\n  cdn-edge:\n    slo: 99.95\n    ownerchannel: C0X\n",
                "f.yml: unknown key `cdn-edge.ownerchannel`; did you mean `owner_channel`? "
                "(known keys of a service: slo, window_days, owner_channel, statuspage_components).",
            ),
            (
                "services:\n  cdn-edge:\n    slos: 99.95\n",
                "f.yml: unknown key `cdn-edge.slos`; did you mean `slo`? "
                "(known keys of a service: slo, window_days, owner_channel, statuspage_components).",
            ),
            (
                "services:\n  cdn-edge:\n    slo: 99.95\n    team: edge\n",
                "f.yml: unknown key `cdn-edge.team` (known keys of a service: slo, window_days, owner_channel, "
                "statuspage_components).",
            ),
            (
                "service:\n  cdn-edge:\n    slo: 99.95\n",
                "f.yml: unknown key `service`; did you mean `services`? (known keys: services).",
            ),
            (
                "services:\n  cdn-edge:\n    slo: 99.95\nversion: 2\n",
                "f.yml: unknown key `version` (known keys: services).",
            ),
        ],
    )
    def test_an_unknown_key_is_refused_naming_the_closest(self, tmp_path: Path, text: str, message: str) -> None:
        """A key the format does not have (a typo would silently mean the default) stops loading, naming it."""
        path = tmp_path / "f.yml"
        path.write_text(text)
        with pytest.raises(ConfigError) as caught:
            load_catalog(path)
        assert caught.value.user_message == message.replace("f.yml", str(path))


class TestStatuspageComponents:
    def test_components_are_read_in_order_without_repeats(self, tmp_path: Path) -> None:
        path = tmp_path / "f.yml"
        path.write_text("services:\n  search:\n    slo: 99.5\n    statuspage_components: [cmpb2, cmpa1, cmpb2]\n")
        assert load_catalog(path).statuspage_components() == {"search": ("cmpb2", "cmpa1")}

    def test_a_service_without_them_has_none(self, tmp_path: Path) -> None:
        path = tmp_path / "f.yml"
        path.write_text("services:\n  search:\n    slo: 99.5\n")
        assert load_catalog(path).statuspage_components() == {"search": ()}

    @pytest.mark.parametrize(
        ("value", "shown"),
        [("cmpa1", "'cmpa1'"), ("[cmp a1]", "['cmp a1']"), ("[12, x]", "[12, 'x']"), ("{a: b}", "{'a': 'b'}")],
    )
    def test_a_bad_value_is_refused_naming_the_service(self, tmp_path: Path, value: str, shown: str) -> None:
        path = tmp_path / "f.yml"
        path.write_text(f"services:\n  search:\n    slo: 99.5\n    statuspage_components: {value}\n")
        with pytest.raises(ConfigError) as raised:
            load_catalog(path)
        assert raised.value.user_message == (
            f"{path}: search.statuspage_components must be a list of Statuspage component ids (letters and digits, "
            f"e.g. [8kbf7d35c070]), got {shown}."
        )
