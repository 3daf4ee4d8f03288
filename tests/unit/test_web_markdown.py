"""The web view's postmortem HTML (``bot.web.pages.markdown_html``, cmark-gfm in its safe mode).

Raw HTML stays off, unsafe link targets are emptied, and what people typed (escaped for Markdown by
``bot.views.markdown.escape_text``, as every value the template prints) never becomes a tag, whatever it is.
"""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.views.markdown import escape_text, table_cell
from bot.web.pages import markdown_html
from tests.support.properties import examples


def test_the_drafts_shapes_render_as_before() -> None:
    """Headings, header lines kept as lines, a GFM table, ``~~`` strikethrough only (a single ``~`` is text), no
    autolink for a bare URL: the HTML markdown-it-py gave for the same text (checked by hand, 2026-11-30)."""
    text = (
        "# INC-7 Postmortem\n\n**Date:** 2026-11-22\n**Status:** Draft\n\n"
        "| Metric | Value |\n|---|---|\n| Time to mitigate | 53 min |\n\n"
        "- 13:42 ~x~ ~~y~~ www.example.com https://x.example\n"
    )
    assert markdown_html(text) == (
        "<h1>INC-7 Postmortem</h1>\n"
        "<p><strong>Date:</strong> 2026-11-22<br />\n<strong>Status:</strong> Draft</p>\n"
        "<table>\n<thead>\n<tr>\n<th>Metric</th>\n<th>Value</th>\n</tr>\n</thead>\n"
        "<tbody>\n<tr>\n<td>Time to mitigate</td>\n<td>53 min</td>\n</tr>\n</tbody>\n</table>\n"
        "<ul>\n<li>13:42 ~x~ <del>y</del> www.example.com https://x.example</li>\n</ul>\n"
    )


def test_raw_html_is_off_and_unsafe_links_are_emptied() -> None:
    """A template's own tags are left out; javascript:/vbscript:/data: link targets become empty."""
    html = markdown_html("<div onclick=x>raw</div>\n\n[a](javascript:alert(1)) [b](VBScript:x) [c](data:text/html,x)\n")
    assert html == ('<!-- raw HTML omitted -->\n<p><a href="">a</a> <a href="">b</a> <a href="">c</a></p>\n')


def test_the_slack_corpus_typed_by_people_reads_as_text() -> None:
    """The ``<script>`` and mention corpus of the Slack tests, escaped as the template escapes every value."""
    typed = '<script>alert(1)</script> "><img src=x onerror=alert(2)> <!channel> <@U0BOB|bob> &lt; <https://e.x|y>'
    html = markdown_html(f"- {escape_text(typed)}\n")
    assert html == (
        "<ul>\n<li>&lt;script&gt;alert(1)&lt;/script&gt; &quot;&gt;&lt;img src=x onerror=alert(2)&gt; "
        "&lt;!channel&gt; &lt;@U0BOB|bob&gt; &amp;lt; &lt;https://e.x|y&gt;</li>\n</ul>\n"
    )


ALLOWED_TAGS = {"p", "ul", "li", "h2", "table", "thead", "tbody", "tr", "th", "td", "strong", "em", "code", "del", "a"}
TYPED = st.lists(
    st.sampled_from([*"ab <>&*_~`[]()!#|\\-+=.:/\"'\n\t", "javascript:", "<script>", "<!channel>", "<@U1|x>", "é"]),
    max_size=40,
).map("".join)


@settings(max_examples=examples(60))
@given(TYPED, TYPED)
def test_whatever_is_typed_never_becomes_a_tag_or_an_unsafe_link(title: str, note: str) -> None:
    """Any text, in a heading, a list item, a paragraph and a table cell: only the tags Markdown makes from the
    template's own outline or inline formatting (never script, img, div...), no on* attribute, no link target
    that is not empty or a plain relative/http one."""
    document = (
        f"## {escape_text(title)}\n\n- {escape_text(note)}\n\n{escape_text(title)}\n\n"
        f"| A | B |\n|---|---|\n| {table_cell(title)} | {table_cell(note)} |\n"
    )
    html = markdown_html(document)
    tags = {name.lower() for name in re.findall(r"<\s*/?\s*([A-Za-z][A-Za-z0-9]*)", html)}
    assert tags <= ALLOWED_TAGS, html
    assert "<!--" not in html  # nothing typed was raw HTML to omit
    assert not re.search(r"<[^>]*\son\w+\s*=", html), html
    for href in re.findall(r'href="([^"]*)"', html):
        assert not href.strip().lower().startswith(("javascript", "vbscript", "data:", "file:")), html
