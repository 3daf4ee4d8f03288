"""User text can never change the postmortem's outline (issue 11, item 11).

The draft is parsed with markdown-it-py (CommonMark plus GFM tables, as GitHub and most Markdown
previews read it). Its outline is every block token (headings and their level, lists and items,
paragraphs and whether they are hidden in tight lists, tables down to each cell, code blocks,
fences, block quotes, thematic breaks, HTML blocks) plus any inline raw HTML. For any texts in
every text field, the outline must equal the outline of the same draft with harmless placeholders.
"""

from __future__ import annotations

import dataclasses
import html
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from bot.domain.blameless import Finding
from bot.domain.commands import Declare, PinMessage
from bot.domain.grammar import clean_text
from bot.domain.lifecycle import Stamp, apply, declare
from bot.domain.model import Severity
from bot.domain.postmortem import (
    ActionItem,
    ErrorBudget,
    HypothesisView,
    Lessons,
    Metric,
    PostmortemData,
    Responder,
    TimelineLine,
    build_postmortem,
)
from bot.views.markdown import escape_text, table_cell
from bot.views.postmortem import PostmortemRenderer
from tests.support.properties import examples

PARSER = MarkdownIt("commonmark").enable("table")
START = datetime(2026, 11, 22, 13, 42, tzinfo=UTC)
PLACEHOLDER = "placeholder"
NOT_USER_TEXT = {"kind"}
"""TimelineLine.kind is the bot's entry kind (the template branches on it), never typed by anyone."""

Outline = list[tuple[Any, ...]]


def outline(markdown: str) -> Outline:
    """The document's structure: block tokens with their nesting level, and raw HTML anywhere."""
    shape: Outline = []
    for token in PARSER.parse(markdown):
        if token.type == "inline":
            shape += [("html_inline", token.level) for child in token.children or [] if child.type == "html_inline"]
        else:
            shape.append((token.type, token.tag, token.level, token.hidden))
    return shape


def inline_tokens(markdown: str) -> list[Any]:
    """Every inline token (text, image, link...) of the parsed document."""
    return [child for token in PARSER.parse(markdown) if token.type == "inline" for child in token.children or []]


def shown_text(markdown: str) -> str:
    """What a reader sees: the rendered HTML without tags, entities decoded once, whitespace runs as one space."""
    rendered = html.unescape(re.sub(r"<[^>]*>", "", PARSER.render(markdown)))
    return " ".join(rendered.split())


def headings(markdown: str) -> list[str]:
    tokens = PARSER.parse(markdown)
    return [f"{t.tag} {tokens[i + 1].content}" for i, t in enumerate(tokens) if t.type == "heading_open"]


def is_blank(text: str) -> bool:
    """Nothing typed, for the draft: spaces, tabs and line or paragraph separators only."""
    return not text.strip(" \t\r\n\x0b\x0c\x85\u2028\u2029")


def with_texts(value: Any, text_for: Callable[[str], str]) -> Any:
    """``value`` with every user text (str) in it, however deeply nested, replaced by ``text_for(text)``."""
    if isinstance(value, str):
        return text_for(value)
    if isinstance(value, list):
        return [with_texts(item, text_for) for item in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {
            f.name: with_texts(getattr(value, f.name), text_for)
            for f in dataclasses.fields(value)
            if f.name not in NOT_USER_TEXT
        }
        return dataclasses.replace(value, **changes)
    return value


def placeholders() -> Callable[[str], str]:
    """Harmless stand-ins: blank stays as it is (so `if` branches agree); other texts become one word
    each, equal texts the same word (so the template's comparisons, e.g. of dates, agree too)."""
    words: dict[str, str] = {}

    def placeholder(text: str) -> str:
        return text if is_blank(text) else words.setdefault(text, f"{PLACEHOLDER}{len(words)}")

    return placeholder


# Fragments that mean something to Markdown, mixed with arbitrary text.
MARKDOWN_BITS = [
    "# ", "## ", "###### ", "#", "- ", "* ", "+ ", "1. ", "1) ", "10. ", "> ", ">", "```", "~~~", "===",
    "---", "***", "___", "_ _ _", "| a | b |", "|---|---|", ":--|--:", "--|--", "|", "<div>", "</div>",
    "<!--", "-->", "<script>", "<pre>", "<?php ", "<!DOCTYPE html>", "<![CDATA[", "<http://x.y>",
    "<a href='x'>", "    ", "\t", "\n", "\r\n", "\r", "\n\n", "\\", "\\\\", "`", "[x]: /url", "[x]",
    "- [ ] ", "&amp;", "&#35;", "**", "_", "  \n", "\\\n", "\u00a0", "\u2028", "text", " ", "a",
    "![", "](", "![x](http://evil.example/x.png)", "![x][r]", "[r]: http://evil.example/x.png", "!", "&lt;",
    "&#10;", "&#x41;", "&quot;", "&", "\x0b", "\x0c", "\x85", "\u2029",
]  # fmt: skip
texts = st.one_of(
    st.text(max_size=30),
    st.lists(st.one_of(st.sampled_from(MARKDOWN_BITS), st.text(max_size=4)), max_size=8).map("".join),
)

# Text with no emphasis, code or link characters (which render as formatting by design, and a
# backslash, which escapes what follows), but with entities, "!", brackets, "<", "#" and separators.
PLAIN_BITS = [
    "&lt;", "&gt;", "&amp;", "&#10;", "&#x41;", "&quot;", "&", ";", "#", "!", "[", "]", "![x]", "<", ">",
    "<b>", "x", "ab", "1.", " ", "\n", "\r", "\t", "\x0b", "\x0c", "\x85", "\u2028", "\u2029", "-", "=", "|",
]  # fmt: skip
plain_texts = st.lists(st.sampled_from(PLAIN_BITS), max_size=10).map("".join)


@st.composite
def drafts(draw: st.DrawFn) -> PostmortemData:
    """A PostmortemData of any shape the template branches on (sections present or empty), with any texts."""

    def text() -> str:
        return draw(texts)

    def some(make: Callable[[], Any]) -> list[Any]:
        return [make() for _ in range(draw(st.integers(0, 2)))]

    budget = None
    if draw(st.booleans()):
        budget = ErrorBudget(text(), text(), text(), some(text), text(), text(), draw(st.booleans()), text())
    kinds = st.sampled_from(["declared", "note", "pinned", "omitted", "rollback"])
    return PostmortemData(
        incident_id=text(),
        title=text(),
        severity=text(),
        incident_status=text(),
        date=text(),
        lead=text(),
        responders=some(lambda: Responder(text(), text())),
        summary=text(),
        description=text(),
        detected_at=text(),
        detected_by=text(),
        root_cause=text(),
        root_cause_note=text(),
        triggers=some(text),
        mitigations=some(text),
        resolution=text(),
        hypotheses=some(lambda: HypothesisView(1, text(), text(), text(), text())),
        metrics=some(lambda: Metric(text(), text(), text())),
        action_items=some(lambda: ActionItem(1, text(), text())),
        lessons=Lessons(some(text), some(text), some(text)),
        timeline=some(lambda: TimelineLine(text(), text(), text(), text(), draw(kinds), draw(st.booleans()))),
        notes=some(text),
        generated_at=text(),
        status=text(),
        service=text(),
        error_budget=budget,
        recent_changes=some(text),
        review=some(lambda: Finding(text(), text(), text())),
    )


def _strings(value: Any) -> Iterator[str]:
    """Every str in ``value``, the entry kinds included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            yield from _strings(getattr(value, f.name))


class TestOutlineIsTheTemplates:
    @settings(max_examples=examples(60), deadline=None)
    @given(drafts())
    def test_any_text_in_any_field_leaves_the_outline_as_with_placeholders(self, data: PostmortemData) -> None:
        """Whatever people typed, in whichever field, the draft's outline is the template's own."""
        renderer = PostmortemRenderer()
        typed = renderer.render(data)
        harmless = renderer.render(with_texts(data, placeholders()))
        assert outline(typed) == outline(harmless), typed

    @settings(max_examples=5)
    @given(drafts())
    def test_every_text_field_is_replaced(self, data: PostmortemData) -> None:
        """with_texts reaches every str in PostmortemData and its parts but the entry kind (so none escapes)."""
        marked = with_texts(data, lambda _: "MARK")
        assert set(_strings(marked)) - {"declared", "note", "pinned", "omitted", "rollback"} == {"MARK"}


def _pinned_status_draft(text: str) -> str:
    stamp = Stamp("U0ALICE", START, START, "alice")
    change = declare(Declare("CDN edge returning 502s", Severity.SEV1), 1, stamp)
    moment = START + timedelta(minutes=20)
    pinned = apply(change.incident, PinMessage(text, "U0BOB"), Stamp("U0BOB", moment, moment, "bob"))
    entries = list(change.entries) + list(pinned.entries)
    return PostmortemRenderer().render(build_postmortem(pinned.incident, entries, START + timedelta(hours=1)))


TEMPLATE_HEADINGS = [
    "h1 INC-1 Postmortem: CDN edge returning 502s",
    "h2 Summary",
    "h2 Impact",
    "h2 Error budget",
    "h2 Recent changes",
    "h2 Detection",
    "h2 Root cause and trigger",
    "h2 Resolution",
    "h2 Hypotheses tried",
    "h2 Key metrics",
    "h2 Action items",
    "h2 Lessons learned",
    "h3 What went well",
    "h3 What went wrong",
    "h3 Where we got lucky",
    "h2 Timeline",
    "h2 Review: blameless language",
    "h2 Supporting information",
]


class TestPinnedStatusUpdate:
    STATUS = "# Status at 14:02\n- edge CPU at 100% on half the fleet\n- rollback of WAF rule in progress"

    def test_headings_and_bullets_in_a_pinned_update_stay_text(self) -> None:
        """The issue's example: a pinned multi-line update with `# ` and `- ` lines adds no heading or bullet."""
        document = _pinned_status_draft(self.STATUS)
        assert headings(document) == TEMPLATE_HEADINGS
        assert outline(document) == outline(_pinned_status_draft("a status update"))
        assert (
            "- **14:02** Pinned message from @U0BOB: # Status at 14:02 - edge CPU at 100% on half the fleet - "
            "rollback of WAF rule in progress\n"
        ) in document
        assert (
            "- Pinned message from @U0BOB: # Status at 14:02 - edge CPU at 100% on half the fleet - "
            "rollback of WAF rule in progress\n"
        ) in document

    def test_the_same_text_unescaped_is_a_heading_and_a_list(self) -> None:
        """Control: as raw Markdown the update is a heading and a two-item list, so the check above can fail."""
        kinds = [token[0] for token in outline(self.STATUS)]
        assert kinds.count("heading_open") == 1 and kinds.count("list_item_open") == 2


# Places a template (ours or a team's) may print a value: alone on a line, after a list marker or
# heading, wrapped in emphasis, after a paragraph line or a list item (where "===" or "- x" would
# continue or break it), inside a quote; table cells through table_cell.
LINE_CONTEXTS = [
    "{}", "{} and more", "- {}", "1. {}", "# {}", "> {}", "**{}**", "_{}_", "`{}`", "**{}** {}",
    "para\n{}", "- item\n{}", "- item\n- {}", "**Label:** {}\n**Other:** {}", "{}\n\nnext paragraph",
]  # fmt: skip
TABLE_CONTEXTS = ["| h | i |\n|---|---|\n| {} | x |", "| h | i |\n|---|---|\n| {} | {} |\n| y | z |"]


def _fill(context: str, value: str) -> str:
    return context.replace("{}", value)


class TestEscapeText:
    @settings(max_examples=examples(150), deadline=None)
    @given(text=texts, context=st.sampled_from(LINE_CONTEXTS))
    def test_an_escaped_value_keeps_any_line_context_outline(self, text: str, context: str) -> None:
        """escape_text(text) in any of the contexts parses like a placeholder word (or like blank)."""
        harmless = "" if is_blank(text) else PLACEHOLDER
        assert outline(_fill(context, escape_text(text))) == outline(_fill(context, harmless))

    @settings(max_examples=examples(100), deadline=None)
    @given(text=texts, context=st.sampled_from(TABLE_CONTEXTS))
    def test_a_table_cell_value_stays_in_its_cell(self, text: str, context: str) -> None:
        """table_cell(text) leaves the table's rows and cells as a placeholder word does."""
        harmless = "" if is_blank(text) else PLACEHOLDER
        assert outline(_fill(context, table_cell(text))) == outline(_fill(context, harmless))

    @settings(max_examples=examples(150), deadline=None)
    @given(text=texts, context=st.sampled_from(LINE_CONTEXTS + TABLE_CONTEXTS))
    def test_no_image_from_user_text(self, text: str, context: str) -> None:
        """Whatever was typed, in any line or table context, markdown-it finds no image in it (no tracking pixel)."""
        value = table_cell(text) if context in TABLE_CONTEXTS else escape_text(text)
        assert [t.type for t in inline_tokens(_fill(context, value)) if t.type == "image"] == []

    @settings(max_examples=examples(300), deadline=None)
    @given(text=st.one_of(plain_texts, texts.map(clean_text)))  # stored text is clean (no NUL: CommonMark's U+FFFD)
    def test_the_rendered_text_is_the_typed_text(self, text: str) -> None:
        """What a reader sees is exactly what was typed, modulo whitespace, Markdown and all: no entity is decoded
        (`&lt;` stays `&lt;`), no separator deleted, no backslash eaten, no emphasis, code span or link made."""
        assert shown_text(escape_text(text)) == " ".join(text.split()), escape_text(text)
        in_table = f"| head |\n|---|\n| {table_cell(text)} |\n"
        assert shown_text(in_table) == " ".join(f"head {text}".split()), in_table

    def test_separators_entities_and_images_examples(self) -> None:
        """The tester's examples: separators become spaces, entities and images stay literal text."""
        cases = {
            "x\x0b# vt": "x # vt",
            "x\x0c# ff": "x # ff",
            "x\x85# nel": "x # nel",
            "x\u2028# ls": "x # ls",
            "x\u2029# ps": "x # ps",
            "x\r# cr": "x # cr",
            "&lt;script&gt;": "\\&lt;script\\&gt;",
            "&#10;": "\\&#10;",
            "![img](http://evil.example/x.png)": "!\\[img\\](http://evil.example/x.png)",
            "\\![a](b)": "\\\\!\\[a\\](b)",
            "\\\\&amp;": "\\\\\\\\\\&amp;",
        }
        assert {text: escape_text(text) for text in cases} == cases
        assert shown_text(escape_text("&lt;script&gt;")) == "&lt;script&gt;"
        assert shown_text(escape_text("&#10;")) == "&#10;"
        assert [t.type for t in inline_tokens(escape_text("![img](http://evil.example/x.png)"))].count("image") == 0

    def test_the_same_texts_unescaped_are_an_image_and_entities(self) -> None:
        """Control: unescaped, markdown-it reads an image and decodes the entities, so the checks above can fail."""
        assert "image" in [t.type for t in inline_tokens("![img](http://evil.example/x.png)")]
        assert shown_text("&lt;script&gt; &#35;") == "<script> #"

    def test_examples(self) -> None:
        """Each block opener is neutralised by one backslash at the start; backslashes, emphasis, code, strikethrough
        and link brackets are escaped wherever they stand (fresh tester, break17): the rest reads as typed."""
        cases = {
            "# Status\n- db down": "\\# Status - db down",
            "1. first": "1\\. first",
            "2) second": "2\\) second",
            "1.5 GB": "1.5 GB",
            "> quoted": "\\> quoted",
            "===": "\\===",
            "```python": "\\`\\`\\`python",
            "~~~": "\\~\\~\\~",
            "___": "\\_\\_\\_",
            "* item": "\\* item",
            "* * *": "\\* \\* \\*",
            "**": "\\*\\*",
            "a *bold* and _italic_ word": "a \\*bold\\* and \\_italic\\_ word",
            "| a | b |": "\\| a | b |",
            ":--|--": "\\:--|--",
            "<div>x</div>": "\\<div>x\\</div>",
            "a < b": "a < b",
            "[x]: /url": "\\[x\\]: /url",
            "    indented code": "indented code",
            "ends with a backslash\\": "ends with a backslash\\\\",
            "title ##": "title \\##",
            "`kubectl rollout undo` worked": "\\`kubectl rollout undo\\` worked",
            "ran `kubectl rollout undo`": "ran \\`kubectl rollout undo\\`",
            "`": "\\`",
            " \t\n": "",
        }
        assert {text: escape_text(text) for text in cases} == cases

    def test_table_cells_escape_pipes_even_after_a_backslash(self) -> None:
        """A pipe, or a backslash and a pipe, stays inside the cell."""
        assert table_cell("a|b\n\n c\t d\r\n") == "a\\|b c d"
        assert table_cell("a\\|b") == "a\\\\\\|b"
        assert table_cell("- x") == "- x"
        row = "| " + table_cell("a\\|b|c") + " | x |"
        cells = [t for t in PARSER.parse(f"| h | i |\n|---|---|\n{row}\n") if t.type == "td_open"]
        assert len(cells) == 2
