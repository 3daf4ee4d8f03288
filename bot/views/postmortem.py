"""Rendering postmortem drafts from Jinja templates, safely.

The environment is sandboxed with StrictUndefined: templates may be a team's own files, and the
incident's text is only ever passed in as data, so ``{{ 7*7 }}`` typed in a title stays literal.
Every value a template prints is escaped for Markdown (``bot.views.markdown``), in the bundled
template and in a team's own alike, so what people typed can never change the draft's outline;
``table_cell`` escapes a value for a table cell.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from bot.domain.postmortem import PostmortemData
from bot.errors import TemplateError
from bot.views.markdown import escape_text, table_cell

__all__ = ["BUNDLED_TEMPLATES_DIR", "DEFAULT_TEMPLATE", "PostmortemRenderer", "table_cell"]

_PACKAGE_DIR = Path(__file__).resolve().parent.parent
# Installed: the top-level templates/ ships as bot/templates. Source checkout: it is next to bot/.
BUNDLED_TEMPLATES_DIR = next(
    (p for p in (_PACKAGE_DIR / "templates", _PACKAGE_DIR.parent / "templates") if p.is_dir()),
    _PACKAGE_DIR / "templates",
)
DEFAULT_TEMPLATE = "postmortem"
_SUFFIXES = (".md.j2", ".j2", "")


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
                names.update(p.name.removesuffix(".md.j2").removesuffix(".j2") for p in folder.glob("*.j2"))
        return sorted(names)

    def check(self, template: str | None = None) -> None:
        """Raise TemplateError now if ``template`` does not exist or does not compile."""
        self._load(self._environment(), template or DEFAULT_TEMPLATE)

    def render(self, data: PostmortemData, template: str | None = None) -> str:
        """The Markdown draft for ``data`` using ``template`` (default: postmortem)."""
        environment = self._environment()
        loaded = self._load(environment, template or DEFAULT_TEMPLATE)
        try:
            return loaded.render(pm=data)
        except jinja2.TemplateError as exc:
            raise TemplateError(f"Template `{template or DEFAULT_TEMPLATE}` failed to render: {exc}") from exc

    def _load(self, environment: SandboxedEnvironment, name: str) -> jinja2.Template:
        if "/" in name or "\\" in name or name.startswith("."):
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
