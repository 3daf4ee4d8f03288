"""Reading ``slos.yml`` (INCIDENT_SLO_FILE) into the domain's SloCatalog, with errors that name the problem.

Format::

    services:
      cdn-edge:
        slo: 99.95          # percent of requests that must succeed
        window_days: 30
        owner_channel: C0CDNEDGE
"""

from __future__ import annotations

import difflib
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

from bot.domain.grammar import parse_service_name
from bot.domain.slo import EMPTY_CATALOG, Slo, SloCatalog
from bot.domain.statuspage import parse_component_id
from bot.errors import ConfigError


def load_catalog(path: Path | None) -> SloCatalog:
    """The catalogue in ``path``; no path means no SLOs (budgets are then not computed)."""
    if path is None:
        return EMPTY_CATALOG
    try:
        document = yaml.load(path.read_text(encoding="utf-8"), Loader=UniqueKeyLoader)  # a SafeLoader
    except OSError as exc:
        raise ConfigError(f"INCIDENT_SLO_FILE {str(path)!r} cannot be read: {exc.strerror}.") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"INCIDENT_SLO_FILE {str(path)!r} is not UTF-8 text (offset {exc.start}).") from exc
    except DuplicateKey as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"INCIDENT_SLO_FILE {str(path)!r} is not valid YAML: {exc}") from exc
    return parse_catalog(document, str(path))


class DuplicateKey(yaml.YAMLError):
    """The same key twice in one YAML mapping; PyYAML would silently keep the last one."""


class UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's SafeLoader, refusing a key that appears twice in one mapping (``cdn-edge`` listed twice
    would otherwise mean only its second entry) with both line numbers. Merge keys (``<<``) keep their
    meaning: only the keys written in the mapping itself are compared."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=deep)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise DuplicateKey(
                    f"`{key}` is listed twice in the same mapping (lines {seen[key]} and {line}); the second would "
                    "silently replace the first: keep one."
                )
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


TOP_LEVEL_KEYS = ("services",)
MIN_SLO_PERCENT = 50
"""The lowest objective accepted, in percent: an SLO lets fewer than half the requests fail; a value below
1 (``0.999``) is a fraction written where a percentage belongs, refused with "did you mean 99.9?"."""
SERVICE_KEYS = ("slo", "window_days", "owner_channel", "statuspage_components")


def parse_catalog(document: Any, source: str = "slos.yml") -> SloCatalog:
    """Validate the parsed YAML document; every error names the service and field.

    Raises ConfigError for a missing or empty ``services:`` mapping, an invalid value, and any key the
    format does not have (``windows_days``: a typo would otherwise silently mean the default), naming
    the closest known key.
    """
    if isinstance(document, dict):
        _refuse_unknown_keys(document, TOP_LEVEL_KEYS, source, "")
    services = document.get("services") if isinstance(document, dict) else None
    if not isinstance(services, dict) or not services:
        raise ConfigError(f"{source}: expected a top-level `services:` mapping with at least one service.")
    return SloCatalog({slo.service: slo for slo in (_slo(str(name), spec, source) for name, spec in services.items())})


def _slo(name: str, spec: Any, source: str) -> Slo:
    service = parse_service_name(name)
    if service is None or service != name:
        raise ConfigError(f"{source}: service name {name!r} must be lowercase a-z, 0-9, '.', '_' or '-'.")
    if not isinstance(spec, dict):
        example = spec if isinstance(spec, int | float) and not isinstance(spec, bool) else 99.9
        raise ConfigError(
            f"{source}: service {name!r} must be a mapping with `slo` (and optionally `window_days`, "
            f"`owner_channel`), e.g. `{name}: {{slo: {example}}}`; got {spec!r}."
        )
    _refuse_unknown_keys(spec, SERVICE_KEYS, source, f"{name}.")
    objective = spec.get("slo")
    if not isinstance(objective, int | float) or isinstance(objective, bool) or not MIN_SLO_PERCENT <= objective < 100:
        hint = ""
        if isinstance(objective, float) and 0 < objective < 1:  # a fraction: 0.999 for 99.9%
            hint = f" Did you mean {round(objective * 100, 6):g}?"
        raise ConfigError(
            f"{source}: {name}.slo must be a percentage from 50 to below 100 (e.g. 99.95), got {objective!r}.{hint}"
        )
    days = spec.get("window_days", 30)
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 366:
        raise ConfigError(f"{source}: {name}.window_days must be a whole number of days from 1 to 366.")
    owner = spec.get("owner_channel")
    if owner is not None and not isinstance(owner, str):
        raise ConfigError(f"{source}: {name}.owner_channel must be a Slack channel id such as C0123ABC.")
    return Slo(service, float(objective), timedelta(days=days), owner or None, _components(name, spec, source))


def _components(name: str, spec: dict[Any, Any], source: str) -> tuple[str, ...]:
    """``statuspage_components``: a list of Statuspage component ids (letters and digits, as Statuspage
    writes them, e.g. ``8kbf7d35c070``); raises ConfigError naming the service and the bad value."""
    value = spec.get("statuspage_components", [])
    if not isinstance(value, list) or not all(isinstance(c, str) and parse_component_id(c) for c in value):
        raise ConfigError(
            f"{source}: {name}.statuspage_components must be a list of Statuspage component ids (letters and digits, "
            f"e.g. [8kbf7d35c070]), got {value!r}."
        )
    return tuple(dict.fromkeys(value))


def _refuse_unknown_keys(mapping: dict[Any, Any], known: tuple[str, ...], source: str, prefix: str) -> None:
    for key in mapping:
        if key not in known:
            close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
            hint = f"; did you mean `{close[0]}`?" if close else ""
            raise ConfigError(
                f"{source}: unknown key `{prefix}{key}`{hint} (known keys{' of a service' if prefix else ''}: "
                f"{', '.join(known)})."
            )
