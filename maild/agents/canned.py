"""Canned responses: ``#canned NAME`` renders ``NAME.txt.j2`` from ``[outbound] canned_dir``.

The admin writes the templates; the variables (the customer's name, the ticket number, the
agent's name, the ticket tag) come from mail and reach Jinja only as values, in a sandboxed
environment (invariant 5). ``NAME`` never becomes a path outside the folder: the command
parser allows only letters, digits, ``_``, ``.`` and ``-`` without ``..``, and Jinja's
``FileSystemLoader`` refuses any name that climbs out of its folder as well.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined, TemplateError, TemplateNotFound
from jinja2.sandbox import SandboxedEnvironment

_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}")


class CannedError(Exception):
    """The canned response cannot be used; the message is meant for the agent."""


class CannedResponses:
    def __init__(self, folder: Path | None) -> None:
        self._folder = folder
        self._env = (
            SandboxedEnvironment(
                loader=FileSystemLoader(folder),
                undefined=StrictUndefined,
                autoescape=False,
                keep_trailing_newline=False,
            )
            if folder is not None
            else None
        )

    def render(self, name: str, variables: Mapping[str, Any]) -> str:
        if self._env is None:
            raise CannedError("no canned responses are set up ([outbound] canned_dir)")
        if not _NAME.fullmatch(name) or ".." in name:
            raise CannedError(f"{name!r} is not a canned response name")
        try:
            template = self._env.get_template(f"{name}.txt.j2")
        except TemplateNotFound:
            raise CannedError(f"there is no canned response {name!r}") from None
        try:
            return template.render(variables).strip("\n")
        except TemplateError as error:
            raise CannedError(f"canned response {name!r} failed: {error}") from None
