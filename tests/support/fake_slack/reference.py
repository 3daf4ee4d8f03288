"""Slack's method reference for the methods incidentbot calls, and the conformance checks built on it.

`DOCUMENTED` is read from `tests/support/slack_methods.json` (arguments and documented error codes, from
slack-ruby/slack-api-ref, MIT). `argument_problems` and `nonconforming_answers` judge recorded calls
against it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tests.support.fake_slack.records import RecordedCall

TRANSPORT_ERRORS = frozenset({"not_authed", "invalid_auth", "unknown_method", "invalid_json", "json_not_object"})
"""Answered before a method's own checks: wrong token, unknown method, unreadable body."""
METHODS_FILE = Path(__file__).resolve().parents[1] / "slack_methods.json"
DOCUMENTED: dict[str, dict[str, Any]] = json.loads(METHODS_FILE.read_text(encoding="utf-8"))["methods"]
"""Slack's method reference for the methods incidentbot calls: {method: {"args": {...}, "errors": {code: text}}}."""
_NOT_ARGUMENTS = frozenset({"token"})
"""Sent by every client (the token may travel in the body instead of the Authorization header)."""
_SDK_ADDED = {"auth.test": frozenset({"team_id"})}
"""Arguments slack_sdk adds itself: bolt's per-request client carries the request's team_id into
every call it makes (its own auth.test); incidentbot's calls go through a client without one."""


def argument_problems(calls: Iterable[RecordedCall]) -> list[str]:
    """Calls to documented methods naming an undocumented argument or missing a required one."""
    problems = []
    for call in calls:
        spec = DOCUMENTED.get(call.method)
        if spec is None or "_raw" in call.params:
            continue
        args = spec["args"]
        unknown = sorted(set(call.params) - set(args) - _NOT_ARGUMENTS - _SDK_ADDED.get(call.method, frozenset()))
        missing = sorted(a for a, info in args.items() if info["required"] and call.params.get(a) in (None, ""))
        if unknown or missing:
            problems.append(f"{call.method}: undocumented {unknown}, missing required {missing}")
    return problems


def nonconforming_answers(calls: Iterable[RecordedCall]) -> list[str]:
    """Answers of documented methods with an error code Slack does not document for them."""
    return [
        f"{c.method} answered {c.error!r}"
        for c in calls
        if c.method in DOCUMENTED
        and c.error
        and c.error not in DOCUMENTED[c.method]["errors"]
        and c.error not in TRANSPORT_ERRORS
    ]
