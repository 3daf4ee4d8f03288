"""The GitHub Issues client against the fake GitHub on 127.0.0.1: exactly-once filing across retries,
dropped answers and racing replicas; classified refusals; state read-back; no token in any output."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from structlog.testing import capture_logs

from bot.integrations.trackers.github import GitHubTracker
from bot.integrations.trackers.port import (
    FailureKind,
    IssueStatus,
    TrackerError,
    TrackerIssue,
    TrackerRef,
    outbox_error,
)
from bot.outbox.worker import RetryLater, Undeliverable
from tests.support.fake_github import TOKEN, FakeGitHub

MARKER = "incidentbot:INC-7:followup-2"
ISSUE = TrackerIssue(
    marker=MARKER,
    title="Canary deployment for firewall changes",
    body="Follow-up of [INC-7](https://slack.example/archives/C1).\n\nPostmortem: INC-7.",
    labels=("incident", "INC-7", "sev1"),
    assignee="octocat",
)


@pytest.fixture
async def github() -> AsyncIterator[FakeGitHub]:
    fake = FakeGitHub()
    await fake.start()
    yield fake
    await fake.stop()


def client(fake: FakeGitHub, token: str = TOKEN, timeout: float = 5.0) -> GitHubTracker:
    return GitHubTracker("acme/web", token, fake.url, timeout_seconds=timeout)


async def file_until_done(tracker: GitHubTracker, issue: TrackerIssue, attempts: int = 10) -> tuple[TrackerRef, int]:
    """What the outbox does: retry temporary failures; the ref and how many attempts it took."""
    for attempt in range(1, attempts + 1):
        try:
            return await tracker.file(issue), attempt
        except TrackerError as exc:
            if not exc.temporary:
                raise
    raise AssertionError("never filed")


class TestFiling:
    async def test_files_with_marker_labels_and_assignee(self, github: FakeGitHub) -> None:
        """One POST carries the title, the body with the hidden marker, the labels and the assignee."""
        ref = await client(github).file(ISSUE)
        assert ref == TrackerRef("acme/web#1", "https://github.com/acme/web/issues/1")
        (create,) = github.calls("create")
        assert create.body["title"] == "Canary deployment for firewall changes"
        assert create.body["body"].endswith("\n\n<!-- incidentbot:INC-7:followup-2 -->\n")
        assert create.body["labels"] == ["incidentbot", "incident", "INC-7", "sev1"]
        assert create.body["assignees"] == ["octocat"]

    async def test_the_lookup_lists_by_label_in_every_state(self, github: FakeGitHub) -> None:
        """The lookup is the consistent list (not /search), filtered by both labels, state=all."""
        await client(github).file(ISSUE)
        lookup = github.calls("list")[0]
        assert lookup.query["labels"] == "incidentbot,INC-7"
        assert lookup.query["state"] == "all"

    async def test_filing_again_finds_the_issue(self, github: FakeGitHub) -> None:
        tracker = client(github)
        first = await tracker.file(ISSUE)
        second = await tracker.file(ISSUE)
        assert second == first
        assert len(github.calls("create")) == 1

    async def test_a_closed_issue_is_found_too(self, github: FakeGitHub) -> None:
        tracker = client(github)
        await tracker.file(ISSUE)
        github.close(1)
        assert (await tracker.file(ISSUE)).key == "acme/web#1"
        assert len(github.issues) == 1

    async def test_another_marker_is_another_issue(self, github: FakeGitHub) -> None:
        """A marker that only starts like another one (followup-2 vs followup-21) is not found by it."""
        tracker = client(github)
        await tracker.file(ISSUE)
        other = TrackerIssue("incidentbot:INC-7:followup-21", "Other", "x", ("incident", "INC-7"))
        assert (await tracker.file(other)).key == "acme/web#2"

    async def test_the_lookup_pages_through_the_link_header(self, github: FakeGitHub) -> None:
        """With more than 100 labelled issues, the one carrying the marker on page 2 is still found."""
        tracker = client(github)
        for n in range(101):
            github.issues[n + 1] = _bare_issue(github, n + 1, f"<!-- incidentbot:INC-7:followup-{100 + n} -->")
        await tracker.file(ISSUE)  # files #102
        assert await tracker.find(MARKER) == TrackerRef("acme/web#102", "https://github.com/acme/web/issues/102")
        assert len(github.calls("create")) == 1


class TestExactlyOnce:
    @pytest.mark.parametrize("failures", [1, 3])
    async def test_retries_after_5xx_before_creating_file_once(self, github: FakeGitHub, failures: int) -> None:
        github.fail("create", 502, times=failures, body={"message": "Server Error"})
        ref, attempts = await file_until_done(client(github), ISSUE)
        assert (ref.key, attempts, len(github.issues)) == ("acme/web#1", failures + 1, 1)

    async def test_a_5xx_after_creating_is_not_a_second_issue(self, github: FakeGitHub) -> None:
        """GitHub created it but answered 502: the retry finds it instead of filing again."""
        github.fail("create", 502, after=True)
        ref, attempts = await file_until_done(client(github), ISSUE)
        assert (ref.key, attempts, len(github.issues), len(github.calls("create"))) == ("acme/web#1", 2, 1, 1)

    async def test_a_dropped_answer_after_creating_is_not_a_second_issue(self, github: FakeGitHub) -> None:
        """The connection dies after GitHub created the issue (as a crash before our commit): found on retry."""
        github.fail("create", drop=True)
        with pytest.raises(TrackerError) as failed:
            await client(github).file(ISSUE)
        assert failed.value.kind is FailureKind.TEMPORARY
        ref = await client(github).file(ISSUE)  # a new process: nothing remembered
        assert (ref.key, len(github.issues)) == ("acme/web#1", 1)

    async def test_a_timeout_after_creating_is_not_a_second_issue(self, github: FakeGitHub) -> None:
        github.fail("create", hang=1.0, after=True, status=201)
        with pytest.raises(TrackerError) as failed:
            await client(github, timeout=0.3).file(ISSUE)
        assert failed.value.temporary and "no answer within 0.3 s" in failed.value.reason
        await asyncio.sleep(0.8)  # the fake's hanging answer ends before the server stops
        assert (await client(github).file(ISSUE)).key == "acme/web#1"
        assert len(github.issues) == 1

    async def test_two_replicas_filing_together_end_with_one_open_issue(self, github: FakeGitHub) -> None:
        """Both look up before either creates (the fake holds both lists): both create, both then see
        two copies, agree on the lowest number, and the other copy is closed as not planned."""
        github.gate("list", 2)
        first, second = await asyncio.gather(client(github).file(ISSUE), client(github).file(ISSUE))
        assert first == second == TrackerRef("acme/web#1", "https://github.com/acme/web/issues/1")
        states = {n: (i["state"], i["state_reason"]) for n, i in github.issues.items()}
        assert states == {1: ("open", None), 2: ("closed", "not_planned")}

    async def test_dropped_labels_are_logged(self, github: FakeGitHub) -> None:
        """Without push access GitHub drops labels silently: the lookup could not find the issue later,
        so it is said in the log."""
        github.push_access = False
        with capture_logs() as logs:
            await client(github).file(ISSUE)
        assert [e["event"] for e in logs if e["log_level"] == "warning"] == ["tracker_labels_dropped"]


class TestRefusals:
    @pytest.mark.parametrize(
        ("status", "body", "expected"),
        [
            (
                401,
                {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"},
                "POST /repos/acme/web/issues: GitHub refused (HTTP 401, the token is not valid: check TRACKER_TOKEN): "
                "Bad credentials",
            ),
            (
                403,
                {"message": "Resource not accessible by personal access token"},
                "POST /repos/acme/web/issues: GitHub refused (HTTP 403, the token may not do this: check its scopes "
                "and the project's permissions): Resource not accessible by personal access token",
            ),
            (
                410,
                {"message": "Issues are disabled for this repo"},
                "POST /repos/acme/web/issues: GitHub refused (HTTP 410, gone: the issue was deleted, or issues are "
                "disabled in this repository): Issues are disabled for this repo",
            ),
        ],
    )
    async def test_refusals_are_permanent_with_githubs_message(
        self, github: FakeGitHub, status: int, body: dict[str, Any], expected: str
    ) -> None:
        github.fail("create", status, body=body)
        with pytest.raises(TrackerError) as failed:
            await client(github).file(ISSUE)
        assert (failed.value.kind, failed.value.status, failed.value.reason) == (
            FailureKind.PERMANENT,
            status,
            expected,
        )
        assert isinstance(outbox_error(failed.value), Undeliverable)

    async def test_an_unknown_assignee_is_filed_unassigned(self, github: FakeGitHub) -> None:
        """GitHub's 422 names only ``assignees`` (a stale mapping): the issue is filed without one."""
        issue = TrackerIssue(MARKER, "t", "b", ("INC-7",), assignee="nobody")
        with capture_logs() as logs:
            ref = await client(github).file(issue)
        assert (ref.key, github.issues[1]["assignees"], len(github.calls("create"))) == ("acme/web#1", [], 2)
        (refused,) = [e for e in logs if e["event"] == "tracker_assignee_refused"]
        assert refused["reason"] == (
            "POST /repos/acme/web/issues: GitHub refused (HTTP 422, a field the tracker refuses): "
            "Validation Failed: Issue assignees invalid (nobody)"
        )

    async def test_another_field_error_is_permanent_naming_the_field(self, github: FakeGitHub) -> None:
        github.fail(
            "create",
            422,
            body={
                "message": "Validation Failed",
                "errors": [{"resource": "Label", "code": "invalid", "field": "name"}],
            },
        )
        with pytest.raises(TrackerError) as failed:
            await client(github).file(ISSUE)
        assert (failed.value.fields, failed.value.reason) == (
            ("name",),
            "POST /repos/acme/web/issues: GitHub refused (HTTP 422, a field the tracker refuses): "
            "Validation Failed: Label name invalid",
        )
        assert len(github.issues) == 0

    async def test_an_unknown_repository_is_a_404(self, github: FakeGitHub) -> None:
        tracker = GitHubTracker("acme/gone", TOKEN, github.url)
        with pytest.raises(TrackerError) as failed:
            await tracker.file(ISSUE)
        assert failed.value.status == 404 and not failed.value.temporary
        assert "no such project or issue" in failed.value.reason and failed.value.reason.endswith(": Not Found")

    async def test_a_wrong_token_is_a_401_from_the_fake_itself(self, github: FakeGitHub) -> None:
        with pytest.raises(TrackerError) as failed:
            await client(github, token="ghp_wrong").file(ISSUE)
        assert (failed.value.status, failed.value.temporary) == (401, False)

    @pytest.mark.parametrize(
        ("status", "headers", "after"),
        [
            (429, {"Retry-After": "30"}, 30.0),
            (403, {"Retry-After": "60"}, 60.0),  # secondary rate limit
            (503, {}, None),
        ],
    )
    async def test_rate_limits_and_5xx_are_temporary_with_their_wait(
        self, github: FakeGitHub, status: int, headers: dict[str, str], after: float | None
    ) -> None:
        github.fail("list", status, headers=headers, body={"message": "slow down"})
        with pytest.raises(TrackerError) as failed:
            await client(github).file(ISSUE)
        error = outbox_error(failed.value)
        assert isinstance(error, RetryLater) and error.after == after

    @pytest.mark.parametrize(
        ("message", "temporary", "after"),
        [
            (
                "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
                True,
                60.0,
            ),
            ("API rate limit exceeded for user ID 1.", True, 60.0),
            ("Resource not accessible by personal access token", False, None),
        ],
    )
    async def test_a_403_that_says_it_is_a_rate_limit_is_temporary_without_headers(
        self, github: FakeGitHub, message: str, temporary: bool, after: float | None
    ) -> None:
        """GitHub documents that a secondary rate limit may come as a bare 403; then "wait for at least one
        minute". Only a 403 that says so: a missing permission stays permanent."""
        github.fail("create", 403, body={"message": message, "documentation_url": "https://docs.github.com/rest"})
        with pytest.raises(TrackerError) as failed:
            await client(github).file(ISSUE)
        error = outbox_error(failed.value)
        assert failed.value.temporary is temporary
        assert (error.after if isinstance(error, RetryLater) else None) == after

    async def test_a_primary_rate_limit_waits_until_the_reset(self, github: FakeGitHub) -> None:
        reset = int(datetime.now(UTC).timestamp()) + 120
        github.fail("list", 403, headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset)})
        with pytest.raises(TrackerError) as failed:
            await client(github).file(ISSUE)
        assert failed.value.temporary and failed.value.retry_after is not None
        assert 110 <= failed.value.retry_after <= 121

    async def test_a_proxy_page_is_temporary(self, github: FakeGitHub) -> None:
        github.fail("list", 502, html=True)
        with pytest.raises(TrackerError) as failed:
            await client(github).file(ISSUE)
        assert failed.value.temporary
        assert failed.value.reason == "GET /repos/acme/web/issues: HTTP 502 with a web page (text/html; charset=utf-8)"

    async def test_a_closed_port_is_temporary(self, github: FakeGitHub) -> None:
        url = github.url
        await github.stop()
        with pytest.raises(TrackerError) as failed:
            await GitHubTracker("acme/web", TOKEN, url).file(ISSUE)
        assert failed.value.temporary and "network error (ClientConnectorError)" in failed.value.reason


class TestState:
    async def test_open_then_closed_with_time_and_reason(self, github: FakeGitHub) -> None:
        tracker = client(github)
        ref = await tracker.file(ISSUE)
        opened = await tracker.state(ref)
        assert (opened.status, opened.closed_at, opened.reason, opened.assignee) == (
            IssueStatus.OPEN,
            None,
            None,
            "octocat",
        )
        github.close(1, at=datetime(2026, 11, 30, 9, 15, tzinfo=UTC))
        closed = await tracker.state(ref)
        assert (closed.status, closed.closed_at, closed.reason) == (
            IssueStatus.CLOSED,
            datetime(2026, 11, 30, 9, 15, tzinfo=UTC),
            "completed",
        )

    @pytest.mark.parametrize(
        ("reason", "dropped"),
        [
            ("completed", None),
            ("not_planned", "closed as not planned in GitHub"),
            ("duplicate", "closed as duplicate in GitHub"),
            (None, None),
            ("some_future_reason", None),
        ],
    )
    async def test_a_close_without_doing_it_is_read_as_dropped(
        self, github: FakeGitHub, reason: str | None, dropped: str | None
    ) -> None:
        """GitHub's ``state_reason`` not_planned and duplicate mean the issue will not be done; completed,
        none, or a reason GitHub adds later read as done."""
        tracker = client(github)
        ref = await tracker.file(ISSUE)
        github.close(1, reason=reason)  # type: ignore[arg-type]
        state = await tracker.state(ref)
        assert (state.status, state.reason, state.dropped) == (IssueStatus.CLOSED, reason, dropped)
        github.reopen(1)
        assert (await tracker.state(ref)).dropped is None

    async def test_a_deleted_issue_is_a_permanent_410(self, github: FakeGitHub) -> None:
        """Deleted in GitHub's UI: GitHub answers 410 "This issue was deleted"."""
        tracker = client(github)
        ref = await tracker.file(ISSUE)
        github.delete(1)
        with pytest.raises(TrackerError) as failed:
            await tracker.state(ref)
        assert (failed.value.status, failed.value.temporary) == (410, False)
        assert failed.value.reason.endswith(": This issue was deleted")

    async def test_a_deleted_issue_is_a_permanent_404(self, github: FakeGitHub) -> None:
        tracker = client(github)
        ref = await tracker.file(ISSUE)
        del github.issues[1]
        with pytest.raises(TrackerError) as failed:
            await tracker.state(ref)
        assert (failed.value.status, failed.value.temporary) == (404, False)


class TestTokenNeverShown:
    async def test_no_log_line_nor_error_holds_the_token(self, github: FakeGitHub) -> None:
        """Every failure kind, including a tracker that echoes the Authorization header back."""
        texts: list[str] = []
        faults: list[dict[str, Any]] = [
            {"route": "list", "status": 401, "echo_token": True},
            {"route": "list", "status": 500, "echo_token": True},
            {"route": "list", "status": 502, "html": True},
            {"route": "create", "status": 422, "echo_token": True},
            {"route": "create", "drop": True},
        ]
        with capture_logs() as logs:
            for fault in faults:
                github.fail(**fault)
                try:
                    await client(github).file(ISSUE)
                except TrackerError as exc:
                    texts.extend([str(exc), repr(exc), exc.reason, repr(outbox_error(exc))])
            await client(github).file(ISSUE)
        texts.extend(str(entry) for entry in logs)
        assert len(texts) > 20
        assert any("***" in text for text in texts)  # the echo was there, and redacted
        assert not [text for text in texts if TOKEN in text]

    def test_the_tracker_repr_holds_no_token(self) -> None:
        tracker = GitHubTracker("acme/web", TOKEN, "http://127.0.0.1:1")
        assert TOKEN not in repr(tracker) and TOKEN not in repr(vars(tracker))


def _bare_issue(fake: FakeGitHub, number: int, body: str) -> dict[str, Any]:
    label = {"name": "incidentbot"}, {"name": "INC-7"}
    return {
        "number": number,
        "html_url": f"https://github.com/acme/web/issues/{number}",
        "state": "open",
        "state_reason": None,
        "body": body,
        "labels": list(label),
        "assignees": [],
        "closed_at": None,
    }


class TestDuplicateFollowed:
    async def test_the_state_of_a_copy_closed_as_duplicate_is_the_originals(self, github: FakeGitHub) -> None:
        """Replicas whose lists disagreed: one kept #2, which the other closed as not planned. Reading
        #2 answers #1's state and ref, so sync-back never reads our own duplicate closing as 'done'."""
        tracker = client(github)
        await tracker.file(ISSUE)
        copy = dict(github.issues[1], number=2, html_url="https://github.com/acme/web/issues/2")
        github.issues[2] = copy
        github.close(2, reason="not_planned")
        state = await tracker.state(TrackerRef("acme/web#2", "https://github.com/acme/web/issues/2"))
        assert (state.ref.key, state.status) == ("acme/web#1", IssueStatus.OPEN)

    async def test_an_issue_a_person_closed_as_not_planned_stays_closed(self, github: FakeGitHub) -> None:
        tracker = client(github)
        ref = await tracker.file(ISSUE)
        github.close(1, reason="not_planned")
        state = await tracker.state(ref)
        assert (state.ref, state.status, state.reason) == (ref, IssueStatus.CLOSED, "not_planned")


class TestMarkerCannotBeForged:
    async def test_a_marker_typed_into_another_follow_up_is_not_found_for_it(self, github: FakeGitHub) -> None:
        """Follow-up 3's text quotes follow-up 2's marker comment: it is escaped, so filing follow-up 2
        afterwards files a new issue instead of taking follow-up 3's for it."""
        tracker = client(github)
        quoting = TrackerIssue(
            "incidentbot:INC-7:followup-3", "Quote", "see <!-- incidentbot:INC-7:followup-2 -->", ("INC-7",)
        )
        await tracker.file(quoting)
        assert github.issues[1]["body"].startswith("see &lt;!-- incidentbot:INC-7:followup-2 -->\n\n")
        assert (await tracker.file(ISSUE)).key == "acme/web#2"


class TestDuplicateLeftOpen:
    async def test_a_duplicate_that_cannot_be_closed_is_logged_and_the_original_answered(
        self, github: FakeGitHub
    ) -> None:
        github.gate("list", 2)
        github.fail("update", 403, body={"message": "Must have admin rights to Repository."})
        with capture_logs() as logs:
            first, second = await asyncio.gather(client(github).file(ISSUE), client(github).file(ISSUE))
        assert first.key == second.key == "acme/web#1"
        assert [(e["key"], e["kept"]) for e in logs if e["event"] == "tracker_duplicate_left_open"] == [
            ("acme/web#2", "acme/web#1")
        ]


class TestComments:
    async def test_a_comment_is_added_once_per_marker_even_after_a_lost_answer(self, github: FakeGitHub) -> None:
        """The first POST is made and its answer lost: the retry finds the hidden marker and adds nothing;
        a person's text quoting ``<!--`` cannot pose as the marker; another marker is another comment."""
        tracker = client(github)
        ref = await tracker.file(ISSUE)
        github.fail("comment", drop=True, after=True)
        with pytest.raises(TrackerError) as lost:
            await tracker.comment(ref, "incidentbot:INC-7:followup-2:postmortem-1", "Postmortem of INC-7: https://x/1")
        assert lost.value.temporary
        assert await tracker.comment(ref, "incidentbot:INC-7:followup-2:postmortem-1", "again") is False
        assert await tracker.comment(ref, "incidentbot:INC-7:followup-2:postmortem-2", "see <!-- here -->")
        assert [c["body"] for c in github.comments[1]] == [
            "Postmortem of INC-7: https://x/1\n\n<!-- incidentbot:INC-7:followup-2:postmortem-1 -->\n",
            "see &lt;!-- here -->\n\n<!-- incidentbot:INC-7:followup-2:postmortem-2 -->\n",
        ]

    async def test_the_lookup_follows_every_page(self, github: FakeGitHub) -> None:
        """250 comments (GitHub pages 100 at most): the marker on the third page is found."""
        tracker = client(github)
        ref = await tracker.file(ISSUE)
        for n in range(250):
            github.comments.setdefault(1, []).append({"id": n, "body": f"comment {n}"})
        github.comments[1][-1]["body"] = "done <!-- incidentbot:m-1 -->"
        assert await tracker.comment(ref, "incidentbot:m-1", "t") is False
        assert [r.query.get("page", "1") for r in github.calls("comments")] == ["1", "2", "3"]
        assert await tracker.comment(ref, "incidentbot:m-2", "t") is True


WJ = "\u2060"  # U+2060 WORD JOINER


class TestTypedTextIsInert:
    @pytest.mark.parametrize(
        ("typed", "sent"),
        [
            ("cc @carol and @sre-team", f"cc @{WJ}carol and @{WJ}sre-team"),
            ("see #123 and (#7)", f"see #{WJ}123 and (#{WJ}7)"),
            ("<img src=http://evil.example/p.png>", "&lt;img src=http://evil.example/p.png>"),
            ("![x](http://evil.example/pixel.png)", "!\\[x](http://evil.example/pixel.png)"),
            ("mail sre@example.com", "mail sre@example.com"),  # an address mentions nobody
            ("https://wiki.example/runbook#4 and a/b#12", f"https://wiki.example/runbook#4 and a/b#{WJ}12"),
            ("issue #notanumber, C# and @ alone", "issue #notanumber, C# and @ alone"),
            ("- Owner: carol\n- Due: 2026-12-15", "- Owner: carol\n- Due: 2026-12-15"),
            ("from kubernetes/kubernetes#12345 and GH-7", f"from kubernetes/kubernetes#{WJ}12345 and GH-{WJ}7"),
            ("use &lt;br&gt; at AT&T", "use &amp;lt;br&amp;gt; at AT&amp;T"),
        ],
    )
    async def test_mentions_references_html_and_images_reach_nobody(
        self, github: FakeGitHub, typed: str, sent: str
    ) -> None:
        """What people typed in Slack mentions no GitHub user, links no issue, loads nothing, and reads the
        same (the word joiner is invisible); addresses, URLs and the bot's own lines are left as they are."""
        tracker = client(github)
        await tracker.file(TrackerIssue("incidentbot:INC-7:followup-2", "t", typed, ("INC-7",)))
        assert github.issues[1]["body"] == f"{sent}\n\n<!-- incidentbot:INC-7:followup-2 -->\n"
        ref = TrackerRef("acme/web#1", "https://github.com/acme/web/issues/1")
        await tracker.comment(ref, "incidentbot:INC-7:followup-2:c", typed)
        assert github.comments[1][0]["body"] == f"{sent}\n\n<!-- incidentbot:INC-7:followup-2:c -->\n"
