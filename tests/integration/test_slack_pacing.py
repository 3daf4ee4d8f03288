"""Slack's rate limits as a feature: a burst of notes through signed HTTP, with the bot's pacing on and the
fake Slack enforcing one chat.postMessage per second per channel (HTTP 429 + Retry-After beyond it).

The bounds below come from the pacer (``bot.slack.pacing``), not from a run's output:

* posts to one channel start at least 1 s apart (each waits 1 s after the previous one was answered), so
  the posts that start while a burst of D seconds lasts are at most ``floor(D) + 1``; once the burst is
  over every line is queued, and each further post carries as many waiting lines as fit in 4,000
  characters (``LINES_PER_MESSAGE_CHARS``: the 100 lines here, about 65 characters each, need 2 posts);
* a status refresh makes one ``chat.update`` and one ``conversations.setTopic`` (Tier 2: 20 a minute; the
  pacer's bucket holds a burst of 4 and refills 16 a minute), so in a window of W seconds there are at
  most ``4 + 16 W / 60`` refreshes, whatever the number of notes.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Iterator

import pytest

from tests.support.bot_server import RunningBot, running_bot
from tests.support.fake_slack import FakeSlack
from tests.support.slack_driver import SlackDriver

BURST_NOTES = 100
BURST_SECONDS = 10.0
NOTE = re.compile(r"burst note (\d{3})")


@pytest.fixture()
def paced_bot(migrated_database: None, database_url: str, fake_slack: FakeSlack) -> Iterator[RunningBot]:
    """The bot with SLACK_PACING on (the suite's default is off), on each database."""
    with running_bot(database_url, fake_slack.base_url, SLACK_PACING="on") as running:
        yield running


@pytest.fixture()
def paced(paced_bot: RunningBot, fake_slack: FakeSlack) -> SlackDriver:
    return SlackDriver(paced_bot, fake_slack)


def _lines(slack: SlackDriver, channel_id: str) -> list[str]:
    """Every line of every message accepted in ``channel_id``, in the order Slack received them."""
    return [line for posted in slack.posted(channel_id) for line in str(posted.get("text") or "").split("\n")]


class TestBurst:
    def test_100_notes_in_10_s_make_a_handful_of_posts_every_line_once_in_order_no_429(
        self, paced: SlackDriver
    ) -> None:
        channel_id = paced.declare()
        paced.fake.limit_channel_rate(1.0)  # Slack's special limit, enforced by the fake from here on
        posts_before = len(paced.fake.calls_to("chat.postMessage"))
        updates_before = len(paced.fake.calls_to("chat.update"))
        start = time.monotonic()
        for i in range(BURST_NOTES):
            due = start + i * BURST_SECONDS / BURST_NOTES
            time.sleep(max(0.0, due - time.monotonic()))
            reply = paced.command(
                f"note burst note {i:03d} edge CPU back under 40%", channel_id=channel_id, drain=False
            )
            assert reply.result.status == 200, reply.result.body
        burst = time.monotonic() - start
        paced.bot.drain()
        window = time.monotonic() - start

        numbers = [int(m.group(1)) for line in _lines(paced, channel_id) if (m := NOTE.search(line))]
        assert numbers == list(range(BURST_NOTES))  # every note once, in order: nothing lost, nothing doubled

        calls = paced.fake.calls_to("chat.postMessage")[posts_before:]
        assert [c.describe() for c in paced.fake.calls if c.status == 429] == []
        to_channel = [c for c in calls if c.params.get("channel") == channel_id]
        assert all(c.ok for c in to_channel)
        characters = sum(len(line) + 1 for line in _lines(paced, channel_id) if NOTE.search(line))
        bound = math.floor(burst) + 1 + math.ceil(characters / 4000)
        assert len(to_channel) <= bound, (len(to_channel), bound, burst)
        print(f"burst {burst:.1f} s: {len(to_channel)} posts (bound {bound}), window {window:.1f} s")

        updates = [
            c for c in paced.fake.calls_to("chat.update")[updates_before:] if c.params.get("channel") == channel_id
        ]
        assert 1 <= len(updates) <= 4 + math.floor(16 * window / 60), (len(updates), window)
        print(f"status message edits: {len(updates)} (bound {4 + math.floor(16 * window / 60)})")
        assert paced.bot.usecases.outbox.items() == []

    def test_a_429_is_still_honoured_with_pacing_on(self, paced: SlackDriver) -> None:
        """Slack may refuse anyway (another replica, a workspace-wide limit): the line is retried after
        Retry-After and arrives once."""
        channel_id = paced.declare()
        before = len(paced.fake.calls_to("chat.postMessage"))
        paced.fake.fail_next("chat.postMessage", "ratelimited", status=429, retry_after=1)
        paced.command("note after the refusal", channel_id=channel_id)
        deadline = time.monotonic() + 20
        while not any("after the refusal" in line for line in _lines(paced, channel_id)):
            assert time.monotonic() < deadline, [c.describe() for c in paced.fake.calls]
            time.sleep(0.1)
        paced.bot.drain()
        statuses = [c.status for c in paced.fake.calls_to("chat.postMessage")[before:]]
        assert statuses == [429, 200]
        assert sum("after the refusal" in line for line in _lines(paced, channel_id)) == 1


class TestTooSoon:
    def test_a_pin_whose_turn_is_far_is_queued_on_its_own_and_made_at_its_turn(self, paced: SlackDriver) -> None:
        """When pins.add's turn is further than a delivery waits, the new status message is still pinned: the
        pin alone is queued for its turn (a retried refresh edits the message and would never pin it)."""
        deliver_lines = paced.bot.worker.deliver_batch
        pacer = deliver_lines.__self__.web_api.pacer  # type: ignore[union-attr]
        assert pacer is not None
        pacer.max_wait = 0.5
        pacer.hold("pins.add", None, 3)  # as after a 429 with Retry-After: 3
        held = time.monotonic()
        channel_id = paced.declare()
        deadline = time.monotonic() + 30
        while not paced.fake.channel(channel_id).pins:
            assert time.monotonic() < deadline, [c.describe() for c in paced.fake.calls_to("pins.add")]
            time.sleep(0.1)
        assert time.monotonic() - held >= 3
        assert [c.status for c in paced.fake.calls_to("pins.add")] == [200]
        assert len(paced.fake.channel(channel_id).pins) == 1
        paced.bot.drain()
        assert paced.bot.usecases.outbox.items() == []
