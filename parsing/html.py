"""HTML bodies to readable text, with inscriptis (tables, lists and line breaks kept).

Only HTML-only mail needs this; when a message has a text/plain part, that part is used.
inscriptis builds an lxml tree, which refuses a few inputs real mail contains (an XML
declaration inside an already decoded string, a document of only comments); those are
handled here so a strange HTML part costs its text, never the message.

HTML mail carries its quoted history in containers each client marks its own way; rendered
to text they lose the ``>`` that :mod:`parsing.reply` looks for. So the reply text of an HTML
body is rendered from the same lxml tree with those containers removed first
(:func:`html_to_text_and_reply`):

- *containers*, removed with their content: Gmail ``div.gmail_quote``, Apple Mail, iOS and
  Thunderbird ``blockquote type=cite``, Thunderbird ``div.moz-cite-prefix`` (the "On … wrote:"
  line), Yahoo ``div.yahoo_quoted``, Proton ``div.protonmail_quote``, Zoho ``div.zmail_extra``;
- *cuts*, removed with everything after them in the document: Outlook on the web
  ``#divRplyFwdMsg`` (and the ``<hr>`` above it), Outlook for Mac ``#OLK_SRC_BODY_SECTION``,
  old Outlook ``div.OutlookMessageHeader``, and Outlook desktop's separator, a
  ``border:none; border-top:solid …`` div whose text starts with a From label.

Imports nothing of the project.
"""

from __future__ import annotations

import re

from inscriptis.html_engine import Inscriptis
from lxml import etree
from lxml.html import HtmlElement, document_fromstring

_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>", re.IGNORECASE)
_BLANK_RUNS = re.compile(r"\n[ \t]*(?:\n[ \t]*){2,}")
_TRAILING_SPACE = re.compile(r"[ \t]+\n")

# A cheap look at the markup before any tree surgery: most HTML mail has no quote at all.
_QUOTE_HINT = re.compile(
    r"gmail_quote|type\s*=\s*[\"']?cite|moz-cite-prefix|yahoo_quoted|protonmail_quote|"
    r"zmail_extra|divRplyFwdMsg|OLK_SRC_BODY_SECTION|OutlookMessageHeader|border-top",
    re.IGNORECASE,
)


def _has_class(name: str) -> str:
    return f"contains(concat(' ', normalize-space(@class), ' '), ' {name} ')"


_CONTAINERS = etree.XPath(
    " | ".join(
        (
            f"//div[{_has_class('gmail_quote')}]",
            f"//blockquote[{_has_class('gmail_quote')}]",
            "//blockquote[translate(@type, 'CITE', 'cite') = 'cite']",
            f"//div[{_has_class('moz-cite-prefix')}]",
            "//*[contains(@class, 'yahoo_quoted')]",
            f"//*[{_has_class('protonmail_quote')}]",
            f"//div[{_has_class('zmail_extra')}]",
        )
    )
)
_CUTS = etree.XPath(
    "//*[@id = 'divRplyFwdMsg' or @id = 'x_divRplyFwdMsg' or @id = 'OLK_SRC_BODY_SECTION'"
    " or @id = 'x_OLK_SRC_BODY_SECTION' or contains(@class, 'OutlookMessageHeader')]"
    " | //div[contains(translate(@style, 'BORDERTOP', 'bordertop'), 'border-top')]"
)
_CUT_IDS = frozenset(
    {"divRplyFwdMsg", "x_divRplyFwdMsg", "OLK_SRC_BODY_SECTION", "x_OLK_SRC_BODY_SECTION"}
)
_SEPARATOR_STYLE = re.compile(r"border\s*:\s*none.*border-top\s*:\s*solid", re.I | re.S)
_FROM_LABEL = re.compile(
    r"\s*(?:from|von|de|da|van|od|från|fra|lähettäjä|от)\s*:", re.IGNORECASE | re.UNICODE
)


def _tree(html: str) -> HtmlElement | None:
    """The lxml tree inscriptis would build for ``html`` (None: nothing to render)."""
    html = _XML_DECLARATION.sub("", html.replace("\x00", "")).strip()
    if not html:
        return None
    try:
        return document_fromstring(html)
    except etree.ParserError:
        return document_fromstring("<pre>" + html + "</pre>")


def _render(tree: HtmlElement) -> str:
    text = _TRAILING_SPACE.sub("\n", Inscriptis(tree).get_text())
    return _BLANK_RUNS.sub("\n\n", text).strip("\n")


def html_to_text(html: str) -> tuple[str, str | None]:
    """Render ``html`` as plain text; returns the text and a defect string if it failed."""
    text, _reply, defect = html_to_text_and_reply(html, reply=False)
    return text, defect


def _is_cut(element: HtmlElement) -> bool:
    if element.get("id") in _CUT_IDS or "OutlookMessageHeader" in (element.get("class") or ""):
        return True
    # Outlook desktop's separator: a top border, and the quoted header block inside it.
    return bool(_SEPARATOR_STYLE.search(element.get("style") or "")) and bool(
        _FROM_LABEL.match(element.text_content()[:200])
    )


def _truncate_at(element: HtmlElement) -> None:
    """Remove ``element`` and everything after it in document order."""
    previous = element.getprevious()
    if previous is not None and previous.tag == "hr" and not (previous.tail or "").strip():
        element = previous  # Outlook on the web draws a rule above its header block
    node = element
    while True:
        parent = node.getparent()
        if parent is None or node.tag in ("body", "html"):
            break
        for sibling in list(node.itersiblings()):
            parent.remove(sibling)
        node.tail = None
        node = parent
    parent = element.getparent()
    if parent is not None:
        parent.remove(element)


def strip_quotes(tree: HtmlElement) -> bool:
    """Remove the quoted-history containers of ``tree`` in place; True if any was found."""
    found = False
    for element in _CONTAINERS(tree):
        if isinstance(element, HtmlElement) and element.getparent() is not None:
            element.drop_tree()
            found = True
    for element in _CUTS(tree):
        if isinstance(element, HtmlElement) and _is_cut(element):
            _truncate_at(element)
            return True
    return found


def html_to_text_and_reply(html: str, *, reply: bool = True) -> tuple[str, str | None, str | None]:
    """Render ``html`` as text, and again without its quoted history.

    Returns ``(text, reply_text, defect)``: ``reply_text`` is None when the markup has no
    quote container (the text is then the reply), ``defect`` a string when rendering failed.
    """
    try:
        tree = _tree(html)
        if tree is None:
            return "", None, None
        text = _render(tree)
    except Exception as error:  # lxml raises a zoo of types on hostile markup
        return "", None, f"html-conversion-failed:{type(error).__name__}"
    if not reply or not _QUOTE_HINT.search(html):
        return text, None, None
    try:
        if not strip_quotes(tree):
            return text, None, None
        return text, _render(tree), None
    except Exception:  # the full text stands; the reply is then read from it
        return text, None, None
