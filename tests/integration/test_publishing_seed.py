"""The seed scenario from resolve to published, through the real server: signed slash commands, the fake
Slack, the fake Confluence Cloud and a bare Git repository; a second ``postmortem publish`` changes nothing."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import pytest

from bot.cli.demo import SEED_STEPS
from bot.domain.model import EntryKind
from tests.support.bot_server import RunningBot, running_bot
from tests.support.fake_confluence import EMAIL, TOKEN, FakeConfluence
from tests.support.fake_slack import FakeSlack
from tests.support.fake_tracker_http import serving

SEED_DATE = (datetime.now(UTC) - timedelta(days=2)).date()
USERS = {"alice": "U0ALICE", "bob": "U0BOB", "carol": "U0CAROL", "dave": "U0DAVE"}
FILE = "postmortems/INC-1-cdn-edge-returning-502s-above-the-5-alerting-threshold.md"
TITLE = "INC-1 Postmortem: CDN edge returning 502s above the 5% alerting threshold"


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout


@pytest.fixture()
def bare_and_clone(tmp_path: Path) -> tuple[Path, Path]:
    bare, clone = tmp_path / "postmortems.git", tmp_path / "clone"
    subprocess.run(["git", "init", "--quiet", "--bare", "-b", "main", str(bare)], check=True)
    subprocess.run(["git", "clone", "--quiet", str(bare), str(clone)], check=True, capture_output=True)
    git(
        clone,
        "-c",
        "user.name=Ann",
        "-c",
        "user.email=a@example.com",
        "commit",
        "--quiet",
        "--allow-empty",
        "-m",
        "start",
    )
    git(clone, "push", "--quiet", "origin", "main")
    return bare, clone


@pytest.fixture()
def confluence() -> Iterator[FakeConfluence]:
    with serving(FakeConfluence()) as fake:
        yield fake


@pytest.fixture()
def publishing_bot(
    database_url: str, fake_slack: FakeSlack, confluence: FakeConfluence, bare_and_clone: tuple[Path, Path]
) -> Iterator[RunningBot]:
    with running_bot(
        database_url,
        fake_slack.base_url,
        CONFLUENCE_URL=confluence.url,
        CONFLUENCE_SPACE="OPS",
        CONFLUENCE_USER=EMAIL,
        CONFLUENCE_API_TOKEN=TOKEN,
        POSTMORTEM_GIT_REPO=str(bare_and_clone[1]),
    ) as running:
        yield running


def _say(bot: RunningBot, text: str, user: str, channel_id: str) -> dict[str, Any]:
    """The ephemeral answer to a signed slash command, once what it queued was delivered."""
    result = bot.command(text, user_id=USERS[user], user_name=user, channel_id=channel_id)
    assert result.status == 200, result.body
    bot.drain()
    answer: dict[str, Any] = json.loads(result.body)
    return answer


def test_the_seed_from_resolve_to_published(
    publishing_bot: RunningBot, fake_slack: FakeSlack, confluence: FakeConfluence, bare_and_clone: tuple[Path, Path]
) -> None:
    bot, (bare, _) = publishing_bot, bare_and_clone
    channel_id = "C0GENERAL"
    for step in SEED_STEPS:
        text = step.slack_text.replace("--at ", f"--at {SEED_DATE.isoformat()} ", 1)
        _say(bot, text, str(step.actor.name), channel_id)
        if step.text.startswith("declare"):
            channel_id = fake_slack.channel(fake_slack.wait_for("conversations.create")[0].params["name"]).id

    reply = _say(bot, "postmortem publish", "alice", channel_id)["text"]
    assert (
        reply
        == "Publishing the postmortem of INC-1 to Confluence and Git; each publication is recorded on its timeline."
    )

    (page,) = confluence.pages.values()
    assert (page["title"], page["version"]["number"], page["space"]) == (TITLE, 1, "OPS")
    for row in (
        "<tr><td>Time to assemble the IRT</td><td>8 min</td>",
        "<tr><td>Time to root cause</td><td>23 min</td>",
        "<tr><td>Time to mitigate</td><td>53 min</td>",
        "<tr><td>Time to resolve</td><td>1h 3m</td>",
        "<td>canary deployment for firewall changes</td>",
    ):
        assert row in page["body"]
    document = git(bare, "show", f"main:{FILE}")
    assert "| Time to mitigate | 53 min |" in document and document.startswith(
        "# INC-1 Postmortem: CDN edge returning 502s above the 5% alerting threshold\n"
    )
    assert git(bare, "log", "--format=%an|%s", "main").splitlines() == [
        "incidentbot|INC-1: postmortem published by incidentbot",
        "Ann|start",
    ]
    _, entries = bot.usecases.incidents.timeline(1)
    published = [
        (e.actor, e.data["target"], e.data["version"]) for e in entries if e.kind is EntryKind.POSTMORTEM_PUBLISHED
    ]
    head = git(bare, "rev-parse", "main").strip()
    assert published == [("incidentbot", "confluence", "1"), ("incidentbot", "git", head)]
    lines = [
        str(c.params["text"])
        for c in fake_slack.calls_to("chat.postMessage")
        if c.ok and c.params.get("channel") == channel_id and ":page_facing_up:" in str(c.params.get("text"))
    ]
    page_url = f"{confluence.url}/wiki/spaces/OPS/pages/65601/{quote_plus(TITLE)}"
    assert lines == [
        f":page_facing_up: INC-1's postmortem is published to Confluence (version 1): {page_url}",
        f":page_facing_up: INC-1's postmortem is published to Git (version {head}): {bare} main:{FILE}",
    ]
    timeline = json.dumps(_say(bot, "timeline", "alice", channel_id)["blocks"])
    assert f"Postmortem published to Confluence (version 1): {confluence.url}/wiki/spaces/OPS/pages/65601/" in timeline
    assert f"Postmortem published to Git (version {head}): {bare} main:{FILE}" in timeline

    # Published again with nothing new: the same page at the same version, no commit, nothing recorded.
    _say(bot, "postmortem publish", "alice", channel_id)
    assert (len(confluence.pages), page["version"]["number"], len(confluence.calls("update"))) == (1, 1, 0)
    assert git(bare, "rev-list", "--count", "main").strip() == "2"
    _, entries = bot.usecases.incidents.timeline(1)
    assert len([e for e in entries if e.kind is EntryKind.POSTMORTEM_PUBLISHED]) == 2
    assert bot.usecases.outbox.items() == []
    assert len([c for c in fake_slack.calls_to("chat.postMessage") if ":page_facing_up:" in str(c.params)]) == 2


def test_a_broken_team_template_is_refused_when_asked_and_nothing_is_queued(
    database_url: str, fake_slack: FakeSlack, confluence: FakeConfluence, tmp_path: Path
) -> None:
    (tmp_path / "postmortem.confluence.j2").write_text("<p>{% if %}</p>")
    with running_bot(
        database_url,
        fake_slack.base_url,
        CONFLUENCE_URL=confluence.url,
        CONFLUENCE_SPACE="OPS",
        CONFLUENCE_USER=EMAIL,
        CONFLUENCE_API_TOKEN=TOKEN,
        INCIDENT_TEMPLATES_DIR=str(tmp_path),
    ) as bot:
        _say(bot, "declare sev2 CDN edge returning 502s", "alice", "C0GENERAL")
        reply = _say(bot, "INC-1 postmortem publish", "alice", "C0GENERAL")["text"]
        assert reply == (
            "Template `postmortem.confluence.j2` has a syntax error on line 1: "
            "Expected an expression, got 'end of statement block'"
        )
        assert [i.kind for i in bot.usecases.outbox.items() if i.kind.startswith("publish.")] == []
        assert confluence.requests == []


def test_without_a_target_publish_says_what_to_set(database_url: str, fake_slack: FakeSlack) -> None:
    with running_bot(database_url, fake_slack.base_url) as bot:
        _say(bot, "declare sev2 CDN edge returning 502s", "alice", "C0GENERAL")
        reply = _say(bot, "INC-1 postmortem publish", "alice", "C0GENERAL")["text"]
        assert reply == (
            "No publishing target is configured, so the postmortem cannot be published: set CONFLUENCE_URL, "
            "CONFLUENCE_SPACE, CONFLUENCE_USER and CONFLUENCE_API_TOKEN, or POSTMORTEM_GIT_REPO (README: "
            "Publishing the postmortem). `postmortem` alone uploads the draft to the channel."
        )


def test_a_refused_publication_is_told_in_the_channel(
    database_url: str, fake_slack: FakeSlack, confluence: FakeConfluence
) -> None:
    with running_bot(
        database_url,
        fake_slack.base_url,
        CONFLUENCE_URL=confluence.url,
        CONFLUENCE_SPACE="OPS",
        CONFLUENCE_USER=EMAIL,
        CONFLUENCE_API_TOKEN="revoked-token",
    ) as bot:
        _say(bot, "declare sev2 CDN edge returning 502s", "alice", "C0GENERAL")
        channel_id = fake_slack.channel(fake_slack.wait_for("conversations.create")[0].params["name"]).id
        _say(bot, "postmortem publish", "alice", channel_id)
        (dead,) = bot.usecases.outbox.items("dead")
        lines = [
            str(c.params["text"])
            for c in fake_slack.calls_to("chat.postMessage")
            if c.ok and c.params.get("channel") == channel_id and ":warning:" in str(c.params.get("text"))
        ]
        assert lines == [
            ":warning: INC-1's postmortem could not be published to Confluence: GET /content: Confluence refused "
            "(HTTP 401, the account email or the API token is not valid: check CONFLUENCE_USER and "
            f"CONFLUENCE_API_TOKEN): Unauthorized. `incidentbot outbox --status dead` lists it (item {dead.id}); "
            f"`incidentbot outbox --retry {dead.id}` publishes it once the cause is fixed."
        ]
