"""Block Kit limits as Slack enforces them (sizes of blocks, texts, fields and elements)."""

from __future__ import annotations

from typing import Any

from tests.support.fake_slack.records import SlackError


def text_of(obj: Any) -> str:
    """The ``text`` of a text object (``""`` for anything else)."""
    return str(obj.get("text", "")) if isinstance(obj, dict) else ""


def _element_errors(element: Any, where: str) -> list[str]:
    if not isinstance(element, dict) or "type" not in element:
        return [f"missing required field: type [json-pointer:{where}]"]
    errors = []
    if len(str(element.get("action_id", ""))) > 255:
        errors.append(f"must be less than 256 characters [json-pointer:{where}/action_id]")
    if element["type"] == "button" and len(text_of(element.get("text"))) > 75:
        errors.append(f"must be less than 76 characters [json-pointer:{where}/text/text]")
    return errors


def _section_errors(block: dict[str, Any], where: str) -> list[str]:
    errors = []
    if "text" not in block and "fields" not in block:
        errors.append(f"must provide text or fields [json-pointer:{where}]")
    if len(text_of(block.get("text"))) > 3000:
        errors.append(f"must be less than 3001 characters [json-pointer:{where}/text/text]")
    fields = block.get("fields") or []
    if len(fields) > 10:
        errors.append(f"must provide no more than 10 items [json-pointer:{where}/fields]")
    for i, item in enumerate(fields):
        if len(text_of(item)) > 2000:
            errors.append(f"must be less than 2001 characters [json-pointer:{where}/fields/{i}/text]")
    if "accessory" in block:
        errors.extend(_element_errors(block["accessory"], f"{where}/accessory"))
    return errors


def _block_errors(block: Any, where: str) -> list[str]:
    if not isinstance(block, dict) or not block.get("type"):
        return [f"missing required field: type [json-pointer:{where}]"]
    errors = []
    if len(str(block.get("block_id", ""))) > 255:
        errors.append(f"must be less than 256 characters [json-pointer:{where}/block_id]")
    kind = block["type"]
    if kind == "section":
        errors.extend(_section_errors(block, where))
    elif kind == "header":
        if len(text_of(block.get("text"))) > 150:
            errors.append(f"must be less than 151 characters [json-pointer:{where}/text/text]")
        if not isinstance(block.get("text"), dict) or block["text"].get("type") != "plain_text":
            errors.append(f"must be a plain_text object [json-pointer:{where}/text]")
    elif kind == "actions":
        elements = block.get("elements") or []
        if len(elements) > 25:
            errors.append(f"must provide no more than 25 items [json-pointer:{where}/elements]")
        for i, element in enumerate(elements):
            errors.extend(_element_errors(element, f"{where}/elements/{i}"))
    elif kind == "context" and len(block.get("elements") or []) > 10:
        errors.append(f"must provide no more than 10 items [json-pointer:{where}/elements]")
    elif kind == "input" and "element" in block:
        errors.extend(_element_errors(block["element"], f"{where}/element"))
    return errors


def blocks_errors(blocks: Any, max_blocks: int) -> list[str]:
    """Block Kit violations of `blocks` in Slack's message format (empty list when valid)."""
    if not isinstance(blocks, list):
        return ["must be an array [json-pointer:/blocks]"]
    errors = []
    if len(blocks) > max_blocks:
        errors.append(f"must provide no more than {max_blocks} items [json-pointer:/blocks]")
    for i, block in enumerate(blocks):
        errors.extend(_block_errors(block, f"/blocks/{i}"))
    return errors


def check_blocks(blocks: Any, max_blocks: int) -> None:
    """Raise ``invalid_blocks`` (with ``errors`` and response_metadata messages) for Block Kit violations."""
    errors = blocks_errors(blocks, max_blocks)
    if errors:
        raise SlackError(
            "invalid_blocks", errors=errors, response_metadata={"messages": [f"[ERROR] {e}" for e in errors]}
        )


def invalid_arguments(message: str) -> SlackError:
    """An ``invalid_arguments`` error carrying ``message`` as Slack's response_metadata does."""
    return SlackError("invalid_arguments", response_metadata={"messages": [f"[ERROR] {message}"]})
