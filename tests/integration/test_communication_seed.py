"""The seed scenario told to the people outside the channel (issue 15), through the real server on SQLite and
PostgreSQL: signed slash commands, the fake Slack and the fake Statuspage on 127.0.0.1.

The WAF incident of the seed (``bot.cli.demo.SEED_STEPS``) with three status updates and a public status-page
incident opened at 13:51, updated when the cause is found and when the fix is in, and resolved by the resolve:
the announcement says "resolved", its thread holds the three updates, and the status page received only the
public text people typed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.cli.demo import SEED_STEPS
from bot.domain.model import EntryKind
from tests.support.bot_server import RunningBot, running_bot
from tests.support.fake_slack import FakeSlack
from tests.support.fake_statuspage import API_KEY, PAGE_ID, FakeStatuspage
from tests.support.fake_tracker_http import serving

SEED_DATE = (datetime.now(UTC) - timedelta(days=2)).date()
USERS = {"alice": "U0ALICE", "bob": "U0BOB", "carol": "U0CAROL", "dave": "U0DAVE"}
ANNOUNCE = "C0GENERAL"
CATALOGUE = """services:
  cdn-edge:
    slo: 99.95
    statuspage_components: [cmpcdnedge03]
"""
OPEN = "Some visitors see errors loading pages. We are investigating."
IDENTIFIED = "We found the cause and are rolling back a recent change."
MONITORING = "The change is rolled back and pages load normally. We are monitoring."
COMMUNICATION = {
    # after the seed step at this time (the last one of that minute), these commands, by alice, the lead
    "13:50": [
        f"statuspage open major service {OPEN}",
        "update 502s on half of the CDN edge; the IRT is assembled and investigating --next 30m",
    ],
    "14:05": [
        "update Cause found: the new WAF rule spins the edge CPUs; rolling it back --next 30m",
        f"statuspage update identified {IDENTIFIED}",
    ],
    "14:35": [
        "update WAF rule rolled back globally; 502s are back within the SLO --next 15m",
        f"statuspage update monitoring {MONITORING}",
    ],
}


@pytest.fixture()
def statuspage() -> Iterator[FakeStatuspage]:
    with serving(FakeStatuspage()) as fake:
        yield fake


@pytest.fixture()
def communicating_bot(
    database_url: str, fake_slack: FakeSlack, statuspage: FakeStatuspage, tmp_path: Path
) -> Iterator[RunningBot]:
    catalogue = tmp_path / "slos.yml"
    catalogue.write_text(CATALOGUE)
    with running_bot(
        database_url,
        fake_slack.base_url,
        STATUSPAGE_API_KEY=API_KEY,
        STATUSPAGE_PAGE_ID=PAGE_ID,
        STATUSPAGE_URL=statuspage.url,
        INCIDENT_SLO_FILE=str(catalogue),
    ) as running:
        yield running


def _say(bot: RunningBot, text: str, user: str, channel_id: str) -> dict[str, Any]:
    result = bot.command(text, user_id=USERS[user], user_name=user, channel_id=channel_id)
    assert result.status == 200, result.body
    bot.drain()
    answer: dict[str, Any] = json.loads(result.body)
    return answer


def test_the_seed_keeps_stakeholders_and_the_status_page_told(
    communicating_bot: RunningBot, fake_slack: FakeSlack, statuspage: FakeStatuspage
) -> None:
    bot, channel_id = communicating_bot, "C0GENERAL"
    for index, step in enumerate(SEED_STEPS):
        text = step.slack_text.replace("--at ", f"--at {SEED_DATE.isoformat()} ", 1)
        _say(bot, text, str(step.actor.name), channel_id)
        if step.text.startswith("declare"):
            channel_id = fake_slack.channel(fake_slack.wait_for("conversations.create")[0].params["name"]).id
        last_of_minute = index + 1 == len(SEED_STEPS) or SEED_STEPS[index + 1].time != step.time
        for command in COMMUNICATION.get(step.time, []) if last_of_minute else []:
            answer = _say(bot, command, "alice", channel_id)
            assert "text" in answer and not answer["text"].startswith(":warning:"), answer

    # The status page: one incident, the public texts in order, resolved with the resolve, components restored.
    (page_incident,) = statuspage.incidents.values()
    assert (page_incident["name"], page_incident["impact_override"], page_incident["status"]) == (
        OPEN,
        "major",
        "resolved",
    )
    assert [(u["status"], u["body"]) for u in reversed(page_incident["incident_updates"])] == [
        ("investigating", OPEN),
        ("identified", IDENTIFIED),
        ("monitoring", MONITORING),
        ("resolved", "This incident has been resolved."),
    ]
    assert statuspage.components["cmpcdnedge03"] == "operational"
    sent = json.dumps([r.body for r in statuspage.requests])
    for internal in ("502", "WAF", "DDoS", "CPU", "spin", "edge servers", "rolled back globally", "cdn-edge"):
        assert internal not in sent

    # The announcement: resolved, and its thread holds the three updates in order.
    messages = fake_slack.channel(ANNOUNCE).messages
    (announcement,) = [m for m in messages if m.get("blocks") and m.get("thread_ts") in (None, m["ts"])]
    text = announcement["blocks"][0]["text"]["text"]
    assert text.startswith(":red_circle: *INC-1* (sev1) · *resolved* ")
    assert " after 1h 3m · Lead: <@U0ALICE>\n" in text
    thread = [m["text"] for m in messages if m.get("thread_ts") == announcement["ts"] and m["ts"] != announcement["ts"]]
    assert [t.split("\n")[1] for t in thread] == [
        "502s on half of the CDN edge; the IRT is assembled and investigating",
        "Cause found: the new WAF rule spins the edge CPUs; rolling it back",
        "WAF rule rolled back globally; 502s are back within the SLO",
    ]
    assert [t.split("\n")[0] for t in thread] == [
        ":loudspeaker: *INC-1 status update* (sev1, investigating) from <@U0ALICE>:",
        ":loudspeaker: *INC-1 status update* (sev1, investigating) from <@U0ALICE>:",
        ":loudspeaker: *INC-1 status update* (sev1, mitigated) from <@U0ALICE>:",
    ]

    _, entries = bot.usecases.incidents.timeline(1)
    assert sum(e.kind is EntryKind.UPDATE for e in entries) == 3
    published = sorted((e for e in entries if e.kind is EntryKind.STATUSPAGE), key=lambda e: e.recorded_at)
    assert [e.data.get("action") for e in published] == [  # in the order typed (the resolve's is backdated with it)
        "open",
        "update",
        "update",
        "resolve",
    ]
    assert bot.usecases.outbox.items("dead") == []
