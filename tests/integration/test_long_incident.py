"""Slack views of a long incident are bounded: the latest 100 entries and the count, whatever its length.

An incident of 10,000 entries used to build its whole timeline for ``/incident timeline`` (about 1.9 s
on a loaded machine, close to Slack's 3 s). The whole timeline stays in the CLI and the postmortem.
"""

from __future__ import annotations

import json
from datetime import timedelta

import sqlalchemy as sa

from bot.store.tables import IncidentRow, TimelineEntryRow
from tests.support.slack_driver import SlackDriver


def _add_notes(slack: SlackDriver, number: int, count: int) -> None:
    """Append ``count`` notes to INC-``number`` in one bulk insert (typing them would take minutes)."""
    store = slack.bot.usecases.store
    incident = slack.bot.usecases.incidents.get(number)
    start = incident.declared_at
    with store.engine.begin() as connection:
        row_id = connection.execute(sa.select(IncidentRow.id).where(IncidentRow.number == number)).scalar_one()
        rows = [
            {
                "incident_id": row_id,
                "kind": "note",
                "occurred_at": start + timedelta(seconds=n + 1),
                "recorded_at": start + timedelta(seconds=n + 1),
                "actor": "U0BOB",
                "text": f"observation {n:05d}",
                "data": {},
            }
            for n in range(count)
        ]
        connection.execute(sa.insert(TimelineEntryRow), rows)


class TestTimelineOfALongIncident:
    def test_the_slash_command_shows_the_latest_100_of_10001_entries(self, slack: SlackDriver) -> None:
        """The view names the count and where the rest is; its lines are the newest 100, in order."""
        slack.command("declare sev2 Noisy incident")
        _add_notes(slack, 1, 10_000)
        reply = slack.command("INC-1 timeline")
        assert reply.result.status == 200
        blocks = reply.payload["blocks"]
        assert blocks[1] == {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": "The latest 100 of 10,001 entries. The whole timeline: `incidentbot timeline INC-1` "
                    "or the postmortem draft (`/incident postmortem`).",
                }
            ],
        }
        shown = "\n".join(b["text"]["text"] for b in blocks if b["type"] == "section")
        observations = [int(part.split()[0]) for part in shown.split("observation ")[1:]]
        assert observations == list(range(9_900, 10_000))

    def test_a_short_incident_shows_everything_without_a_count(self, slack: SlackDriver) -> None:
        """Under 100 entries the view is the whole timeline and says nothing about a remainder."""
        slack.command("declare sev2 Quiet incident")
        _add_notes(slack, 1, 98)
        reply = slack.command("INC-1 timeline")
        blocks = reply.payload["blocks"]
        assert [b["type"] for b in blocks].count("context") == 0
        shown = "\n".join(b["text"]["text"] for b in blocks if b["type"] == "section")
        assert "Incident declared (sev2): Quiet incident" in shown
        assert shown.count("observation ") == 98

    def test_the_timeline_button_is_bounded_too(self, slack: SlackDriver) -> None:
        """The status message's Timeline button answers with the same bounded view."""
        from bot.slack.ids import ActionId
        from tests.support import signing

        slack.command("declare sev2 Noisy incident")
        _add_notes(slack, 1, 500)
        url = slack.fake.response_url("timeline-button-long")
        body = signing.block_actions_body(ActionId.SHOW_TIMELINE, value="1", response_url=url)
        assert slack.bot.interaction(body).status == 200
        slack.bot.drain()
        [answer] = [c.params for c in slack.fake.calls_to("response_url") if c.path.endswith("/timeline-button-long")]
        text = json.dumps(answer["blocks"])
        assert "The latest 100 of 501 entries." in text
        assert "observation 00399" not in text and "observation 00400" in text and "observation 00499" in text
