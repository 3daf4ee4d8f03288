"""Domain errors carry the sentence the user sees, and for usage errors the usage line."""

from __future__ import annotations

from bot.domain.errors import BotError, UsageError
from bot.domain.people import Person


class TestUsageError:
    def test_with_usage_adds_a_usage_line(self) -> None:
        """The message, then the verb's usage on its own line."""
        error = UsageError("`impact` needs a percentage.", "impact <N%>")
        assert error.full_message() == "`impact` needs a percentage.\nUsage: impact <N%>"

    def test_without_usage_is_the_message_alone(self) -> None:
        """No usage known: no empty "Usage:" line."""
        assert UsageError("Unknown command `frobnicate`.").full_message() == "Unknown command `frobnicate`."


class TestRender:
    def test_the_text_around_people_is_escaped_and_the_mentions_are_not(self) -> None:
        """A surface's escape applies to the words, never to the mention it writes for each person."""
        error = BotError(["Only ", Person("U0BOB", "bob"), " may <change> the lead & severity."])

        def escape(text: str) -> str:
            return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

        assert error.render(lambda who: f"<@{who}>", escape) == (
            "Only <@U0BOB> may &lt;change&gt; the lead &amp; severity."
        )
        assert error.user_message == "Only @bob may <change> the lead & severity."
