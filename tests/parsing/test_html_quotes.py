"""HTML mail: each client's quote container is removed before the reply is rendered.

The full text keeps everything; only the reply loses the history. Markup that merely looks
similar (a plain blockquote, a bordered box without a header block) is the sender's text.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parsing import parse_message
from parsing.html import html_to_text_and_reply
from parsing.reply import split_reply
from tests.parsing.corpus import mail

NEW = "<div>The printer works again.</div>"
OLD = "please restart the printer"

CONTAINERS = [
    (
        "gmail",
        '<div class="gmail_quote gmail_quote_container"><div dir="ltr" class="gmail_attr">'
        "On Tue, Mar 11, 2025 at 4:02 PM ACME &lt;s@acme.test&gt; wrote:<br></div>"
        f'<blockquote class="gmail_quote" style="margin:0px">{OLD}</blockquote></div>',
    ),
    ("old gmail", f'<div class="gmail_extra"><br><div class="gmail_quote">{OLD}</div></div>'),
    (
        "apple mail",
        '<div><br><blockquote type="cite"><div>On 11. Mar 2025, at 16:02, ACME wrote:</div>'
        f'<br class="Apple-interchange-newline"><div>{OLD}</div></blockquote></div>',
    ),
    (
        "ios",
        '<div dir="ltr"><br><blockquote type="cite">On 11. Mar 2025, at 16:02, ACME wrote:<br>'
        f'</blockquote></div><blockquote type="cite"><div dir="ltr">{OLD}</div></blockquote>',
    ),
    (
        "thunderbird",
        '<div class="moz-cite-prefix">On 11.03.25 16:02, ACME wrote:<br></div>'
        f'<blockquote type="cite" cite="mid:x@acme.test"><p>{OLD}</p></blockquote>',
    ),
    (
        "yahoo",
        '<div id="yahoo_quoted_123" class="yahoo_quoted"><div>On Tuesday, March 11, 2025, '
        f"ACME &lt;s@acme.test&gt; wrote:</div><div>{OLD}</div></div>",
    ),
    ("proton", f'<div class="protonmail_quote">On Tuesday, ACME wrote:<br>{OLD}</div>'),
    (
        "outlook web",
        '<div id="appendonsend"></div><hr style="display:inline-block;width:98%" tabindex="-1">'
        '<div id="divRplyFwdMsg" dir="ltr"><font face="Calibri"><b>From:</b> ACME<br>'
        "<b>Sent:</b> Tuesday<br><b>To:</b> Ann<br><b>Subject:</b> x</font><div>&nbsp;</div>"
        f"</div><div>{OLD}</div>",
    ),
    (
        "outlook web, quoted again",
        f'<div id="x_divRplyFwdMsg"><b>From:</b> ACME</div><div>{OLD}</div>',
    ),
    (
        "outlook mac",
        '<div id="OLK_SRC_BODY_SECTION"><p><b>Da: </b>ACME<br><b>Data: </b>martedì</p></div>'
        f"<p>{OLD}</p>",
    ),
    (
        "outlook desktop",
        '<div><div style="border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm 0cm">'
        '<p class="MsoNormal"><b>From:</b> ACME &lt;s@acme.test&gt;<br><b>Sent:</b> Tuesday<br>'
        f"<b>Subject:</b> x</p></div></div><p>{OLD}</p>",
    ),
    (
        "outlook desktop, german",
        "<div style='border:none;border-top:solid #B5C4DF 1.0pt;padding:3.0pt 0in 0in 0in'>"
        f"<p><b>Von:</b> ACME<br><b>Gesendet:</b> Dienstag</p></div><p>{OLD}</p>",
    ),
    (
        "outlook 2003",
        f'<div class="OutlookMessageHeader" lang="en-us" dir="ltr" align="left"><hr>From: ACME'
        f"</div><p>{OLD}</p>",
    ),
]


@pytest.mark.parametrize(("client", "quote"), CONTAINERS)
def test_quote_container_is_not_in_the_reply(client: str, quote: str) -> None:
    text, reply, defect = html_to_text_and_reply(f"<html><body>{NEW}{quote}</body></html>")
    assert defect is None
    assert OLD in text, client
    assert reply is not None
    assert reply.strip() == "The printer works again.", client


@pytest.mark.parametrize(("client", "quote"), CONTAINERS)
def test_html_only_mail_gets_the_reply(client: str, quote: str) -> None:
    raw = mail("Content-Type: text/html; charset=utf-8", body=f"{NEW}{quote}")
    parsed = parse_message(raw)
    assert OLD in parsed.text
    assert parsed.reply_text == "The printer works again.", client


@pytest.mark.parametrize(
    "html",
    [
        f"{NEW}<blockquote>{OLD}</blockquote>",  # an indented paragraph, not a quote
        f'{NEW}<div style="border-top:solid 1px #ccc">{OLD}</div>',  # a box, no header block
        f'{NEW}<div style="border:none;border-top:solid #E1E1E1 1.0pt">Note: {OLD}</div>',
        f'{NEW}<div class="gmail_quoted_text">{OLD}</div>',
    ],
)
def test_look_alikes_are_the_senders_text(html: str) -> None:
    _text, reply, _defect = html_to_text_and_reply(html)
    assert reply is None or OLD in reply


def test_the_senders_text_after_an_inline_quote_is_kept() -> None:
    """Containers are removed one by one: an answer below a quote stays."""
    quote = f'<blockquote type="cite">{OLD}</blockquote>'
    _text, reply, _ = html_to_text_and_reply(f"{NEW}{quote}<div>Done, see above.</div>")
    assert reply is not None
    assert "The printer works again." in reply and "Done, see above." in reply
    assert OLD not in reply


def test_a_forward_without_own_text_keeps_its_text() -> None:
    quote = f'<div class="gmail_quote">---------- Forwarded message ---------<br>{OLD}</div>'
    parsed = parse_message(mail("Content-Type: text/html", body=quote))
    assert OLD in parsed.reply_text


def test_the_plain_alternative_is_still_preferred() -> None:
    raw = mail(
        "MIME-Version: 1.0",
        'Content-Type: multipart/alternative; boundary="b"',
        body=(
            "--b\nContent-Type: text/plain\n\nplain reply\n\n> old\n"
            f"--b\nContent-Type: text/html\n\n<div>html reply</div>{CONTAINERS[0][1]}\n--b--\n"
        ),
    )
    assert parse_message(raw).reply_text == "plain reply"


# -- property: no markup makes parsing raise, and a reply is never empty for text --------

_PIECES = st.sampled_from(
    [
        NEW,
        "<p>more new text</p>",
        *(quote for _, quote in CONTAINERS),
        "<blockquote type=cite>",
        "</blockquote>",
        '<div class="gmail_quote">',
        '<div id="divRplyFwdMsg">',
        "<div style='border:none;border-top:solid'>From: x",
        "</div>",
        "<hr>",
        "<br>",
        "<table><tr><td>cell",
        "<!-- comment -->",
        "<?xml version='1.0'?>",
        "&nbsp;",
        "\x00",
        "<",
        ">",
    ]
)
HTML = st.lists(_PIECES | st.text(max_size=20), max_size=25).map("".join)
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(HTML)
def test_any_quote_markup_renders_without_raising(html: str) -> None:
    text, reply, _defect = html_to_text_and_reply(html)
    assert isinstance(text, str)
    assert reply is None or isinstance(reply, str)


@SETTINGS
@given(HTML, st.sampled_from(["text/html", "text/plain"]))
def test_any_quote_markup_parses_to_a_non_empty_reply(body: str, content_type: str) -> None:
    raw = mail(f"Content-Type: {content_type}; charset=utf-8", body=body)
    parsed = parse_message(raw)
    if parsed.text.strip():
        assert parsed.reply_text.strip()
    json_safe = parsed.reply_text.encode("utf-8")
    assert b"\x00" not in json_safe


_LINES = st.sampled_from(
    [
        "Thanks!",
        "",
        "> quoted",
        ">",
        "-- ",
        "--",
        "Sent from my iPhone",
        "On Tue, Mar 11, 2025 at 4:02 PM A <a@b.example> wrote:",
        "On Tue, Mar 11, 2025 at 4:02 PM A <a@b.example>",
        "wrote:",
        "Am 11.03.25 um 16:02 schrieb A:",
        "-----Original Message-----",
        "________________________________",
        "From: A <a@b.example>",
        "Sent: Tuesday",
        "To: B",
        "Subject: x",
        "Begin forwarded message:",
        "John Smith",
        "Tel. +49 30 1234567",
        "Best regards,",
    ]
)
TEXTS = st.lists(_LINES | st.text(max_size=30), max_size=30).map("\n".join)


@SETTINGS
@given(TEXTS | st.text(max_size=400))
def test_split_reply_never_loses_a_text(text: str) -> None:
    reply = split_reply(text)
    if text.strip():
        assert reply.text.strip()
    for line in reply.text.splitlines():
        assert line.strip() in text
