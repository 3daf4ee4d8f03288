"""Patterns anchored at the end use ``\\Z``, not ``$``: in Python ``$`` also matches before a final newline,
so ``re.match(r"^INC-(\\d+)$", "INC-7\\n")`` matches and ``re.sub(r"&$", "", "a&\\n")`` cuts inside the text
(a Slack reply cut at 40,000 characters lost a ``&`` before its last line break and was no longer a start
of the text). ``$`` stays right only in a multi-line pattern, where it means the end of a line."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from bot.slack.text import truncate

BOT = Path(__file__).resolve().parents[2] / "bot"


def _end_anchored_with_dollar(root: Path = BOT) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
                continue
            if node.func.attr != "compile":
                continue
            if not (node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
                continue
            flags = ast.unparse(node.args[1]) if len(node.args) > 1 else ""
            flags += "".join(ast.unparse(k.value) for k in node.keywords if k.arg == "flags")
            if node.args[0].value.endswith("$") and "MULTILINE" not in flags and "re.M" not in flags:
                found.append(f"{path.relative_to(root.parent)}:{node.lineno}")
    return found


def test_no_pattern_in_bot_ends_with_a_dollar_that_accepts_a_final_newline() -> None:
    assert _end_anchored_with_dollar() == []


def test_the_scan_finds_a_dollar_anchor_where_there_is_one(tmp_path: Path) -> None:
    """The check above can fail: the same scan over a module holding one such pattern names it."""
    assert re.match(r"^INC-(\d+)$", "INC-7\n") is not None  # why: Python's $ before a final newline
    assert re.match(r"^INC-(\d+)\Z", "INC-7\n") is None
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "ids.py").write_text(
        'import re\nA = re.compile(r"^INC-(\\d+)\\Z")\nB = re.compile(r"^INC-(\\d+)$", re.I)\n'
        'C = re.compile(r"^x$", re.MULTILINE)\n'
    )
    assert _end_anchored_with_dollar(package) == ["pkg/ids.py:3"]


@pytest.mark.parametrize(
    ("text", "expected_end"),
    [
        ("&&&&\n&" * 6667, "&&&&&\n"),  # Hypothesis's example: the cut falls just after a line break
        ("a" * 39_951 + "&\n" + "b" * 100, "a&\n"),
        ("a" * 39_951 + "<\n" + "b" * 100, "a<\n"),
    ],
)
def test_a_cut_just_after_a_line_break_keeps_the_character_before_it(text: str, expected_end: str) -> None:
    note = "… (truncated; the full text is on the timeline)"
    cut = truncate(text, 40_000)
    assert len(cut) == 40_000
    kept = cut.removesuffix(note)
    assert kept != cut and text.startswith(kept) and kept.endswith(expected_end)
