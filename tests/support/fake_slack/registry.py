"""The table of Web API methods the fake implements: each family module registers its handlers here."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from tests.support.fake_slack.state import Workspace

Handler = Callable[["Workspace", dict[str, Any]], dict[str, Any]]
API: dict[str, Handler] = {}


def api_method(name: str) -> Callable[[Handler], Handler]:
    """Register the decorated function as the handler of Web API method ``name``."""

    def register(func: Handler) -> Handler:
        API[name] = func
        return func

    return register


def api_methods() -> Iterator[str]:
    """Names of the Web API methods the fake implements."""
    return iter(sorted(API))
