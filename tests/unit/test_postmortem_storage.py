"""The Confluence page body: rendered from the same PostmortemData as the Markdown draft, in Confluence's
storage format (XML), with whatever people typed kept as text; a team's templates override it by file name."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.commands import AddFollowup, AddNote, Resolve
from bot.domain.postmortem import PostmortemData, build_postmortem
from bot.errors import TemplateError
from bot.views.postmortem import PostmortemRenderer
from tests.support.incidents import CDN, at, incident_with
from tests.support.properties import examples

HOSTILE = [
    "<script>alert(1)</script>",
    "]]> closes a CDATA section",
    "<![CDATA[ raw ]]>",
    "Tom & Jerry &amp; &lt;b&gt; &#60;",
    '<ac:structured-macro ac:name="html"><ac:plain-text-body>x</ac:plain-text-body></ac:structured-macro>',
    "\"double\" and 'single' quotes",
    "{{ 7*7 }} {% raw %} {# comment #}",
    "</p></li></ul><h1>injected</h1>",
    "<?xml version='1.0'?><!DOCTYPE x [<!ENTITY e 'boom'>]>&e;",
    "a < b > c",
]
"""Text that would change the page's markup if it were not escaped."""


def _data(text: str) -> PostmortemData:
    incident, entries = incident_with((3, AddNote(text)), (5, AddFollowup(text)), (9, Resolve(text)))
    incident = replace(incident, title=text)
    return build_postmortem(incident, entries, at(60), CDN)


def _tree(body: str) -> ET.Element:
    return ET.fromstring(f"<root>{body}</root>")


def _outline(root: ET.Element) -> list[str]:
    return [element.tag for element in root.iter()]


BENIGN_OUTLINE = _outline(_tree(PostmortemRenderer().render_storage(_data("plain words"))))


class TestEscaping:
    @pytest.mark.parametrize("text", HOSTILE)
    def test_hostile_text_stays_text_and_the_outline_is_the_templates(self, text: str) -> None:
        """The body parses as XML, has the elements of a draft with plain words, and reads the text as typed."""
        root = _tree(PostmortemRenderer().render_storage(_data(text)))
        assert _outline(root) == BENIGN_OUTLINE
        notes = [li for li in root.iter("li") if "".join(li.itertext()).startswith("Note")]
        assert ["".join(li.itertext()) for li in notes] == [f"Note: {text}"]

    def test_a_title_with_markup_is_escaped_in_the_summary(self) -> None:
        body = PostmortemRenderer().render_storage(_data("<b>bold</b> & ]]>"))
        assert "Resolve note: &lt;b&gt;bold&lt;/b&gt; &amp; ]]&gt;</p>" in body

    def test_characters_xml_cannot_hold_are_dropped(self) -> None:
        root = _tree(PostmortemRenderer().render_storage(_data("tab\there\x00nul\x1besc\ud800lone\ufffeend")))
        notes = ["".join(li.itertext()) for li in root.iter("li") if "".join(li.itertext()).startswith("Note")]
        assert notes == ["Note: tab\therenulesclone" + "end"]

    @settings(max_examples=examples(40))
    @given(st.text(max_size=80))
    def test_any_text_keeps_the_outline(self, text: str) -> None:
        """For any text in the title, a note, a follow-up and the resolve note, the body is XML with the
        template's own elements."""
        root = _tree(PostmortemRenderer().render_storage(_data(text or "x")))
        assert _outline(root) == BENIGN_OUTLINE


class TestOneDataObject:
    def test_both_templates_render_the_same_data(self) -> None:
        data = _data("edge CPU at 100%")
        markdown = PostmortemRenderer().render(data)
        storage = PostmortemRenderer().render_storage(data)
        assert "| Time to mitigate | 4 min |" not in markdown  # the metrics come from the data, not a constant
        for metric in data.metrics:
            assert f"<tr><td>{metric.name}</td><td>{metric.value}</td>" in storage
            assert f"| {metric.name} | {metric.value} |" in markdown


class TestTeamTemplates:
    def test_a_teams_confluence_template_overrides_the_shipped_one(self, tmp_path: Path) -> None:
        (tmp_path / "postmortem.confluence.j2").write_text("<p>{{ pm.incident_id }}: {{ pm.title }}</p>")
        body = PostmortemRenderer(tmp_path).render_storage(_data("A & B"))
        assert body == "<p>INC-1: A &amp; B</p>"

    def test_without_one_the_shipped_template_is_used(self, tmp_path: Path) -> None:
        (tmp_path / "postmortem.md.j2").write_text("only markdown {{ pm.title }}")
        data = _data("x")
        assert PostmortemRenderer(tmp_path).render_storage(data) == PostmortemRenderer().render_storage(data)
        assert PostmortemRenderer(tmp_path).render(data) == "only markdown x"

    def test_the_confluence_template_is_not_offered_as_a_markdown_one(self, tmp_path: Path) -> None:
        (tmp_path / "ours.confluence.j2").write_text("<p/>")
        assert PostmortemRenderer(tmp_path).available() == ["postmortem"]
        with pytest.raises(TemplateError, match="is not a template name"):
            PostmortemRenderer(tmp_path).render(_data("x"), "ours.confluence")

    @pytest.mark.parametrize(
        ("source", "message"),
        [
            (
                "<p>{% if %}</p>",
                "Template `postmortem.confluence.j2` has a syntax error on line 1: "
                "Expected an expression, got 'end of statement block'",
            ),
            (
                "<p>{{ pm.nothing }}</p>",
                "Template `postmortem.confluence.j2` failed to render: "
                "'bot.domain.postmortem.PostmortemData object' has no attribute 'nothing'",
            ),
            (
                "<p>{{ 1 / 0 }}</p>",
                "Template `postmortem.confluence.j2` failed to render: ZeroDivisionError: division by zero",
            ),
            (
                "<p>{{ pm.__class__.__mro__ }}</p>",
                "Template `postmortem.confluence.j2` failed to render: "
                "access to attribute '__class__' of 'PostmortemData' object is unsafe.",
            ),
        ],
    )
    def test_a_broken_template_is_a_clear_message(self, tmp_path: Path, source: str, message: str) -> None:
        (tmp_path / "postmortem.confluence.j2").write_text(source)
        with pytest.raises(TemplateError) as caught:
            PostmortemRenderer(tmp_path).render_storage(_data("x"))
        assert caught.value.user_message == message
