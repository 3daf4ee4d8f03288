"""Slack's documented size limits for messages, Block Kit and views, checked on what the bot sends.

The numbers are written out here from Slack's references (Block Kit blocks, block elements and
composition objects; chat.postMessage; views; conversations.setTopic), summarised in
/work/shared/SLACK.md, and deliberately not imported from the bot: a test must not take its
expected values from the code under test.
"""

from __future__ import annotations

from typing import Any

MESSAGE_TEXT = 40_000  # chat.postMessage: text beyond 40,000 characters is truncated
MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100  # modals and the Home tab
TEXT_OBJECT = 3_000  # any text object, section text included
SECTION_FIELDS = 10
SECTION_FIELD_TEXT = 2_000
HEADER_TEXT = 150
CONTEXT_ELEMENTS = 10
ACTIONS_ELEMENTS = 25
BUTTON_TEXT = 75
BUTTON_VALUE = 2_000
ID_LENGTH = 255  # action_id, block_id, callback_id
VIEW_TITLE = 24  # modal title, submit, close
PRIVATE_METADATA = 3_000
INPUT_LABEL = 2_000
PLACEHOLDER = 150
OPTION_TEXT = 75
OPTION_VALUE = 150
INPUT_MAX_LENGTH = 3_000  # plain_text_input max_length
TOPIC = 250  # conversations.setTopic

SPECIAL_MENTIONS = ("<!channel>", "<!here>", "<!everyone>")


def _text(obj: Any) -> str:
    return str(obj.get("text", "")) if isinstance(obj, dict) else ""


def _too_long(errors: list[str], where: str, value: str, limit: int) -> None:
    if len(value) > limit:
        errors.append(f"{where}: {len(value)} characters > {limit}")


def _element_errors(element: dict[str, Any], where: str) -> list[str]:
    errors: list[str] = []
    _too_long(errors, f"{where}/action_id", str(element.get("action_id", "")), ID_LENGTH)
    kind = element.get("type")
    if kind == "button":
        _too_long(errors, f"{where}/text", _text(element.get("text")), BUTTON_TEXT)
        _too_long(errors, f"{where}/value", str(element.get("value", "")), BUTTON_VALUE)
    if "placeholder" in element:
        _too_long(errors, f"{where}/placeholder", _text(element["placeholder"]), PLACEHOLDER)
    if kind == "plain_text_input" and int(element.get("max_length", 0)) > INPUT_MAX_LENGTH:
        errors.append(f"{where}/max_length: {element['max_length']} > {INPUT_MAX_LENGTH}")
    for i, option in enumerate(element.get("options") or []):
        _too_long(errors, f"{where}/options/{i}/text", _text(option.get("text")), OPTION_TEXT)
        _too_long(errors, f"{where}/options/{i}/value", str(option.get("value", "")), OPTION_VALUE)
    if kind in ("mrkdwn", "plain_text"):
        _too_long(errors, f"{where}/text", str(element.get("text", "")), TEXT_OBJECT)
    return errors


def block_errors(block: dict[str, Any], where: str) -> list[str]:
    """Every limit one block breaks (empty when it fits)."""
    errors: list[str] = []
    _too_long(errors, f"{where}/block_id", str(block.get("block_id", "")), ID_LENGTH)
    kind = block.get("type")
    if kind == "section":
        _too_long(errors, f"{where}/text", _text(block.get("text")), TEXT_OBJECT)
        fields = block.get("fields") or []
        if len(fields) > SECTION_FIELDS:
            errors.append(f"{where}/fields: {len(fields)} > {SECTION_FIELDS}")
        for i, item in enumerate(fields):
            _too_long(errors, f"{where}/fields/{i}", _text(item), SECTION_FIELD_TEXT)
        if "accessory" in block:
            errors += _element_errors(block["accessory"], f"{where}/accessory")
    elif kind == "header":
        _too_long(errors, f"{where}/text", _text(block.get("text")), HEADER_TEXT)
        if (block.get("text") or {}).get("type") != "plain_text":
            errors.append(f"{where}/text: a header takes plain_text")
    elif kind in ("context", "actions"):
        elements = block.get("elements") or []
        limit = CONTEXT_ELEMENTS if kind == "context" else ACTIONS_ELEMENTS
        if len(elements) > limit:
            errors.append(f"{where}/elements: {len(elements)} > {limit}")
        for i, element in enumerate(elements):
            errors += _element_errors(element, f"{where}/elements/{i}")
    elif kind == "input":
        _too_long(errors, f"{where}/label", _text(block.get("label")), INPUT_LABEL)
        errors += _element_errors(block.get("element") or {}, f"{where}/element")
    return errors


def message_errors(text: str | None, blocks: list[dict[str, Any]] | None = None) -> list[str]:
    """Every limit a message (chat.postMessage, chat.update, an ack or response_url reply) breaks."""
    errors: list[str] = []
    _too_long(errors, "text", text or "", MESSAGE_TEXT)
    if blocks is not None:
        if len(blocks) > MESSAGE_BLOCKS:
            errors.append(f"blocks: {len(blocks)} > {MESSAGE_BLOCKS}")
        for i, block in enumerate(blocks):
            errors += block_errors(block, f"blocks/{i}")
    return errors


def view_errors(view: dict[str, Any]) -> list[str]:
    """Every limit a modal or Home tab view breaks."""
    errors: list[str] = []
    blocks = view.get("blocks") or []
    if len(blocks) > VIEW_BLOCKS:
        errors.append(f"blocks: {len(blocks)} > {VIEW_BLOCKS}")
    for i, block in enumerate(blocks):
        errors += block_errors(block, f"blocks/{i}")
    for key in ("title", "submit", "close"):
        if key in view:
            _too_long(errors, key, _text(view[key]), VIEW_TITLE)
    _too_long(errors, "private_metadata", str(view.get("private_metadata", "")), PRIVATE_METADATA)
    _too_long(errors, "callback_id", str(view.get("callback_id", "")), ID_LENGTH)
    return errors
