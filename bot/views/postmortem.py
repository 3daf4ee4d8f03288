"""Rendering postmortem drafts from Jinja templates, safely.

The environment is sandboxed with StrictUndefined: templates may be a team's own files, and the
incident's text is only ever passed in as data, so ``{{ 7*7 }}`` typed in a title stays literal.
Every value a template prints is escaped for Markdown (``bot.views.markdown``), in the bundled
template and in a team's own alike, so what people typed can never change the draft's outline;
``table_cell`` escapes a value for a table cell.

The Confluence page is rendered from a second template, ``NAME.confluence.j2`` next to ``NAME.md.j2``
(``render_storage``), from the same ``PostmortemData``, in a sandbox of the same kind whose every printed
value is escaped for XML instead (Jinja's autoescape: ``&``, ``<``, ``>``, ``"`` and ``'`` become entities,
so ``<script>``, ``]]>`` or ``&amp;`` typed in a title stay text), with the characters XML 1.0 forbids
(control characters, lone surrogates: XML 1.0, section 2.2, "Char") dropped. Confluence's storage format is
XHTML-based XML (Atlassian, "Confluence storage format").
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

import jinja2
import markupsafe
from jinja2.sandbox import SandboxedEnvironment

from bot.domain.postmortem import PostmortemData
from bot.errors import TemplateError
from bot.views.markdown import escape_text, table_cell

__all__ = ["BUNDLED_TEMPLATES_DIR", "DEFAULT_TEMPLATE", "STORAGE_SUFFIX", "PostmortemRenderer", "table_cell"]

_PACKAGE_DIR = Path(__file__).resolve().parent.parent
# Installed: the top-level templates/ ships as bot/templates. Source checkout: it is next to bot/.
BUNDLED_TEMPLATES_DIR = next(
    (p for p in (_PACKAGE_DIR / "templates", _PACKAGE_DIR.parent / "templates") if p.is_dir()),
    _PACKAGE_DIR / "templates",
)
DEFAULT_TEMPLATE = "postmortem"
_SUFFIXES = (".md.j2", ".j2", "")
STORAGE_SUFFIX = ".confluence.j2"
"""The Confluence template of ``NAME`` is ``NAME.confluence.j2`` (the Markdown one ``NAME.md.j2``)."""
_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
"""What XML 1.0 does not allow in a document (section 2.2, ``Char``): C0 controls but tab and line
breaks, lone surrogates, U+FFFE and U+FFFF."""


def _finalize(value: object) -> str:
    """Every ``{{ ... }}`` output passes here: escaped for Markdown unless a filter already did (``Markdown``)."""
    return escape_text(value)


@functools.lru_cache(maxsize=8)
def _environment(search_path: tuple[str, ...]) -> SandboxedEnvironment:
    """One environment per search path, so compiled templates are cached between renders.

    Jinja re-checks each template file's modification time on use (``auto_reload``), so a team
    editing its template still sees the change; building a new environment per render recompiled
    the template every time (about 20 ms of a 10-entry postmortem, see bench/).
    """
    environment = SandboxedEnvironment(
        loader=jinja2.FileSystemLoader(list(search_path)),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        finalize=_finalize,
    )
    environment.filters["table_cell"] = table_cell
    return environment


def _xml_finalize(value: object) -> object:
    """Every ``{{ ... }}`` output of a Confluence template passes here before autoescape: text loses the
    characters XML cannot hold; markup a template built itself (``Markup``) passes as it is."""
    if isinstance(value, markupsafe.Markup) or value is None:
        return value
    return _NOT_XML_CHAR.sub("", str(value))


@functools.lru_cache(maxsize=8)
def _storage_environment(search_path: tuple[str, ...]) -> SandboxedEnvironment:
    """The sandbox for Confluence storage-format templates: autoescaped for XML (see the module docstring)."""
    return SandboxedEnvironment(
        loader=jinja2.FileSystemLoader(list(search_path)),
        undefined=jinja2.StrictUndefined,
        autoescape=True,
        keep_trailing_newline=True,
        finalize=_xml_finalize,
    )


@dataclass(frozen=True)
class PostmortemRenderer:
    """Finds templates in the team's folder first, then the bundled ones."""

    templates_dir: Path | None = None

    def _search_path(self) -> list[Path]:
        return [p for p in (self.templates_dir, BUNDLED_TEMPLATES_DIR) if p is not None]

    def _environment(self) -> SandboxedEnvironment:
        return _environment(tuple(str(p) for p in self._search_path()))

    def available(self) -> list[str]:
        """Template names a user can choose, e.g. ``postmortem``."""
        names: set[str] = set()
        for folder in self._search_path():
            if folder.is_dir():
                names.update(
                    p.name.removesuffix(".md.j2").removesuffix(".j2")
                    for p in folder.glob("*.j2")
                    if not p.name.endswith(STORAGE_SUFFIX)
                )
        return sorted(names)

    def check(self, template: str | None = None) -> None:
        """Raise TemplateError now if ``template`` does not exist or does not compile."""
        self._load(self._environment(), template or DEFAULT_TEMPLATE)

    def render(self, data: PostmortemData, template: str | None = None) -> str:
        """The Markdown draft for ``data`` using ``template`` (default: postmortem)."""
        environment = self._environment()
        loaded = self._load(environment, template or DEFAULT_TEMPLATE)
        return _render(loaded, data, template or DEFAULT_TEMPLATE)

    def check_storage(self, template: str | None = None) -> None:
        """Raise TemplateError now if the Confluence template of ``template`` (``NAME.confluence.j2``) does
        not exist or does not compile."""
        self._load_storage(template or DEFAULT_TEMPLATE)

    def render_storage(self, data: PostmortemData, template: str | None = None) -> str:
        """The Confluence page body (storage format, XHTML-based XML) for ``data``, from ``NAME.confluence.j2``
        in the team's folder first, then the bundled one. Raises TemplateError with a message for people
        (missing, a syntax error with its line, or the error it raised while rendering)."""
        name = template or DEFAULT_TEMPLATE
        return _render(self._load_storage(name), data, name + STORAGE_SUFFIX)

    def _load_storage(self, name: str) -> jinja2.Template:
        if "/" in name or "\\" in name or name.startswith("."):
            raise TemplateError(f"`{name}` is not a template name.")
        environment = _storage_environment(tuple(str(p) for p in self._search_path()))
        try:
            return environment.get_template(name + STORAGE_SUFFIX)
        except jinja2.TemplateNotFound as exc:
            folders = " or ".join(str(p) for p in self._search_path())
            raise TemplateError(f"There is no Confluence template `{name}{STORAGE_SUFFIX}` in {folders}.") from exc
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateError(
                f"Template `{name}{STORAGE_SUFFIX}` has a syntax error on line {exc.lineno}: {exc.message}"
            ) from exc

    def _load(self, environment: SandboxedEnvironment, name: str) -> jinja2.Template:
        if "/" in name or "\\" in name or name.startswith(".") or name.endswith(STORAGE_SUFFIX.removesuffix(".j2")):
            raise TemplateError(f"`{name}` is not a template name.")
        for suffix in _SUFFIXES:
            try:
                return environment.get_template(name + suffix)
            except jinja2.TemplateNotFound:
                continue
            except jinja2.TemplateSyntaxError as exc:
                raise TemplateError(
                    f"Template `{name}` has a syntax error on line {exc.lineno}: {exc.message}"
                ) from exc
        choices = ", ".join(self.available()) or "none"
        raise TemplateError(f"There is no postmortem template `{name}`. Available: {choices}.")


def _render(loaded: jinja2.Template, data: PostmortemData, name: str) -> str:
    """``loaded`` rendered with ``pm=data``; any failure of the template (an undefined name, the sandbox
    refusing an attribute, an error its own expressions raise such as a division by zero) is a TemplateError
    naming the template, never a traceback."""
    try:
        return loaded.render(pm=data)
    except jinja2.TemplateError as exc:
        raise TemplateError(f"Template `{name}` failed to render: {exc}") from exc
    except Exception as exc:  # a team's template can raise anything its expressions do
        raise TemplateError(f"Template `{name}` failed to render: {type(exc).__name__}: {exc}") from exc
