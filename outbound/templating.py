"""Jinja templates for outgoing mail: the built-in set, overridable from an admin folder.

Customer text (subjects, bodies, names) only ever reaches a template as a variable, never as
template source (invariant 5), and the environment is sandboxed so an admin's override
template cannot reach Python internals either. HTML templates (``*.html.j2``) are
autoescaped; text templates (``*.txt.j2``) are not, as they are never shown as HTML.

Imports nothing of the project.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import BaseLoader, ChoiceLoader, FileSystemLoader, StrictUndefined, TemplateNotFound
from jinja2.sandbox import SandboxedEnvironment

__all__ = ["BUILTIN_TEMPLATES", "RenderedMail", "TemplateRenderer"]

log = logging.getLogger(__name__)

BUILTIN_TEMPLATES = Path(__file__).parent / "templates"

_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")


@dataclass(frozen=True, slots=True)
class RenderedMail:
    text: str
    html: str | None


def _autoescape(template_name: str | None) -> bool:
    return template_name is not None and template_name.endswith(".html.j2")


class TemplateRenderer:
    """Renders ``{name}.txt.j2`` and, when one exists, ``{name}.html.j2``.

    Templates in ``override_dir`` win over the built-in ones of the same name. The two parts
    are one template and come from one folder: the folder that has ``{name}.txt.j2`` also
    supplies the HTML part, or there is none. (Otherwise an admin who rewrites only the text
    would have HTML readers, most customers, see the built-in wording.) Undefined variables
    are errors (``jinja2.UndefinedError``), so a typo in an admin's template fails loudly
    instead of sending a blank. Changed template files are picked up on the next render; an
    override added for a template already used is picked up after :meth:`reload` (SIGHUP).
    """

    def __init__(self, override_dir: Path | None = None) -> None:
        loaders: list[BaseLoader] = []
        if override_dir is not None:
            loaders.append(FileSystemLoader(override_dir))
        loaders.append(FileSystemLoader(BUILTIN_TEMPLATES))
        self._env = SandboxedEnvironment(
            loader=ChoiceLoader(loaders),
            undefined=StrictUndefined,
            autoescape=_autoescape,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        self._warned: set[str] = set()

    def reload(self) -> None:
        """Forget every compiled template: the next render reads the folders again. (Jinja
        checks a cached template's own file for changes, not whether a folder earlier in
        the search now holds a file of that name.)"""
        if self._env.cache is not None:
            self._env.cache.clear()
        self._warned.clear()

    def render(self, name: str, context: Mapping[str, Any]) -> RenderedMail:
        if not _NAME.fullmatch(name):
            raise ValueError(f"invalid template name {name!r}")
        text_template = self._env.get_template(f"{name}.txt.j2")
        text = text_template.render(context)
        try:
            html_template = self._env.get_template(f"{name}.html.j2")
        except TemplateNotFound:
            return RenderedMail(text=text, html=None)
        folder = os.path.dirname(text_template.filename or "")
        if os.path.dirname(html_template.filename or "") != folder:
            if name not in self._warned:
                self._warned.add(name)
                log.warning(
                    "template %r: %s.html.j2 is not next to %s.txt.j2 in %s; sending text only",
                    name,
                    name,
                    name,
                    folder,
                )
            return RenderedMail(text=text, html=None)
        return RenderedMail(text=text, html=html_template.render(context))
