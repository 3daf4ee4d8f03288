"""One HTTP exchange with a tracker, and what its failure means (the classification of ``TrackerError``).

Both trackers speak JSON over HTTPS; aiohttp (already shipped for the bot's own server) is enough:
an SDK (githubkit, jira) would add a second HTTP stack and its own retry and error types, while the
outbox already owns retrying. Classes, from GitHub's REST description (github/rest-api-description,
``components/responses``: ``bad_request`` 400, ``requires_authentication`` 401, ``forbidden`` 403,
``not_found`` 404, ``gone`` 410, ``validation_failed`` 422, ``service_unavailable`` 503; "Rate limits
for the REST API": 403/429 with ``retry-after`` or ``x-ratelimit-remaining: 0`` and
``x-ratelimit-reset``) and Jira Cloud's REST v3 reference (400 with ``errorMessages``/``errors``,
401, 403, 404, 429 with ``Retry-After``, 5xx):

* temporary: 429; 403 that is a rate limit; 5xx; timeouts; connection errors; a body that is not JSON.
* permanent: every other 4xx, with the tracker's own message in the reason.

The token is never part of a reason or a log line: reasons are built from the status, the tracker's
message and our words only, and ``redact`` removes the token should a tracker echo it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp

from bot.integrations.trackers.port import FailureKind, TrackerError
from bot.outbox.worker import retry_after_seconds

DEFAULT_TIMEOUT_SECONDS = 15.0
MESSAGE_CHARS = 300
"""At most this many characters of a tracker's message go into a reason."""


@dataclass(frozen=True)
class Answer:
    """A JSON answer: HTTP ``status``, the decoded ``data`` and the response ``headers`` (lower-case keys)."""

    status: int
    data: Any
    headers: Mapping[str, str]


class TrackerHttp:
    """Sends requests to one tracker with one set of credentials; every failure becomes a TrackerError.

    ``hints`` replaces the default words said for an HTTP status (a tracker whose credentials are more than
    a token says what else to check on 401). ``rate_limit_statuses``: the statuses meaning "too many requests"
    (429; Statuspage also answers its older 420), retried after ``Retry-After``. ``refused_without_json``: a
    4xx whose body is not JSON (a proxy's login page, a plain-text 404 from a wrong base URL) is a refusal
    like any 4xx, not a temporary failure."""

    def __init__(
        self,
        tracker: str,
        base_url: str,
        headers: Mapping[str, str],
        secret: str,
        *,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        explain: Any = None,
        fields_of: Any = None,
        hints: Mapping[int, str] | None = None,
        rate_limit_statuses: tuple[int, ...] = (429,),
        refused_without_json: bool = False,
    ) -> None:
        self.tracker = tracker
        self._rate_limits = rate_limit_statuses
        self._refused_without_json = refused_without_json
        self.base_url = base_url.rstrip("/")
        self._headers = dict(headers)
        self._secrets = tuple(s for s in (secret, headers.get("Authorization", "")) if s)
        self.timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._explain = explain
        self._fields_of = fields_of
        self._hints = {**_HINTS, **(hints or {})}

    def redact(self, text: str) -> str:
        """``text`` with the token (and the Authorization header value) replaced by ``***``."""
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        expect: tuple[int, ...] = (200,),
    ) -> Answer:
        """``method`` ``path`` (relative to the base URL); the answer when its status is in ``expect``.
        Raises TrackerError (temporary or permanent, see the module docstring)."""
        where = f"{method} {path}"
        try:
            async with (
                aiohttp.ClientSession(timeout=self.timeout, headers=self._headers) as session,
                session.request(method, self.base_url + path, params=params, json=body) as response,
            ):
                status = response.status
                headers = {k.lower(): v for k, v in response.headers.items()}
                raw = await response.read()
        except TimeoutError as exc:
            raise self._temporary(f"{where}: no answer within {self.timeout.total:g} s") from exc
        except aiohttp.ClientError as exc:
            raise self._temporary(f"{where}: network error ({type(exc).__name__})") from exc
        data = _json(raw)
        if status in expect and data is not _NOT_JSON:
            return Answer(status, data, headers)
        raise self.failure(where, status, data, headers, raw)

    def failure(self, where: str, status: int, data: Any, headers: Mapping[str, str], raw: bytes) -> TrackerError:
        """The classified failure of an answer that is not the expected one."""
        retry_after = retry_after_seconds(headers)
        if data is _NOT_JSON:
            kind = "a web page" if b"<html" in raw[:512].lower() else f"{len(raw)} bytes that are not JSON"
            reason = f"{where}: HTTP {status} with {kind} ({headers.get('content-type', 'no content type')})"
            refused = 400 <= status < 500 and status not in (408, *self._rate_limits)
            if not (self._refused_without_json and refused):
                return self._temporary(reason, status, retry_after)
            hint = self._hints.get(status, "")
            return TrackerError(
                FailureKind.PERMANENT,
                self.redact(
                    f"{where}: {self.tracker} refused (HTTP {status}{', ' + hint if hint else ''}) with {kind}"
                ),
                status,
                None,
                self.tracker,
            )
        message = self.redact(self._explain(data) if self._explain else "")
        said = f": {message}" if message else ""
        if status in self._rate_limits or (status == 403 and _rate_limited(headers, message)):
            wait = retry_after if retry_after is not None else _reset_in(headers)
            if wait is None and status == 403:
                wait = SECONDARY_LIMIT_WAIT_SECONDS
            return self._temporary(f"{where}: rate limited by {self.tracker} (HTTP {status}){said}", status, wait)
        if status >= 500:
            return self._temporary(f"{where}: {self.tracker} answered HTTP {status}{said}", status, retry_after)
        if status < 400:
            return self._temporary(f"{where}: unexpected HTTP {status}{said}", status, retry_after)
        hint = self._hints.get(status, "")
        return TrackerError(
            FailureKind.PERMANENT,
            f"{where}: {self.tracker} refused (HTTP {status}{', ' + hint if hint else ''}){said}",
            status,
            None,
            self.tracker,
            tuple(self._fields_of(data)) if self._fields_of else (),
        )

    def _temporary(self, reason: str, status: int | None = None, after: float | None = None) -> TrackerError:
        return TrackerError(FailureKind.TEMPORARY, self.redact(reason), status, after, self.tracker)


_HINTS = {
    400: "a field the tracker refuses",
    401: "the token is not valid: check TRACKER_TOKEN",
    403: "the token may not do this: check its scopes and the project's permissions",
    404: "no such project or issue, or the token cannot see it: check TRACKER_PROJECT",
    410: "gone: the issue was deleted, or issues are disabled in this repository",
    422: "a field the tracker refuses",
}


class _NotJson:
    pass


_NOT_JSON: Any = _NotJson()


def _json(raw: bytes) -> Any:
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return _NOT_JSON


SECONDARY_LIMIT_WAIT_SECONDS = 60.0
"""GitHub, "Rate limits for the REST API": after a secondary rate limit without ``retry-after`` or
``x-ratelimit-remaining: 0``, "wait for at least one minute before retrying"."""


def _rate_limited(headers: Mapping[str, str], message: str = "") -> bool:
    """GitHub: a 403 is a (primary or secondary) rate limit when it says when to come back, or when its
    message says so ("You have exceeded a secondary rate limit", "API rate limit exceeded for ..."):
    GitHub documents that a secondary limit may come as a 403 with neither header."""
    said = message.lower()
    return (
        headers.get("x-ratelimit-remaining") == "0"
        or "retry-after" in headers
        or "secondary rate limit" in said
        or "rate limit exceeded" in said
    )


def _reset_in(headers: Mapping[str, str]) -> float | None:
    """Seconds until GitHub's ``x-ratelimit-reset`` (epoch seconds, UTC), at least 1; None if absent."""
    reset = headers.get("x-ratelimit-reset")
    if reset is None or not reset.isdecimal():
        return None
    return max(1.0, float(reset) - time.time())
