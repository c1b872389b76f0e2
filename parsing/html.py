"""HTML bodies to readable text, with inscriptis (tables, lists and line breaks kept).

Only HTML-only mail needs this; when a message has a text/plain part, that part is used.
inscriptis builds an lxml tree, which refuses a few inputs real mail contains (an XML
declaration inside an already decoded string, a document of only comments); those are
handled here so a strange HTML part costs its text, never the message. Imports nothing of
the project.
"""

from __future__ import annotations

import re

from inscriptis import get_text

_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>", re.IGNORECASE)
_BLANK_RUNS = re.compile(r"\n[ \t]*(?:\n[ \t]*){2,}")
_TRAILING_SPACE = re.compile(r"[ \t]+\n")


def html_to_text(html: str) -> tuple[str, str | None]:
    """Render ``html`` as plain text; returns the text and a defect string if it failed."""
    html = _XML_DECLARATION.sub("", html.replace("\x00", ""))
    if not html.strip():
        return "", None
    try:
        text = get_text(html)
    except Exception as error:  # lxml raises a zoo of types on hostile markup
        return "", f"html-conversion-failed:{type(error).__name__}"
    text = _TRAILING_SPACE.sub("\n", text)
    return _BLANK_RUNS.sub("\n\n", text).strip("\n"), None
