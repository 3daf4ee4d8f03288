"""What the fake records and raises: request headers, recorded calls, shared files, Slack errors."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


class Headers(dict[str, str]):
    """Request headers with case-insensitive lookup (keys are stored lower-cased)."""

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        super().__init__((k.lower(), v) for k, v in items)

    def __getitem__(self, key: str) -> str:
        return super().__getitem__(key.lower())

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and super().__contains__(key.lower())

    def get(self, key: str, default: Any = None) -> Any:
        return super().get(key.lower(), default)


@dataclass(frozen=True)
class RecordedCall:
    """One request the fake received (recorded after it was answered, before the reply is sent)."""

    method: str
    params: dict[str, Any]
    headers: dict[str, str]
    status: int = 200
    response: dict[str, Any] | None = None
    path: str = ""

    @property
    def ok(self) -> bool:
        """True when the fake answered `ok: true` (or a plain 200 for non-API endpoints)."""
        return self.status == 200 and (self.response is None or bool(self.response.get("ok")))

    @property
    def error(self) -> str | None:
        """The error code answered, if any."""
        return None if self.response is None else self.response.get("error")

    def describe(self) -> str:
        """A one-line summary for assertion messages."""
        outcome = "ok" if self.ok else f"{self.status} {self.error}"
        return f"{self.method} -> {outcome} {short(self.params)}"


@dataclass(frozen=True)
class UploadedFile:
    """A file shared through the files v2 flow (`files.completeUploadExternal`)."""

    file_id: str
    filename: str
    title: str
    content: bytes
    channel_id: str | None
    initial_comment: str | None
    thread_ts: str | None = None


class SlackError(Exception):
    """An `ok: false` answer: `error` code plus extra top-level response fields."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


def short(value: Any, limit: int = 160) -> str:
    """``value`` as compact JSON, cut to ``limit`` characters for assertion messages."""
    text = json.dumps(value, default=str, sort_keys=True)
    return text if len(text) <= limit else text[: limit - 3] + "..."
