"""Every action_id, block_id and callback_id, shared by block builders and listeners."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.domain.model import Status


class ActionId(StrEnum):
    """Buttons on the pinned status message; each opens a small modal or answers at once."""

    ADD_HYPOTHESIS = "incident_add_hypothesis"
    ADD_NOTE = "incident_add_note"
    POST_UPDATE = "incident_post_update"
    MITIGATE = "incident_mitigate"
    MONITOR = "incident_monitor"
    RESOLVE = "incident_resolve"
    SHOW_TIMELINE = "incident_show_timeline"


class CallbackId(StrEnum):
    DECLARE = "incident_declare_modal"
    COMMAND = "incident_command_modal"
    UPDATE = "incident_update_modal"


class BlockId(StrEnum):
    TITLE = "declare_title"
    SEVERITY = "declare_severity"
    DESCRIPTION = "declare_description"
    PRIVATE = "declare_private"
    TEXT = "command_text"
    ACTIONS = "incident_actions"
    UPDATE_STATUS = "update_status"
    UPDATE_KNOWN = "update_known"
    UPDATE_NEXT_STEPS = "update_next_steps"
    UPDATE_NEXT = "update_next"


class InputId(StrEnum):
    TITLE = "title_input"
    SEVERITY = "severity_select"
    DESCRIPTION = "description_input"
    PRIVATE = "private_checkbox"
    TEXT = "text_input"
    UPDATE_STATUS = "update_status_input"
    UPDATE_KNOWN = "update_known_input"
    UPDATE_NEXT_STEPS = "update_next_steps_input"
    UPDATE_NEXT = "update_next_select"


@dataclass(frozen=True)
class Form:
    """The one-field modal a button opens; its text becomes ``/incident INC-n <verb> <text>``."""

    verb: str
    title: str
    label: str
    optional: bool = False


@dataclass(frozen=True)
class Button:
    """A button of the pinned status message: a form to fill in, or (``form`` None) an answer at once."""

    action_id: ActionId
    text: str
    form: Form | None = None
    style: str | None = None
    shown_in: frozenset[Status] | None = None
    """The statuses in which the button is offered; None: every open status."""

    def shown(self, status: Status) -> bool:
        return status.is_open and (self.shown_in is None or status in self.shown_in)


BUTTONS: tuple[Button, ...] = (
    Button(ActionId.ADD_HYPOTHESIS, "Add hypothesis", Form("hypothesis", "Add a hypothesis", "Hypothesis")),
    Button(ActionId.ADD_NOTE, "Add note", Form("note", "Add a note", "Note")),
    Button(ActionId.POST_UPDATE, "Post update", Form("update", "Post a status update", "What we know")),
    Button(ActionId.MITIGATE, "Mitigation tried", Form("mitigate", "Mitigation tried", "What was tried?")),
    Button(
        ActionId.MONITOR,
        "Monitor the fix",
        Form("monitor", "Monitor the fix", "What are you watching?"),
        shown_in=frozenset({Status.INVESTIGATING, Status.MITIGATED}),
    ),
    Button(ActionId.SHOW_TIMELINE, "Timeline"),
    Button(ActionId.RESOLVE, "Resolve", Form("resolve", "Resolve incident", "Summary (optional)", True), "primary"),
)
"""The status message's buttons, in the order shown."""

BUTTON_VERBS: dict[ActionId, str] = {b.action_id: b.form.verb for b in BUTTONS if b.form is not None}
"""Buttons that open a one-field modal whose text becomes ``/incident <verb> <text>``."""

FORMS: dict[str, Form] = {b.form.verb: b.form for b in BUTTONS if b.form is not None}
"""The button forms by verb."""
