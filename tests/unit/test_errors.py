"""Domain errors carry the sentence the user sees, and for usage errors the usage line."""

from __future__ import annotations

from bot.domain.errors import UsageError


class TestUsageError:
    def test_with_usage_adds_a_usage_line(self) -> None:
        """The message, then the verb's usage on its own line."""
        error = UsageError("`impact` needs a percentage.", "impact <N%>")
        assert error.full_message() == "`impact` needs a percentage.\nUsage: impact <N%>"

    def test_without_usage_is_the_message_alone(self) -> None:
        """No usage known: no empty "Usage:" line."""
        assert UsageError("Unknown command `frobnicate`.").full_message() == "Unknown command `frobnicate`."
