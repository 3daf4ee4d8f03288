"""A driver that speaks to the running bot the way Slack does (signed slash commands with a response_url
served by the fake Slack) and reads back what the bot did there."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from tests.support.bot_server import HttpResult, RunningBot
from tests.support.fake_slack import FakeSlack, blocks_errors

LEAKS = ("Traceback", "Error(", "Exception(", 'File "', "sqlalchemy", "NoneType")
"""Text that would show a user the inside of the bot."""


WORKING_ON_IT = "Working on it…"
"""The ack of a command whose work outlasts the ack budget (README: the answer follows through response_url)."""


@dataclass
class Reply:
    """An HTTP answer of the bot (how long it took is the benchmark's to measure, not a test's to judge)."""

    result: HttpResult
    followup: dict[str, Any] | None = None
    """The answer posted to the command's response_url when the ack was "Working on it…" (ack budget passed)."""

    @property
    def payload(self) -> dict[str, Any]:
        """The answer the user reads: the ack's body, or the follow-up it announced."""
        if self.followup is not None:
            return self.followup
        body = self.result.json()
        return body if isinstance(body, dict) else {}

    @property
    def text(self) -> str:
        return str(self.payload.get("text") or "")


@dataclass
class SlackDriver:
    """Drives the running bot like a Slack workspace would, and reads back what the bot did."""

    bot: RunningBot
    fake: FakeSlack

    def command(
        self,
        text: str,
        *,
        channel_id: str = "C0GENERAL",
        user_id: str = "U0ALICE",
        user_name: str = "alice",
        drain: bool = True,
        **kwargs: Any,
    ) -> Reply:
        """Send ``/incident text`` signed, with a response_url on the fake; wait for the follow-up work."""
        name = f"cmd-{time.monotonic_ns()}"
        result = self.bot.command(
            text,
            channel_id=channel_id,
            user_id=user_id,
            user_name=user_name,
            response_url=self.fake.response_url(name),
            **kwargs,
        )
        reply = Reply(result)
        if drain:
            self.bot.drain()
            if reply.text == WORKING_ON_IT:  # documented: past the ack budget the answer follows via response_url
                reply.followup = self._followup(name)
        return reply

    def _followup(self, name: str, timeout: float = 30.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            posted = [c.params for c in self.fake.calls_to("response_url") if c.path.rsplit("/", 1)[-1] == name]
            if posted:
                return posted[-1]
            time.sleep(0.05)
        raise AssertionError(f"'Working on it…' was never followed by an answer on response_url {name}")

    def ephemeral(self, text: str, **kwargs: Any) -> str:
        """Send a command; check the answer is a clean 200 ephemeral reply and return its text."""
        reply = self.command(text, **kwargs)
        assert reply.result.status == 200, reply.result.body
        assert reply.payload.get("response_type") == "ephemeral", reply.result.body
        self.assert_no_leak(reply.result.body)
        return reply.text

    def declare(self, text: str = "declare sev2 Checkout API returning 500s", **kwargs: Any) -> str:
        """Declare an incident and return the id of its new channel."""
        before = len(self.fake.calls_to("conversations.create"))
        reply = self.command(text, **kwargs)
        assert reply.result.status == 200, reply.result.body
        created = [c for c in self.fake.calls_to("conversations.create") if c.ok][before:]
        assert created, [c.describe() for c in self.fake.calls]
        return str(created[-1].response["channel"]["id"])  # type: ignore[index]

    def responses(self) -> list[dict[str, Any]]:
        """Everything the bot posted to response_urls, oldest first."""
        return [c.params for c in self.fake.calls_to("response_url")]

    def response_texts(self) -> str:
        return "\n".join(str(p.get("text") or "") for p in self.responses())

    def status_ts(self, channel_id: str) -> str:
        """The ts of the pinned status message of an incident channel."""
        pins = self.fake.channel(channel_id).pins
        assert len(pins) == 1, pins
        return next(iter(pins))

    def posted(self, channel_id: str) -> list[dict[str, Any]]:
        """Parameters of every successful chat.postMessage into ``channel_id``."""
        return [
            c.params for c in self.fake.calls_to("chat.postMessage") if c.ok and c.params.get("channel") == channel_id
        ]

    def lines(self, channel_id: str) -> list[str]:
        """Every line of every message accepted in ``channel_id``, oldest first: the outbox posts the lines
        waiting for a channel together, one line each, as one message (``SlackDeliverer.deliver_lines``)."""
        return [line for posted in self.posted(channel_id) for line in str(posted.get("text") or "").split("\n")]

    def assert_calls_ok(self, *methods: str) -> None:
        """Every recorded call of ``methods`` was accepted by the fake Slack."""
        for method in methods:
            failed = [c.describe() for c in self.fake.calls_to(method) if not c.ok]
            assert not failed, failed

    def assert_slack_saw_no_internals(self) -> None:
        """Nothing the bot sent to Slack showed internals; every Web API call named only arguments Slack
        documents for its method, and the fake gave only answers Slack documents."""
        for call in self.fake.calls:
            if call.method != "upload_url":  # the postmortem file's bytes, not a message
                self.assert_no_leak(json.dumps(call.params, ensure_ascii=False, default=str))
        assert self.fake.argument_problems() == []
        assert self.fake.nonconforming_answers() == []

    @staticmethod
    def assert_no_leak(text: str) -> None:
        """No stack trace, exception repr or internals in what a Slack user would see."""
        for leak in LEAKS:
            assert leak not in text, f"{leak!r} leaked to Slack: {text[:500]}"

    @staticmethod
    def assert_valid_blocks(blocks: Any, max_blocks: int = 50) -> None:
        """``blocks`` would be accepted by Slack (the fake's Block Kit checks)."""
        errors = blocks_errors(blocks, max_blocks)
        assert not errors, errors


def channel_texts(driver: SlackDriver, channel_id: str) -> str:
    """The text of every message the bot posted into ``channel_id``, one per line, oldest first."""
    return "\n".join(str(p.get("text") or "") for p in driver.posted(channel_id))
