"""Every action_id, block_id and callback_id, shared by block builders and listeners."""

from __future__ import annotations

from enum import StrEnum


class ActionId(StrEnum):
    """Buttons on the pinned status message; each opens a small modal or answers at once."""

    ADD_HYPOTHESIS = "incident_add_hypothesis"
    ADD_NOTE = "incident_add_note"
    MITIGATE = "incident_mitigate"
    RESOLVE = "incident_resolve"
    SHOW_TIMELINE = "incident_show_timeline"


class CallbackId(StrEnum):
    DECLARE = "incident_declare_modal"
    COMMAND = "incident_command_modal"


class BlockId(StrEnum):
    TITLE = "declare_title"
    SEVERITY = "declare_severity"
    DESCRIPTION = "declare_description"
    TEXT = "command_text"
    ACTIONS = "incident_actions"


class InputId(StrEnum):
    TITLE = "title_input"
    SEVERITY = "severity_select"
    DESCRIPTION = "description_input"
    TEXT = "text_input"


BUTTON_VERBS: dict[ActionId, str] = {
    ActionId.ADD_HYPOTHESIS: "hypothesis",
    ActionId.ADD_NOTE: "note",
    ActionId.MITIGATE: "mitigate",
    ActionId.RESOLVE: "resolve",
}
"""Buttons that open a one-field modal whose text becomes ``/incident <verb> <text>``."""
