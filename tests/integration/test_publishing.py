"""Publishing the postmortem through the real outbox worker and store (SQLite and PostgreSQL): into the fake
Confluence Cloud and into a bare Git repository in a temporary folder, exactly once across retries, a crash
between the target's answer and our commit, and two workers; a re-publish updates in place."""

from __future__ import annotations

import asyncio
import hashlib
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.cli.demo import ReplayClock
from bot.domain.effects import Effect
from bot.domain.grammar import parse_command
from bot.domain.model import EntryKind
from bot.errors import ConfigError
from bot.integrations.publishing.confluence import ConfluencePublisher, PageDraft
from bot.integrations.publishing.delivery import PublishDeliverer
from bot.integrations.publishing.git import GitPublisher, GitTarget
from bot.integrations.trackers.port import TrackerError
from bot.outbox.worker import OutboxWorker, RetryPolicy, route_by_kind
from bot.store import IncidentStore
from bot.usecases.publishing import Publication, PublishingUseCases, publish_effect
from bot.usecases.shared import Actor
from bot.usecases.wiring import UseCases, wire_usecases
from bot.views.postmortem import PostmortemRenderer
from tests.support.fake_confluence import EMAIL, TOKEN, FakeConfluence

ALICE = Actor("U0ALICE", "alice")
TITLE = "CDN edge <b>502s</b> & ]]>"
PAGE_TITLE = "INC-1 Postmortem: CDN edge <b>502s</b> & ]]>"
FILE = "postmortems/INC-1-cdn-edge-b-502s-b.md"


@pytest.fixture
def publishing_usecases(store: IncidentStore, clock: ReplayClock) -> UseCases:
    return wire_usecases(store, clock, publish_targets=("confluence", "git"))


@pytest.fixture
async def confluence() -> AsyncIterator[FakeConfluence]:
    fake = FakeConfluence()
    await fake.start()
    yield fake
    await fake.stop()


def git(cwd: Path, *args: str) -> str:
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return result.stdout


@dataclass
class Repos:
    bare: Path
    clone: Path
    other: Path
    """A second clone, someone else's, to move the remote on."""


@pytest.fixture
def repos(tmp_path: Path) -> Iterator[Repos]:
    bare, clone, other = tmp_path / "postmortems.git", tmp_path / "clone", tmp_path / "other"
    subprocess.run(["git", "init", "--quiet", "--bare", "-b", "main", str(bare)], check=True)
    subprocess.run(["git", "clone", "--quiet", str(bare), str(clone)], check=True, capture_output=True)
    git(
        clone,
        "-c",
        "user.name=Ann",
        "-c",
        "user.email=ann@example.com",
        "commit",
        "--quiet",
        "--allow-empty",
        "-m",
        "start",
    )
    git(clone, "push", "--quiet", "origin", "main")
    subprocess.run(["git", "clone", "--quiet", str(bare), str(other)], check=True, capture_output=True)
    yield Repos(bare, clone, other)


def _declare(usecases: UseCases, clock: ReplayClock) -> int:
    outcome = usecases.incidents.run(parse_command(f"declare sev2 {TITLE}"), ALICE)
    clock.now += timedelta(minutes=30)
    usecases.incidents.run(parse_command("INC-1 resolve edge back to normal"), ALICE)
    return outcome.incident.number


def _note(usecases: UseCases, clock: ReplayClock, text: str) -> None:
    clock.now += timedelta(minutes=5)
    usecases.incidents.run(parse_command(f"INC-1 note {text}"), ALICE)


class CrashingRecord:
    """``PublishingUseCases.record`` that fails ``times`` times first, as a crash between the target's
    answer and our commit would."""

    def __init__(self, publishing: PublishingUseCases, times: int) -> None:
        self.real = publishing.record
        self.times = times

    def __call__(self, number: int, publication: Publication, plan: Any = None) -> Any:
        if self.times:
            self.times -= 1
            raise ConnectionError("the database went away before the commit")
        return self.real(number, publication, plan)


def _worker(usecases: UseCases, clock: ReplayClock, deliverer: PublishDeliverer, name: str = "w1") -> OutboxWorker:
    deliver = route_by_kind({"publish": deliverer})
    return OutboxWorker(usecases.store, deliver, name, clock=clock, policy=RetryPolicy(base_seconds=1, max_seconds=8))


async def _deliver_all(usecases: UseCases, clock: ReplayClock, *workers: OutboxWorker, rounds: int = 12) -> None:
    for _ in range(rounds):
        await asyncio.gather(*(worker.drain(timeout=10) for worker in workers))
        pending = usecases.outbox.items("pending")
        if not pending:
            return
        clock.now = max(clock.now, min(item.next_attempt_at for item in pending)) + timedelta(seconds=1)


def _git_deliverer(usecases: UseCases, repo: Path, branch: str | None = None) -> PublishDeliverer:
    return PublishDeliverer(usecases.publishing, PostmortemRenderer(), git=GitPublisher(GitTarget(repo, branch)))


def _confluence(fake: FakeConfluence, token: str = TOKEN, space: str = "OPS") -> ConfluencePublisher:
    return ConfluencePublisher(fake.url, space, EMAIL, token)


def _published(usecases: UseCases) -> list[tuple[str, str, str, str, str]]:
    _, entries = usecases.incidents.timeline(1)
    return [
        (e.actor, e.data["target"], e.data["ref"], e.data["url"], e.data["version"])
        for e in entries
        if e.kind is EntryKind.POSTMORTEM_PUBLISHED
    ]


class TestConfluence:
    async def test_a_persons_edit_is_kept_when_nothing_new_is_published(
        self, publishing_usecases: UseCases, clock: ReplayClock, confluence: FakeConfluence
    ) -> None:
        """The publishing tester's finding: a person edited the published page, a re-publish with nothing new
        wrote the bot's version over it (and recorded a publication). Now nothing is written or recorded;
        once the incident changes, the next publication is a new version."""
        usecases = publishing_usecases
        _declare(usecases, clock)
        worker = _worker(
            usecases, clock, PublishDeliverer(usecases.publishing, PostmortemRenderer(), _confluence(confluence))
        )
        usecases.outbox.enqueue([_effect("confluence")])
        await _deliver_all(usecases, clock, worker)
        confluence.edit("65601", "<p>The team's hand-written root cause analysis</p>")
        usecases.outbox.enqueue([_effect("confluence")])
        await _deliver_all(usecases, clock, worker)
        page = confluence.pages["65601"]
        assert (page["version"]["number"], page["body"]) == (2, "<p>The team's hand-written root cause analysis</p>")
        assert (len(confluence.calls("update")), len(_published(usecases))) == (0, 1)
        _note(usecases, clock, "edge CPU back to normal")
        usecases.outbox.enqueue([_effect("confluence")])
        await _deliver_all(usecases, clock, worker)
        assert (page["version"]["number"], len(_published(usecases))) == (3, 2)
        assert "edge CPU back to normal" in page["body"]

    async def test_created_once_then_updated_in_place_by_version(
        self, publishing_usecases: UseCases, clock: ReplayClock, confluence: FakeConfluence
    ) -> None:
        usecases = publishing_usecases
        _declare(usecases, clock)
        deliverer = PublishDeliverer(usecases.publishing, PostmortemRenderer(), _confluence(confluence))
        worker = _worker(usecases, clock, deliverer)
        usecases.outbox.enqueue([_effect("confluence")])
        await _deliver_all(usecases, clock, worker)
        (page,) = confluence.pages.values()
        assert (page["id"], page["title"], page["version"]["number"], page["space"]) == ("65601", PAGE_TITLE, 1, "OPS")
        assert page["labels"] == [f"incidentbot-{usecases.publishing.installation_id()}-inc-1"]
        assert page["body"] == PostmortemRenderer().render_storage(usecases.publishing.document(1))
        url = (
            f"{confluence.url}/wiki/spaces/OPS/pages/65601/"
            "INC-1+Postmortem%3A+CDN+edge+%3Cb%3E502s%3C%2Fb%3E+%26+%5D%5D%3E"
        )
        assert _published(usecases) == [("incidentbot", "confluence", "65601", url, "1")]

        usecases.outbox.enqueue([_effect("confluence")])  # no change since: no new version, nothing recorded
        await _deliver_all(usecases, clock, worker)
        assert (len(confluence.pages), page["version"]["number"], len(confluence.calls("update"))) == (1, 1, 0)

        _note(usecases, clock, "edge CPU back to normal")
        usecases.outbox.enqueue([_effect("confluence")])
        await _deliver_all(usecases, clock, worker)
        assert (len(confluence.pages), page["version"]["number"], len(confluence.calls("create"))) == (1, 2, 1)
        assert "edge CPU back to normal" in page["body"]
        (update,) = confluence.calls("update")
        assert update.body["version"]["number"] == 2 and update.body["version"]["message"].startswith("incidentbot ")
        assert [p[4] for p in _published(usecases)] == ["1", "2"]

    async def test_a_stale_version_is_read_again_and_retried(
        self, publishing_usecases: UseCases, clock: ReplayClock, confluence: FakeConfluence
    ) -> None:
        """A person saved version 2 while we published; our first PUT is answered 409 and retried on version 3."""
        usecases = publishing_usecases
        _declare(usecases, clock)
        deliverer = PublishDeliverer(usecases.publishing, PostmortemRenderer(), _confluence(confluence))
        usecases.outbox.enqueue([_effect("confluence")])
        await _deliver_all(usecases, clock, _worker(usecases, clock, deliverer))
        _note(usecases, clock, "more")
        confluence.fail("update", 409, times=1, body={"statusCode": 409, "message": "Version must be incremented"})
        confluence.edit("65601", "<p>a person's edit</p>")
        usecases.outbox.enqueue([_effect("confluence")])
        await _deliver_all(usecases, clock, _worker(usecases, clock, deliverer))
        page = confluence.pages["65601"]
        assert [c.body["version"]["number"] for c in confluence.calls("update")] == [3, 3]
        assert (page["version"]["number"], confluence.versions["65601"][1]) == (3, "<p>a person's edit</p>")
        assert [p[4] for p in _published(usecases)] == ["1", "3"]

    async def test_the_fake_answers_409_for_a_stale_version_as_confluence_does(
        self, confluence: FakeConfluence
    ) -> None:
        page_id = confluence.add_page("Somebody's page")
        with pytest.raises(TrackerError) as caught:
            await _confluence(confluence)._update(
                {"id": page_id, "version": {"number": 5}}, PageDraft("t", "<p/>", "l")
            )
        assert (caught.value.status, caught.value.reason) == (
            409,
            f"PUT /content/{page_id}: Confluence refused (HTTP 409): Version must be incremented on update. "
            "Current version is: 1",
        )

    async def test_exactly_once_across_5xx_429_a_dropped_answer_and_a_crash_before_our_commit(
        self, publishing_usecases: UseCases, clock: ReplayClock, confluence: FakeConfluence
    ) -> None:
        usecases = publishing_usecases
        _declare(usecases, clock)
        confluence.fail("list", 503, times=1)
        confluence.fail("list", 429, times=1, headers={"Retry-After": "3"})
        confluence.fail("create", drop=True)  # Confluence created it; we never heard
        deliverer = PublishDeliverer(usecases.publishing, PostmortemRenderer(), _confluence(confluence))
        deliverer.publishing = _Wrapped(usecases.publishing, CrashingRecord(usecases.publishing, 1))  # type: ignore[assignment]
        usecases.outbox.enqueue([_effect("confluence")])
        await _deliver_all(usecases, clock, _worker(usecases, clock, deliverer))
        (page,) = confluence.pages.values()
        assert (page["version"]["number"], len(confluence.calls("create")), confluence.calls("update")) == (1, 1, [])
        assert [(p[1], p[2], p[4]) for p in _published(usecases)] == [("confluence", "65601", "1")]
        assert usecases.outbox.items() == []

    async def test_a_restart_between_confluences_answer_and_our_commit_publishes_once(
        self, publishing_usecases: UseCases, clock: ReplayClock, confluence: FakeConfluence
    ) -> None:
        """The process dies after Confluence created the page, before the record committed: the item stays
        leased; the restarted worker (same id) frees its lease, finds the labelled page and records it."""
        usecases = publishing_usecases
        _declare(usecases, clock)
        dying = PublishDeliverer(usecases.publishing, PostmortemRenderer(), _confluence(confluence))
        dying.publishing = _Wrapped(usecases.publishing, _die)  # type: ignore[assignment]
        usecases.outbox.enqueue([_effect("confluence")])
        with pytest.raises(asyncio.CancelledError):
            await _worker(usecases, clock, dying, "replica-a").run_once()
        (leased,) = usecases.outbox.items("pending")
        assert (leased.attempts, len(confluence.pages), _published(usecases)) == (1, 1, [])

        restarted = _worker(
            usecases,
            clock,
            PublishDeliverer(usecases.publishing, PostmortemRenderer(), _confluence(confluence)),
            "replica-a",
        )
        await restarted.resume()
        await _deliver_all(usecases, clock, restarted)
        assert (len(confluence.pages), len(confluence.calls("create")), confluence.calls("update")) == (1, 1, [])
        assert [(p[1], p[2], p[4]) for p in _published(usecases)] == [("confluence", "65601", "1")]
        assert usecases.outbox.items() == []

    async def test_a_page_deleted_in_confluence_is_created_again(
        self, publishing_usecases: UseCases, clock: ReplayClock, confluence: FakeConfluence
    ) -> None:
        usecases = publishing_usecases
        _declare(usecases, clock)
        worker = _worker(
            usecases, clock, PublishDeliverer(usecases.publishing, PostmortemRenderer(), _confluence(confluence))
        )
        usecases.outbox.enqueue([_effect("confluence")])
        await _deliver_all(usecases, clock, worker)
        del confluence.pages["65601"]
        usecases.outbox.enqueue([_effect("confluence")])
        await _deliver_all(usecases, clock, worker)
        assert list(confluence.pages) == ["65602"]
        assert [(p[2], p[4]) for p in _published(usecases)] == [("65601", "1"), ("65602", "1")]

    async def test_two_workers_publish_once(
        self, publishing_usecases: UseCases, clock: ReplayClock, confluence: FakeConfluence
    ) -> None:
        usecases = publishing_usecases
        _declare(usecases, clock)
        usecases.outbox.enqueue([_effect("confluence"), _effect("confluence")])  # two replicas each took a command
        workers = [
            _worker(
                usecases, clock, PublishDeliverer(usecases.publishing, PostmortemRenderer(), _confluence(confluence)), n
            )
            for n in ("replica-a", "replica-b")
        ]
        await _deliver_all(usecases, clock, *workers)
        assert (len(confluence.pages), len(confluence.calls("create")), len(confluence.calls("update"))) == (1, 1, 0)
        assert len(_published(usecases)) == 1

    @pytest.mark.parametrize(
        ("token", "space", "reason"),
        [
            (
                "wrong-token",
                "OPS",
                "GET /content: Confluence refused (HTTP 401, the account email or the API token is not valid: check "
                "CONFLUENCE_USER and CONFLUENCE_API_TOKEN): Unauthorized",
            ),
            (
                TOKEN,
                "NOPE",
                "POST /content: Confluence refused (HTTP 404, no such space or page, or the account cannot see it: "
                "check CONFLUENCE_SPACE and CONFLUENCE_PARENT_ID): No space with key : NOPE",
            ),
        ],
    )
    async def test_a_refusal_is_a_dead_item_with_the_reason_and_never_the_token(
        self,
        publishing_usecases: UseCases,
        clock: ReplayClock,
        confluence: FakeConfluence,
        token: str,
        space: str,
        reason: str,
    ) -> None:
        usecases = publishing_usecases
        _declare(usecases, clock)
        deliverer = PublishDeliverer(usecases.publishing, PostmortemRenderer(), _confluence(confluence, token, space))
        usecases.outbox.enqueue([_effect("confluence")])
        await _deliver_all(usecases, clock, _worker(usecases, clock, deliverer))
        (dead,) = usecases.outbox.items("dead")
        assert dead.last_error == reason
        assert TOKEN not in dead.last_error and "wrong-token" not in dead.last_error and _published(usecases) == []

    async def test_someone_elses_page_under_the_title_is_never_overwritten(
        self, publishing_usecases: UseCases, clock: ReplayClock, confluence: FakeConfluence
    ) -> None:
        usecases = publishing_usecases
        _declare(usecases, clock)
        confluence.add_page(PAGE_TITLE, "<p>hand-written</p>")
        deliverer = PublishDeliverer(usecases.publishing, PostmortemRenderer(), _confluence(confluence))
        usecases.outbox.enqueue([_effect("confluence")])
        await _deliver_all(usecases, clock, _worker(usecases, clock, deliverer))
        (dead,) = usecases.outbox.items("dead")
        label = f"incidentbot-{usecases.publishing.installation_id()}-inc-1"
        assert dead.last_error == (
            f"A page titled {PAGE_TITLE!r} already exists in space OPS (id 65601) and was not published by incidentbot "
            f"(no label {label}): rename or move it, then retry the item."
        )
        assert confluence.pages["65601"]["body"] == "<p>hand-written</p>"

    async def test_two_publishers_racing_on_the_first_create_make_one_page(self, confluence: FakeConfluence) -> None:
        """Both look the title up before either creates (a lease that ran out): Confluence refuses the second
        create, which then takes the first one's page."""
        confluence.gate("list", 2)
        draft = PageDraft("INC-1 Postmortem: x", "<p>x</p>", "incidentbot-i-inc-1")
        first, second = await asyncio.gather(
            _confluence(confluence).publish(draft, None), _confluence(confluence).publish(draft, None)
        )
        assert (
            first
            == second
            == Publication(
                "confluence",
                "65601",
                f"{confluence.url}/wiki/spaces/OPS/pages/65601/INC-1+Postmortem%3A+x",
                "1",
                hashlib.sha256(b"INC-1 Postmortem: x\n<p>x</p>").hexdigest()[:24],
            )
        )
        assert (len(confluence.pages), len(confluence.calls("create"))) == (1, 2)

    async def test_created_under_the_configured_parent_page(
        self, publishing_usecases: UseCases, clock: ReplayClock, confluence: FakeConfluence
    ) -> None:
        usecases = publishing_usecases
        _declare(usecases, clock)
        parent = confluence.add_page("Postmortems")
        publisher = ConfluencePublisher(confluence.url, "OPS", EMAIL, TOKEN, parent)
        usecases.outbox.enqueue([_effect("confluence")])
        await _deliver_all(
            usecases,
            clock,
            _worker(usecases, clock, PublishDeliverer(usecases.publishing, PostmortemRenderer(), publisher)),
        )
        assert [(p["title"], p["ancestors"]) for p in confluence.pages.values()] == [
            ("Postmortems", []),
            (PAGE_TITLE, [parent]),
        ]

    async def test_a_403_is_dead_with_confluences_words(
        self, publishing_usecases: UseCases, clock: ReplayClock, confluence: FakeConfluence
    ) -> None:
        usecases = publishing_usecases
        _declare(usecases, clock)
        confluence.fail("create", 403, body={"statusCode": 403, "message": "User not permitted to create content"})
        usecases.outbox.enqueue([_effect("confluence")])
        await _deliver_all(
            usecases,
            clock,
            _worker(
                usecases, clock, PublishDeliverer(usecases.publishing, PostmortemRenderer(), _confluence(confluence))
            ),
        )
        (dead,) = usecases.outbox.items("dead")
        assert dead.last_error == (
            "POST /content: Confluence refused (HTTP 403, the account may not add or edit pages in this space: check "
            "its space permissions): User not permitted to create content"
        )
        assert (dead.attempts, confluence.pages) == (1, {})

    async def test_a_space_given_by_its_id_is_found_by_key(
        self, publishing_usecases: UseCases, clock: ReplayClock, confluence: FakeConfluence
    ) -> None:
        usecases = publishing_usecases
        _declare(usecases, clock)
        deliverer = PublishDeliverer(usecases.publishing, PostmortemRenderer(), _confluence(confluence, space="98305"))
        usecases.outbox.enqueue([_effect("confluence")])
        await _deliver_all(usecases, clock, _worker(usecases, clock, deliverer))
        assert [p["space"] for p in confluence.pages.values()] == ["OPS"]


class TestGit:
    async def test_published_committed_and_pushed_then_only_changes_commit(
        self, publishing_usecases: UseCases, clock: ReplayClock, repos: Repos
    ) -> None:
        usecases = publishing_usecases
        _declare(usecases, clock)
        deliverer = _git_deliverer(usecases, repos.clone)
        worker = _worker(usecases, clock, deliverer)
        usecases.outbox.enqueue([_effect("git")])
        await _deliver_all(usecases, clock, worker)
        log = git(repos.bare, "log", "--format=%an <%ae>|%s", "main").splitlines()
        assert log == [
            "incidentbot <incidentbot@localhost>|INC-1: postmortem published by incidentbot",
            "Ann <ann@example.com>|start",
        ]
        owner_line = (
            f"<!-- incidentbot-{usecases.publishing.installation_id()}-inc-1: published by incidentbot; "
            "edits here are replaced at the next publish -->"
        )
        rendered = PostmortemRenderer().render(usecases.publishing.document(1))
        assert git(repos.bare, "show", f"main:{FILE}") == f"{rendered.rstrip()}\n\n{owner_line}\n"
        head = git(repos.bare, "rev-parse", "main").strip()
        assert _published(usecases) == [("incidentbot", "git", FILE, f"{repos.bare} main:{FILE}", head)]

        usecases.outbox.enqueue([_effect("git")])  # nothing changed: no commit
        await _deliver_all(usecases, clock, worker)
        assert git(repos.bare, "rev-list", "--count", "main").strip() == "2" and len(_published(usecases)) == 1

        _note(usecases, clock, "edge CPU back to normal")
        usecases.outbox.enqueue([_effect("git")])
        await _deliver_all(usecases, clock, worker)
        assert git(repos.bare, "rev-list", "--count", "main").strip() == "3"
        assert "edge CPU back to normal" in git(repos.bare, "show", f"main:{FILE}")
        assert git(repos.bare, "ls-tree", "-r", "--name-only", "main").splitlines() == [FILE]
        assert [p[4] for p in _published(usecases)] == [head, git(repos.bare, "rev-parse", "main").strip()]

    async def test_a_remote_that_moved_is_fetched_rebased_and_pushed(
        self, publishing_usecases: UseCases, clock: ReplayClock, repos: Repos
    ) -> None:
        usecases = publishing_usecases
        _declare(usecases, clock)
        publisher = GitPublisher(GitTarget(repos.clone))
        deliverer = PublishDeliverer(usecases.publishing, PostmortemRenderer(), git=publisher)
        worker = _worker(usecases, clock, deliverer)
        # Our clone committed locally but its push was lost (a crash); meanwhile someone else pushed.
        original = publisher._git
        calls: list[str] = []

        def racing(*args: str) -> str:
            if args[0] == "push" and not calls:
                calls.append("moved")
                (repos.other / "README.md").write_text("archive of postmortems\n")
                git(repos.other, "add", "README.md")
                git(
                    repos.other,
                    "-c",
                    "user.name=Bea",
                    "-c",
                    "user.email=bea@example.com",
                    "commit",
                    "--quiet",
                    "-m",
                    "readme",
                )
                git(repos.other, "push", "--quiet", "origin", "main")
            return original(*args)

        publisher._git = racing  # type: ignore[method-assign]
        usecases.outbox.enqueue([_effect("git")])
        await _deliver_all(usecases, clock, worker)
        log = git(repos.bare, "log", "--format=%an|%s", "main").splitlines()
        assert log == ["incidentbot|INC-1: postmortem published by incidentbot", "Bea|readme", "Ann|start"]
        assert git(repos.bare, "ls-tree", "-r", "--name-only", "main").splitlines() == ["README.md", FILE]
        assert usecases.outbox.items() == [] and len(_published(usecases)) == 1

    async def test_exactly_once_across_a_crash_before_our_commit_and_two_workers(
        self, publishing_usecases: UseCases, clock: ReplayClock, repos: Repos
    ) -> None:
        usecases = publishing_usecases
        _declare(usecases, clock)
        workers = []
        for name in ("replica-a", "replica-b"):
            deliverer = _git_deliverer(usecases, repos.clone)
            deliverer.publishing = _Wrapped(usecases.publishing, CrashingRecord(usecases.publishing, 1))  # type: ignore[assignment]
            workers.append(_worker(usecases, clock, deliverer, name))
        usecases.outbox.enqueue([_effect("git"), _effect("git")])
        await _deliver_all(usecases, clock, *workers)
        assert git(repos.bare, "rev-list", "--count", "main").strip() == "2"
        assert len(_published(usecases)) == 1 and usecases.outbox.items() == []

    async def test_a_configured_branch_and_folder(
        self, publishing_usecases: UseCases, clock: ReplayClock, repos: Repos
    ) -> None:
        """POSTMORTEM_GIT_BRANCH names a branch the remote does not have yet: the push creates it; main is untouched."""
        usecases = publishing_usecases
        _declare(usecases, clock)
        git(repos.clone, "branch", "archive")
        target = GitTarget(repos.clone, "archive", "docs/postmortems")
        worker = _worker(
            usecases, clock, PublishDeliverer(usecases.publishing, PostmortemRenderer(), git=GitPublisher(target))
        )
        usecases.outbox.enqueue([_effect("git")])
        await _deliver_all(usecases, clock, worker)
        assert git(repos.bare, "ls-tree", "-r", "--name-only", "archive").splitlines() == [
            "docs/postmortems/INC-1-cdn-edge-b-502s-b.md"
        ]
        assert git(repos.bare, "rev-list", "--count", "main").strip() == "1"
        assert usecases.outbox.items() == []

    async def test_a_push_a_hook_refuses_is_dead_at_once_with_the_hooks_words(
        self, publishing_usecases: UseCases, clock: ReplayClock, repos: Repos
    ) -> None:
        usecases = publishing_usecases
        _declare(usecases, clock)
        hook = repos.bare / "hooks" / "pre-receive"
        hook.write_text("#!/bin/sh\necho 'the archive is frozen until Monday' >&2\nexit 1\n")
        hook.chmod(0o755)
        deliverer = _git_deliverer(usecases, repos.clone)
        usecases.outbox.enqueue([_effect("git")])
        await _deliver_all(usecases, clock, _worker(usecases, clock, deliverer))
        (dead,) = usecases.outbox.items("dead")
        assert dead.attempts == 1
        assert dead.last_error.startswith(
            f"git push failed in {repos.clone}: remote: the archive is frozen until Monday"
        )
        assert "[remote rejected] (pre-receive hook declined)" in dead.last_error
        assert git(repos.bare, "rev-list", "--count", "main").strip() == "1"

    async def test_a_git_error_is_a_dead_item_with_gits_message(
        self, publishing_usecases: UseCases, clock: ReplayClock, repos: Repos
    ) -> None:
        usecases = publishing_usecases
        _declare(usecases, clock)
        git(repos.clone, "remote", "set-url", "origin", str(repos.bare.parent / "gone.git"))
        deliverer = _git_deliverer(usecases, repos.clone)
        usecases.outbox.enqueue([_effect("git")])
        await _deliver_all(usecases, clock, _worker(usecases, clock, deliverer))
        (dead,) = usecases.outbox.items("dead")
        assert dead.last_error.startswith(
            f"git fetch failed in {repos.clone}: fatal: '{repos.bare.parent / 'gone.git'}' does not appear to be a git "
            "repository"
        )


def _commit_as_bea(clone: Path, path: str, text: str, push: bool = True) -> None:
    (clone / path).parent.mkdir(parents=True, exist_ok=True)
    (clone / path).write_text(text)
    git(clone, "add", path)
    git(clone, "-c", "user.name=Bea", "-c", "user.email=bea@example.com", "commit", "--quiet", "-m", f"add {path}")
    if push:
        git(clone, "push", "--quiet", "origin", "main")


class TestGitLeavesOthersWorkAlone:
    """The publishing tester's findings: a hand-written INC-1 in the archive was overwritten, a dirty clone
    was reset (the edit lost) and a person's unpushed commit was pushed with the bot's."""

    async def _publish(self, usecases: UseCases, clock: ReplayClock, clone: Path) -> list[tuple[str, str]]:
        deliverer = _git_deliverer(usecases, clone)
        usecases.outbox.enqueue([_effect("git")])
        await _deliver_all(usecases, clock, _worker(usecases, clock, deliverer))
        return [(i.status, i.last_error) for i in usecases.outbox.items()]

    @pytest.mark.parametrize("name", ["postmortems/INC-1-datacenter-fire.md", "postmortems/INC-1.md", FILE])
    async def test_a_file_of_the_incidents_name_not_published_by_this_bot_is_never_overwritten(
        self, publishing_usecases: UseCases, clock: ReplayClock, repos: Repos, name: str
    ) -> None:
        _declare(publishing_usecases, clock)
        _commit_as_bea(repos.other, name, "# INC-1: the 2019 datacenter fire\nThe only copy.\n")
        git(repos.clone, "pull", "--quiet")
        items = await self._publish(publishing_usecases, clock, repos.clone)
        assert items == [
            (
                "dead",
                f"{name} in {repos.clone} was not published by this incidentbot (its last line is not "
                f"`<!-- incidentbot-{publishing_usecases.publishing.installation_id()}-inc-1: ...`; a hand-written "
                "file, or another installation's): it is never overwritten; rename or move it, or set "
                "POSTMORTEM_GIT_DIR to another folder.",
            )
        ]
        assert git(repos.bare, "show", f"main:{name}") == "# INC-1: the 2019 datacenter fire\nThe only copy.\n"
        assert _published(publishing_usecases) == []

    async def test_another_installations_file_is_not_ours_either(
        self, publishing_usecases: UseCases, clock: ReplayClock, repos: Repos
    ) -> None:
        _declare(publishing_usecases, clock)
        line = "<!-- incidentbot-0000-inc-1: published by incidentbot; edits here are replaced at the next publish -->"
        _commit_as_bea(repos.other, FILE, f"# another bot's INC-1\n\n{line}\n")
        [(status, reason)] = await self._publish(publishing_usecases, clock, repos.clone)
        assert (status, reason.startswith(f"{FILE} in {repos.clone} was not published by this incidentbot")) == (
            "dead",
            True,
        )

    async def test_a_clone_with_uncommitted_changes_is_refused_and_keeps_them(
        self, publishing_usecases: UseCases, clock: ReplayClock, repos: Repos
    ) -> None:
        _declare(publishing_usecases, clock)
        _commit_as_bea(repos.clone, "README.md", "# Archive\n")
        (repos.clone / "README.md").write_text("# Archive\nDraft of the on-call guide (not committed yet)\n")
        items = await self._publish(publishing_usecases, clock, repos.clone)
        assert items == [
            (
                "dead",
                f"{repos.clone} has uncommitted changes (1 tracked files): incidentbot publishes only into a clean "
                "clone; commit or stash them, or give it a clone of its own.",
            )
        ]
        assert (repos.clone / "README.md").read_text() == "# Archive\nDraft of the on-call guide (not committed yet)\n"

    async def test_a_persons_unpushed_commit_is_refused_not_pushed(
        self, publishing_usecases: UseCases, clock: ReplayClock, repos: Repos
    ) -> None:
        _declare(publishing_usecases, clock)
        _commit_as_bea(repos.clone, "notes.md", "local only\n", push=False)
        items = await self._publish(publishing_usecases, clock, repos.clone)
        assert items == [
            (
                "dead",
                f"{repos.clone} has 1 commit(s) on main that are not on origin and not incidentbot's: push or drop "
                "them; incidentbot never pushes someone else's work.",
            )
        ]
        assert git(repos.bare, "log", "--format=%s", "main").splitlines() == ["start"]

    async def test_a_detached_head_names_the_setting_to_use(
        self, publishing_usecases: UseCases, clock: ReplayClock, repos: Repos
    ) -> None:
        _declare(publishing_usecases, clock)
        git(repos.clone, "checkout", "--quiet", "--detach")
        items = await self._publish(publishing_usecases, clock, repos.clone)
        assert items == [
            ("dead", f"{repos.clone}: HEAD is detached: set POSTMORTEM_GIT_BRANCH to the branch to publish on.")
        ]

    async def test_a_git_worktree_checkout_publishes(
        self, publishing_usecases: UseCases, clock: ReplayClock, repos: Repos
    ) -> None:
        """``git worktree add`` makes ``.git`` a file pointing at the main clone's: a clone all the same."""
        _declare(publishing_usecases, clock)
        worktree = repos.clone.parent / "worktree"
        git(repos.clone, "worktree", "add", "--quiet", "-b", "archive", str(worktree), "main")
        deliverer = _git_deliverer(publishing_usecases, worktree, "archive")
        publishing_usecases.outbox.enqueue([_effect("git")])
        await _deliver_all(publishing_usecases, clock, _worker(publishing_usecases, clock, deliverer))
        assert publishing_usecases.outbox.items() == []
        assert git(repos.bare, "ls-tree", "-r", "--name-only", "archive").splitlines() == [FILE]


class TestGitFollowsItsFile:
    """The second publishing tester's findings: a file a person moved got a second copy at the old path, and a
    re-publish with nothing new undid a person's edit of the file (with a commit and an entry)."""

    async def test_a_moved_file_is_updated_where_it_is_now(
        self, publishing_usecases: UseCases, clock: ReplayClock, repos: Repos
    ) -> None:
        usecases = publishing_usecases
        _declare(usecases, clock)
        worker = _worker(
            usecases,
            clock,
            _git_deliverer(usecases, repos.clone),
        )
        usecases.outbox.enqueue([_effect("git")])
        await _deliver_all(usecases, clock, worker)
        git(repos.other, "pull", "--quiet")
        (repos.other / "postmortems" / "2026").mkdir()
        git(repos.other, "mv", FILE, "postmortems/2026/INC-1-cdn-outage.md")
        git(repos.other, "-c", "user.name=Bea", "-c", "user.email=bea@example.com", "commit", "--quiet", "-m", "tidy")
        git(repos.other, "push", "--quiet", "origin", "main")
        _note(usecases, clock, "edge CPU back to normal")
        usecases.outbox.enqueue([_effect("git")])
        await _deliver_all(usecases, clock, worker)
        assert git(repos.bare, "ls-tree", "-r", "--name-only", "main").splitlines() == [
            "postmortems/2026/INC-1-cdn-outage.md"
        ]
        assert "edge CPU back to normal" in git(repos.bare, "show", "main:postmortems/2026/INC-1-cdn-outage.md")
        assert [p[2] for p in _published(usecases)] == [FILE, "postmortems/2026/INC-1-cdn-outage.md"]

    async def test_a_persons_edit_is_kept_when_nothing_new_is_published(
        self, publishing_usecases: UseCases, clock: ReplayClock, repos: Repos
    ) -> None:
        usecases = publishing_usecases
        _declare(usecases, clock)
        worker = _worker(
            usecases,
            clock,
            _git_deliverer(usecases, repos.clone),
        )
        usecases.outbox.enqueue([_effect("git")])
        await _deliver_all(usecases, clock, worker)
        git(repos.other, "pull", "--quiet")
        edited = (
            (repos.other / FILE)
            .read_text()
            .replace("\n\n<!-- ", "\n\nPat: root cause analysis added by hand.\n\n<!-- ", 1)
        )
        _commit_as_bea(repos.other, FILE, edited)
        usecases.outbox.enqueue([_effect("git")])
        await _deliver_all(usecases, clock, worker)
        assert git(repos.bare, "show", f"main:{FILE}") == edited
        assert git(repos.bare, "log", "-1", "--format=%an", "main").strip() == "Bea"
        assert len(_published(usecases)) == 1
        _note(usecases, clock, "edge CPU back to normal")
        usecases.outbox.enqueue([_effect("git")])
        await _deliver_all(usecases, clock, worker)
        assert "edge CPU back to normal" in git(repos.bare, "show", f"main:{FILE}")
        assert len(_published(usecases)) == 2


class TestGitLinks:
    @pytest.mark.parametrize(
        ("remote", "link"),
        [
            ("git@github.com:acme/postmortems.git", "https://github.com/acme/postmortems/blob/main/pm/INC-7-x.md"),
            (
                "https://bot:ghp_SECRET@github.com/acme/postmortems.git",
                "https://github.com/acme/postmortems/blob/main/pm/INC-7-x.md",
            ),
            ("https://gitlab.example.com/ops/pm", "https://gitlab.example.com/ops/pm/blob/main/pm/INC-7-x.md"),
            ("/srv/git/pm.git", "/srv/git/pm.git main:pm/INC-7-x.md"),
        ],
    )
    def test_the_link_to_the_file_never_carries_credentials(self, tmp_path: Path, remote: str, link: str) -> None:
        subprocess.run(["git", "init", "--quiet", str(tmp_path)], check=True)
        git(tmp_path, "remote", "add", "origin", remote)
        assert GitPublisher(GitTarget(tmp_path))._link("main", "pm/INC-7-x.md") == link


class TestRequest:
    def test_one_effect_per_configured_target(self, publishing_usecases: UseCases, clock: ReplayClock) -> None:
        _declare(publishing_usecases, clock)
        incident, targets = publishing_usecases.publishing.request(ALICE, 1)
        items = publishing_usecases.outbox.items()
        assert (incident.incident_id, targets) == ("INC-1", ("confluence", "git"))
        assert [(i.kind, i.payload, i.incident_number) for i in items] == [
            ("publish.confluence", {"target": "confluence", "requested_by": "U0ALICE"}, 1),
            ("publish.git", {"target": "git", "requested_by": "U0ALICE"}, 1),
        ]

    def test_refused_without_a_target(self, usecases: UseCases, clock: ReplayClock) -> None:
        _declare(usecases, clock)
        with pytest.raises(ConfigError) as caught:
            usecases.publishing.request(ALICE, 1)
        assert caught.value.user_message.startswith(
            "No publishing target is configured, so the postmortem cannot be published: set CONFLUENCE_URL"
        )
        assert usecases.outbox.items() == []


class _Wrapped:
    """``PublishingUseCases`` with ``record`` replaced."""

    def __init__(self, publishing: PublishingUseCases, record: Any) -> None:
        self._publishing = publishing
        self.record = record

    def __getattr__(self, name: str) -> Any:
        return getattr(self._publishing, name)


def _die(number: int, publication: Publication, plan: Any = None) -> None:
    """The process is killed (SIGKILL-like: nothing below catches it) just before recording."""
    raise asyncio.CancelledError


def _effect(target: str) -> Effect:
    return publish_effect(target, 1, "U0ALICE")
