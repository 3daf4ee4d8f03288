"""What the publishing targets make of a postmortem without a server: Confluence page titles, labels and
digests, Git file names, and which git failures are worth retrying."""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.app import stalled_item_notice
from bot.domain.effects import OutboxItem
from bot.integrations.publishing.confluence import PageDraft, page_label, page_title
from bot.integrations.publishing.git import GitError, GitPublisher, GitTarget, redact_url, slug
from bot.slack.delivery import dead_publication_notice


class TestPageAndFileNames:
    def test_the_page_title_is_one_line_and_at_most_255_characters(self) -> None:
        assert page_title("INC-7", "CDN\nedge  502s") == "INC-7 Postmortem: CDN edge 502s"
        long = page_title("INC-7", "x" * 400)
        assert len(long) == 255 and long.endswith("x…")

    def test_the_label_is_lower_case_and_names_the_installation_and_incident(self) -> None:
        assert page_label("3F2A-uuid", 7) == "incidentbot-3f2a-uuid-inc-7"

    def test_the_digest_changes_with_title_or_body(self) -> None:
        a, b, c = PageDraft("t", "b", "l"), PageDraft("t2", "b", "l"), PageDraft("t", "b2", "l")
        assert len({a.digest, b.digest, c.digest}) == 3 and a.digest == PageDraft("t", "b", "other").digest

    @pytest.mark.parametrize(
        ("title", "expected"),
        [
            (
                "CDN edge returning 502s above the 5% alerting threshold",
                "cdn-edge-returning-502s-above-the-5-alerting-threshold",
            ),
            ("Ünïcödé  café / déjà vu", "unicode-cafe-deja-vu"),
            ("../../etc/passwd", "etc-passwd"),
            ("日本語だけ", "postmortem"),
            ("a" * 100, "a" * 60),
        ],
    )
    def test_the_file_slug(self, title: str, expected: str) -> None:
        assert slug(title) == expected


class TestGitFailures:
    @pytest.mark.parametrize(
        ("stderr", "temporary"),
        [
            (
                "fatal: unable to access 'https://git.example.com/pm.git/': Could not resolve host: git.example.com",
                True,
            ),
            (
                "fatal: unable to access 'https://git.example.com/pm.git/': Failed to connect to git.example.com",
                True,
            ),
            ("fatal: unable to access 'https://git.example.com/pm.git/': The requested URL returned error: 503", True),
            ("fatal: Unable to create '/srv/pm/.git/index.lock': File exists.", True),
            ("fatal: unable to access 'https://git.example.com/pm.git/': The requested URL returned error: 403", False),
            ("fatal: '/srv/gone.git' does not appear to be a git repository", False),
            ("remote: Permission to acme/pm.git denied to bot.", False),
        ],
    )
    def test_which_failures_are_temporary(self, tmp_path: Path, stderr: str, temporary: bool) -> None:
        """A fake ``git`` on PATH answers with ``stderr`` and exit status 128; the error says whether to retry."""
        fake = tmp_path / "bin" / "git"
        fake.parent.mkdir()
        fake.write_text(  # `git -C <repo> <command>`: the clone's own checks pass, fetch fails
            '#!/bin/sh\ncase "$3" in rev-parse) echo "$2/.git"; exit 0;; status) exit 0;; esac\n'
            f"cat >&2 <<'EOF'\n{stderr}\nEOF\nexit 128\n"
        )
        fake.chmod(0o755)
        (tmp_path / "repo" / ".git").mkdir(parents=True)
        publisher = GitPublisher(GitTarget(tmp_path / "repo", "main"))
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("PATH", f"{fake.parent}:{os.environ['PATH']}")
            with pytest.raises(GitError) as caught:
                publisher.publish("INC-1", "x", "x")
        assert (caught.value.temporary, caught.value.reason) == (
            temporary,
            f"git fetch failed in {tmp_path / 'repo'}: {stderr}",
        )

    def test_credentials_in_a_remote_url_never_reach_a_reason(self) -> None:
        assert redact_url("fatal: unable to access 'https://bot:ghp_SECRET@github.com/acme/pm.git/'") == (
            "fatal: unable to access 'https://github.com/acme/pm.git/'"
        )


@pytest.mark.parametrize(
    ("reason", "shown"),
    [
        ("a page titled 'INC-1' was not published by incidentbot: rename or move it, then retry the item.", "item"),
        ("git push failed: [rejected]", "[rejected]"),
    ],
)
def test_the_channel_line_of_a_dead_publication_ends_its_reason_with_one_full_stop(reason: str, shown: str) -> None:
    """A reason ending with its own full stop read "... retry the item.. `incidentbot outbox ...`"."""
    item = OutboxItem(
        7,
        "publish.confluence",
        {},
        1,
        "dead",
        3,
        datetime(2026, 11, 24, tzinfo=UTC),
        reason,
        datetime(2026, 11, 24, tzinfo=UTC),
    )
    [effect] = dead_publication_notice(item, reason)
    assert f"{shown}. `incidentbot outbox --status dead` lists it (item 7);" in effect.payload["text"]
    assert ".." not in effect.payload["text"]


@pytest.mark.parametrize(("kind", "target"), [("publish.git", "Git"), ("publish.confluence", "Confluence")])
def test_a_publication_still_failing_after_an_hour_is_told_once_in_the_channel(kind: str, target: str) -> None:
    """A stale .git/index.lock (a crash mid-commit) kept a publication retried for ever, nobody told."""
    reason = "git checkout failed in /srv/pm: Unable to create '/srv/pm/.git/index.lock': File exists."
    item = OutboxItem(
        12, kind, {}, 3, "pending", 40, datetime(2026, 11, 24, tzinfo=UTC), reason, datetime(2026, 11, 24, tzinfo=UTC)
    )
    [effect] = stalled_item_notice(item, reason)
    assert (effect.kind, effect.incident_number, effect.payload) == (
        "slack.post_line",
        3,
        {
            "text": f":warning: INC-3's postmortem is still not published to {target} after an hour: git checkout "
            "failed in /srv/pm: Unable to create '/srv/pm/.git/index.lock': File exists. incidentbot keeps "
            "retrying; `incidentbot outbox` shows item 12."
        },
    )
    assert stalled_item_notice(replace(item, kind="slack.post_line"), reason) == []
