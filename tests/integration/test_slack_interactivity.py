"""Interactivity: the declare modal and its submission, the status message's buttons and the modals
behind them, and the Timeline button; every payload signed and posted to /slack/events."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from bot.slack.ids import BUTTON_VERBS, ActionId, BlockId, CallbackId, InputId
from tests.support import signing

if TYPE_CHECKING:
    from tests.support.slack_driver import SlackDriver


def _declare_values(
    title: str | None, severity: str | None = "sev3", description: str | None = None
) -> dict[str, dict[str, dict[str, Any]]]:
    return {
        BlockId.TITLE: {InputId.TITLE: signing.text_input(title)},
        BlockId.SEVERITY: {InputId.SEVERITY: signing.static_select(severity)},
        BlockId.DESCRIPTION: {InputId.DESCRIPTION: signing.text_input(description)},
    }


def _command_submission(verb: str, text: str | None, incident: int = 1, user_id: str = "U0CAROL") -> str:
    return signing.view_submission_body(
        CallbackId.COMMAND,
        {BlockId.TEXT: {InputId.TEXT: signing.text_input(text)}},
        private_metadata=json.dumps({"verb": verb, "incident": incident}),
        user_id=user_id,
        user_name="carol",
    )


class TestDeclareModal:
    def test_the_modal_opened_by_a_bare_command_declares_on_submit(self, slack: SlackDriver) -> None:
        """`/incident` opens the modal; submitting it declares; the declarer hears back where they were."""
        slack.command("", channel_id="C0GENERAL")
        view = slack.fake.calls_to("views.open")[0].params["view"]
        body = signing.view_submission_body(
            view["callback_id"],
            _declare_values("Search results empty", "sev1", "Since the 14:00 deploy"),
            private_metadata=view["private_metadata"],
        )
        result = slack.bot.interaction(body)
        slack.bot.drain()

        assert result.status == 200 and result.body == ""
        incident = slack.bot.usecases.incidents.get(1)
        assert (incident.title, incident.severity.value, incident.description) == (
            "Search results empty",
            "sev1",
            "Since the 14:00 deploy",
        )
        created = slack.fake.calls_to("conversations.create")[0]
        assert created.params["name"] == "inc-1-search-results-empty"
        assert slack.fake.calls_to("pins.add")
        [told] = slack.fake.ephemerals
        assert told["channel"] == "C0GENERAL" and told["to_user"] == "U0ALICE"
        assert f"<#{incident.channel_id}>" in told["text"]

    @pytest.mark.parametrize("title", [None, "", "   ", "x" * 501])
    def test_a_missing_or_oversized_title_is_answered_with_field_errors(
        self, slack: SlackDriver, title: str | None
    ) -> None:
        """The modal stays open with an error on the title field; nothing is declared or sent to Slack."""
        body = signing.view_submission_body(CallbackId.DECLARE, _declare_values(title))
        result = slack.bot.interaction(body)
        slack.bot.drain()
        assert result.status == 200
        answer = result.json()
        assert answer["response_action"] == "errors"
        assert set(answer["errors"]) == {BlockId.TITLE}
        assert slack.bot.usecases.incidents.summaries() == []
        assert [c.method for c in slack.fake.calls if c.method != "auth.test"] == []

    def test_a_submission_without_a_severity_uses_the_default(self, slack: SlackDriver) -> None:
        """No severity chosen means sev3."""
        body = signing.view_submission_body(CallbackId.DECLARE, _declare_values("Slow logins", None))
        slack.bot.interaction(body)
        slack.bot.drain()
        assert slack.bot.usecases.incidents.get(1).severity.value == "sev3"


class TestStatusButtons:
    @pytest.mark.parametrize("action_id", list(BUTTON_VERBS))
    def test_each_button_opens_its_modal(self, slack: SlackDriver, action_id: ActionId) -> None:
        """Hypothesis, note, mitigate and resolve open a one-field modal for that verb and incident."""
        channel_id = _channel_offering(slack, action_id)
        trigger = signing.new_trigger_id()
        result = slack.bot.interaction(
            signing.block_actions_body(
                action_id, value="1", channel_id=channel_id, message_ts=slack.status_ts(channel_id), trigger_id=trigger
            )
        )
        slack.bot.drain()
        assert result.status == 200
        [opened] = slack.fake.calls_to("views.open")
        assert opened.ok, opened.describe()
        assert opened.params["trigger_id"] == trigger
        view = opened.params["view"]
        update = action_id is ActionId.POST_UPDATE  # the status update form has four fields (issue 15)
        assert view["callback_id"] == (CallbackId.UPDATE if update else CallbackId.COMMAND)
        assert json.loads(view["private_metadata"]) == {"verb": BUTTON_VERBS[action_id], "incident": 1}
        assert view["blocks"][-1]["block_id"] == (BlockId.UPDATE_NEXT if update else BlockId.TEXT)

    def test_the_timeline_button_answers_with_the_timeline(self, slack: SlackDriver) -> None:
        """The Timeline button replies to the clicker only, through response_url, with valid blocks."""
        channel_id = slack.declare()
        slack.command("hypothesis external DDoS", channel_id=channel_id)
        url = slack.fake.response_url("timeline-button")
        slack.bot.interaction(
            signing.block_actions_body(ActionId.SHOW_TIMELINE, value="1", channel_id=channel_id, response_url=url)
        )
        slack.bot.drain()
        [answer] = [c.params for c in slack.fake.calls_to("response_url") if c.path.endswith("/timeline-button")]
        assert answer["response_type"] == "ephemeral" and answer["replace_original"] is False
        slack.assert_valid_blocks(answer["blocks"])
        assert "Hypothesis #1: external DDoS" in json.dumps(answer["blocks"])

    @pytest.mark.parametrize(
        ("value", "expected"), [("999", "There is no incident INC-999"), ("not-a-number", "Something went wrong")]
    )
    def test_a_button_for_a_missing_incident_is_explained(self, slack: SlackDriver, value: str, expected: str) -> None:
        """A stale or garbled button tells the clicker ephemerally, without internals, and opens nothing."""
        channel_id = slack.declare()
        result = slack.bot.interaction(
            signing.block_actions_body(ActionId.ADD_NOTE, value=value, channel_id=channel_id)
        )
        slack.bot.drain()
        assert result.status == 200
        assert not slack.fake.calls_to("views.open")
        [told] = slack.fake.ephemerals
        assert expected in told["text"] and told["to_user"] == "U0ALICE"
        slack.assert_no_leak(told["text"])


FORM_FALLBACKS = {
    ActionId.ADD_HYPOTHESIS: (
        "I could not open the hypothesis form; type `/incident INC-1 hypothesis &lt;text&gt;` instead."
    ),
    ActionId.ADD_NOTE: "I could not open the note form; type `/incident INC-1 note &lt;text&gt;` instead.",
    ActionId.POST_UPDATE: (
        "I could not open the update form; type `/incident INC-1 update &lt;what we know, what we are doing&gt; "
        "[--next 30m] (a status update for stakeholders)` instead."
    ),
    ActionId.MITIGATE: "I could not open the mitigate form; type `/incident INC-1 mitigate &lt;text&gt;` instead.",
    ActionId.MONITOR: (
        "I could not open the monitor form; type `/incident INC-1 monitor &lt;what you watch&gt;` instead."
    ),
    ActionId.RESOLVE: "I could not open the resolve form; type `/incident INC-1 resolve [summary]` instead.",
}
"""What the clicker reads when Slack will not open a button's form (mrkdwn: ``<`` is sent as ``&lt;``)."""


def _channel_offering(slack: SlackDriver, action_id: ActionId) -> str:
    """A new incident's channel whose status message offers ``action_id`` (Monitor needs a fix to watch)."""
    channel_id = slack.declare()
    if action_id is ActionId.MONITOR:
        slack.command("mitigate restarted the checkout pods", channel_id=channel_id)
    return channel_id


def _click(slack: SlackDriver, action_id: ActionId, channel_id: str, response_url: str) -> int:
    result = slack.bot.interaction(
        signing.block_actions_body(
            action_id,
            value="1",
            channel_id=channel_id,
            message_ts=slack.status_ts(channel_id),
            response_url=response_url,
        )
    )
    slack.bot.drain()
    return result.status


class TestFormsSlackWillNotOpen:
    def test_every_button_that_opens_a_form_has_a_fallback_here(self) -> None:
        """The parametrised tests below cover every button of the status message that opens a form."""
        assert set(FORM_FALLBACKS) == set(BUTTON_VERBS)

    @pytest.mark.parametrize("action_id", list(FORM_FALLBACKS))
    def test_the_clicker_is_told_the_command_to_type_through_response_url(
        self, slack: SlackDriver, action_id: ActionId
    ) -> None:
        """views.open answers 500: the click gets 200, and the clicker reads, through the click's
        response_url (ephemeral, the status message left alone), the command that does what the form would."""
        channel_id = _channel_offering(slack, action_id)
        slack.fake.fail_next("views.open", "fatal_error", status=500)
        url = slack.fake.response_url("failed-form")
        assert _click(slack, action_id, channel_id, url) == 200
        assert [c.ok for c in slack.fake.calls_to("views.open")] == [False]
        answers = [c.params for c in slack.fake.calls_to("response_url") if c.path.endswith("/failed-form")]
        assert answers == [{"text": FORM_FALLBACKS[action_id], "response_type": "ephemeral", "replace_original": False}]
        assert slack.fake.ephemerals == []
        assert slack.bot.usecases.incidents.timeline(1)[1][-1].kind.value == (
            "mitigation" if action_id is ActionId.MONITOR else "declared"
        )

    @pytest.mark.parametrize("action_id", list(FORM_FALLBACKS))
    def test_when_the_response_url_fails_too_the_clicker_gets_an_ephemeral_note(
        self, slack: SlackDriver, action_id: ActionId
    ) -> None:
        """views.open answers 500 and the response_url a proxy's 502: the same words come as chat.postEphemeral
        to the clicker in the incident channel."""
        channel_id = _channel_offering(slack, action_id)
        slack.fake.fail_next("views.open", "fatal_error", status=500)
        slack.fake.fail_next_raw("response_url", 502, "<html>Bad Gateway</html>")
        assert _click(slack, action_id, channel_id, slack.fake.response_url("failed-form")) == 200
        [told] = slack.fake.ephemerals
        assert (told["channel"], told["to_user"], told["text"]) == (channel_id, "U0ALICE", FORM_FALLBACKS[action_id])

    def test_a_bare_incident_command_tells_the_declare_command_the_same_way(self, slack: SlackDriver) -> None:
        """`/incident` alone while views.open answers 500: the declare command to type, through response_url."""
        slack.fake.fail_next("views.open", "fatal_error", status=500)
        reply = slack.command("")
        assert reply.result.status == 200
        assert slack.response_texts() == (
            "I could not open the declare form; type `/incident declare [sev1-4] &lt;title&gt;` instead."
        )


class TestCommandModal:
    def test_a_submitted_hypothesis_updates_the_incident_and_its_channel(self, slack: SlackDriver) -> None:
        """The modal's text becomes `/incident INC-1 hypothesis <text>`, with the usual Slack updates."""
        channel_id = slack.declare()
        status_ts = slack.status_ts(channel_id)
        result = slack.bot.interaction(_command_submission("hypothesis", "external DDoS attack"))
        slack.bot.drain()
        assert result.status == 200 and result.body == ""
        incident = slack.bot.usecases.incidents.get(1)
        assert [h.text for h in incident.hypotheses] == ["external DDoS attack"]
        [update] = [c.params for c in slack.fake.calls_to("chat.update") if c.params["ts"] == status_ts]
        assert "#1 external DDoS attack" in json.dumps(update["blocks"])
        assert slack.posted(channel_id)[-1]["text"].startswith("<@U0CAROL>: INC-1")

    def test_resolving_from_the_modal_uploads_the_postmortem(self, slack: SlackDriver) -> None:
        """Resolve's summary is optional; resolving from the modal shares the postmortem draft."""
        channel_id = slack.declare()
        slack.bot.interaction(_command_submission("resolve", None))
        slack.bot.drain()
        assert slack.bot.usecases.incidents.get(1).status.value == "resolved"
        uploads = [(f.filename, f.channel_id) for f in slack.fake.uploaded_files]
        assert uploads == [("INC-1-postmortem.md", channel_id)]

    @pytest.mark.parametrize(
        ("verb", "text", "setup", "expected"),
        [
            ("hypothesis", "reject 9", [], "#9"),
            ("resolve", "again", ["resolve"], "already resolved"),
            ("note", None, [], "`note` needs some text"),
        ],
    )
    def test_a_refused_submission_keeps_the_modal_open_with_the_reason(
        self, slack: SlackDriver, verb: str, text: str | None, setup: list[str], expected: str
    ) -> None:
        """Illegal or empty input answers response_action errors on the text field and changes nothing."""
        channel_id = slack.declare()
        for step in setup:
            slack.command(step, channel_id=channel_id)
        lines = len(slack.posted(channel_id))
        result = slack.bot.interaction(_command_submission(verb, text))
        slack.bot.drain()
        answer = result.json()
        assert answer["response_action"] == "errors"
        assert expected in answer["errors"][BlockId.TEXT]
        slack.assert_no_leak(answer["errors"][BlockId.TEXT])
        # A field error is plain text: no mention markup or mrkdwn entities shown as typed.
        assert not any(markup in answer["errors"][BlockId.TEXT] for markup in ("<@", "<#", "<!", "&lt;", "&amp;"))
        assert len(slack.posted(channel_id)) == lines
