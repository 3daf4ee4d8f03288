"""The tracker port's plain data and the failure classification, without a network."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.integrations.trackers import github, jira
from bot.integrations.trackers.http import _NOT_JSON, TrackerHttp
from bot.integrations.trackers.port import (
    FailureKind,
    TrackerError,
    TrackerIssue,
    followup_marker,
    incident_of,
    outbox_error,
)
from bot.outbox.worker import RetryLater, Undeliverable

SECRET = "ghp_SECRETsecretSECRET"


def http() -> TrackerHttp:
    return TrackerHttp(
        "GitHub", "http://127.0.0.1:1", {"Authorization": f"Bearer {SECRET}"}, SECRET, explain=github.explain
    )


class TestMarkers:
    def test_followup_marker(self) -> None:
        assert followup_marker(7, 2) == "incidentbot:INC-7:followup-2"
        assert followup_marker(7, 2, "prod") == "incidentbot:prod:INC-7:followup-2"

    @pytest.mark.parametrize(
        ("marker", "incident"),
        [("incidentbot:INC-7:followup-2", "INC-7"), ("incidentbot:prod:INC-12:followup-1", "INC-12"), ("x", None)],
    )
    def test_incident_of(self, marker: str, incident: str | None) -> None:
        assert incident_of(marker) == incident

    @pytest.mark.parametrize("marker", ["", "a b", "incidentbot:INC-7 followup", "-x", "x" * 201, "é"])
    def test_bad_markers_are_refused(self, marker: str) -> None:
        with pytest.raises(ValueError):
            TrackerIssue(marker, "title", "body")

    def test_an_empty_title_is_refused(self) -> None:
        with pytest.raises(ValueError):
            TrackerIssue("incidentbot:INC-1:followup-1", "  ", "body")


class TestOutboxError:
    def test_temporary_is_retry_later_with_the_wait(self) -> None:
        error = outbox_error(TrackerError(FailureKind.TEMPORARY, "slow", 429, 30.0))
        assert isinstance(error, RetryLater) and (error.reason, error.after) == ("slow", 30.0)

    def test_permanent_is_undeliverable_with_the_reason(self) -> None:
        error = outbox_error(TrackerError(FailureKind.PERMANENT, "GitHub refused (HTTP 403)", 403))
        assert isinstance(error, Undeliverable) and str(error) == "GitHub refused (HTTP 403)"


class TestClassification:
    @given(
        status=st.integers(min_value=400, max_value=599),
        retry_after=st.one_of(st.none(), st.integers(min_value=1, max_value=3600)),
        exhausted=st.booleans(),
    )
    def test_temporary_exactly_for_5xx_429_and_rate_limited_403(
        self, status: int, retry_after: int | None, exhausted: bool
    ) -> None:
        headers = {"retry-after": str(retry_after)} if retry_after is not None else {}
        if exhausted:
            headers["x-ratelimit-remaining"] = "0"
        failure = http().failure("GET /x", status, {"message": "m"}, headers, b'{"message": "m"}')
        rate_limited = status == 429 or (status == 403 and (exhausted or retry_after is not None))
        assert failure.temporary == (status >= 500 or rate_limited)
        if failure.temporary and retry_after is not None:
            assert failure.retry_after == float(retry_after)

    @given(status=st.integers(min_value=200, max_value=599), body=st.binary(max_size=64))
    def test_a_body_that_is_not_json_is_always_temporary(self, status: int, body: bytes) -> None:
        try:
            json.loads(body)
        except ValueError:
            failure = http().failure("GET /x", status, _NOT_JSON, {}, body)
            assert failure.temporary

    @given(st.text(max_size=40))
    def test_the_token_never_survives_into_a_reason(self, around: str) -> None:
        failure = http().failure("GET /x", 422, {"message": around + SECRET + around}, {}, b"{}")
        assert SECRET not in failure.reason and "***" in failure.reason


class TestExplain:
    @pytest.mark.parametrize(
        ("body", "expected"),
        [
            ({"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}, "Not Found"),
            (
                {
                    "message": "Validation Failed",
                    "errors": [{"resource": "Issue", "field": "title", "code": "missing_field"}],
                },
                "Validation Failed: Issue title missing_field",
            ),
            (
                {"message": "Validation Failed", "errors": [{"code": "custom", "message": "labels are bad"}]},
                "Validation Failed: labels are bad",
            ),
            ({"message": "Validation Failed", "errors": ["plain"]}, "Validation Failed: plain"),
            ([], ""),
        ],
    )
    def test_github(self, body: object, expected: str) -> None:
        assert github.explain(body) == expected

    @pytest.mark.parametrize(
        ("body", "expected"),
        [
            ({"errorMessages": ["Issue does not exist"], "errors": {}}, "Issue does not exist"),
            (
                {
                    "errorMessages": [],
                    "errors": {"summary": "You must specify a summary of the issue.", "labels": "bad"},
                },
                "summary: You must specify a summary of the issue.; labels: bad",
            ),
            ({"message": "Rate limit exceeded"}, "Rate limit exceeded"),
            ("text", ""),
        ],
    )
    def test_jira(self, body: object, expected: str) -> None:
        assert jira.explain(body) == expected
