"""The fixture corpus, one table row per mail: reply text, signature, verdict, bounce.

The fixtures under tests/fixtures/mail are written for this project, modelled on what each
client and MTA produces (headers, MIME structure, quoting, encodings). Each row says what
maild must understand of one of them; a fixture without a row fails the first test.

A reply fixture with an HTML alternative is also read a second time with its text/plain
part removed, so the HTML path (quote containers stripped before rendering) is held to the
same reply; whitespace is compared normalised, since a renderer lays out blocks its own way.
"""

from __future__ import annotations

import email
import re
from dataclasses import dataclass
from email.message import Message

import pytest

from parsing import parse_message
from parsing.model import Bounce
from tests.parsing.corpus import PREFIX, crlf, fixture_names, load


@dataclass(frozen=True)
class Expect:
    """What one fixture must give. ``reply_text`` None: the whole text is the reply."""

    reply_text: str | None = None
    signature: str | None = None
    automated: str | None = None
    bounce: Bounce | None = None
    # For bounces: the reply is the MTA's notification, and ends with this line.
    reply_ends: str | None = None
    # The reply of the HTML alternative alone, when it differs from ``reply_text``.
    html_reply_text: str | None = None


def _bounce(recipients: str, permanent: bool, status: str | None, original: str | None) -> Bounce:
    return Bounce(tuple(recipients.split()), permanent, status, original)


def _ours(token_and_random: str) -> str:
    return f"<maild-{token_and_random}@acme.test>"


CORPUS: dict[str, Expect] = {
    # -- replies ------------------------------------------------------------------------
    "reply-gmail-en.eml": Expect(
        reply_text="Hi,\n\nthe label printer works again after the driver update. Thanks for "
        "the quick\nhelp!\n\nOne more question: can we get the driver for the second "
        "warehouse too?",
        signature="Daniel Ortiz\nOrtiz Logistics · Warehouse 2\n+1 415 555 0134",
    ),
    "reply-gmail-de.eml": Expect(  # attribution wrapped inside the address
        reply_text="Hallo,\n\nleider geht es immer noch nicht. Der Drucker zeigt jetzt Fehler "
        "E-07.\n\nViele Grüße\nJürgen",
    ),
    "reply-gmail-pl.eml": Expect(
        reply_text="Dzień dobry,\n\ndziękuję, faktura jest już poprawna.\n\nPozdrawiam\n"
        "Katarzyna Wójcik",
    ),
    "reply-gmail-android-sv.eml": Expect(
        reply_text="Hej!\n\nDet fungerar nu. Tack för hjälpen.\n\n/Sven",
    ),
    "reply-outlook-desktop-en.eml": Expect(
        reply_text="Hi,\n\nthe VPN works for Maria now, thank you. Could you also add her to "
        'the "Finance" share?',
        signature="Thomas Keller\nIT Operations | Contoso Ltd.\nPhone: +49 89 1234 5678\n"
        "www.contoso.example",
        # Word's HTML puts every signature line in its own paragraph: too unsure to split.
        html_reply_text="Hi, the VPN works for Maria now, thank you. Could you also add her to "
        "the “Finance” share? Thomas Keller IT Operations | Contoso Ltd. "
        "Phone: +49 89 1234 5678 www.contoso.example",
    ),
    "reply-outlook-desktop-de.eml": Expect(
        reply_text="Hallo zusammen,\n\ndas Update hat leider nicht geholfen, das Programm "
        "stürzt beim Start weiter ab. Ich habe das Protokoll angehängt.\n\n"
        "Mit freundlichen Grüßen",
        signature="Stefanie Braun\nBuchhaltung\nTel. +49 30 9876 5432",
        html_reply_text="Hallo zusammen, das Update hat leider nicht geholfen, das Programm "
        "stürzt beim Start weiter ab. Ich habe das Protokoll angehängt. Mit freundlichen "
        "Grüßen Stefanie Braun Buchhaltung Tel. +49 30 9876 5432",
    ),
    "reply-outlook-web-fr.eml": Expect(
        reply_text="Bonjour,\n\nmerci, tout fonctionne à nouveau.\n\nCordialement,\nClaire Martin",
    ),
    "reply-outlook-plain-es.eml": Expect(
        reply_text="Buenos días:\n\nYa he reiniciado el equipo, pero el error sigue "
        "apareciendo.\n\nSaludos,\nJavier",
    ),
    "reply-outlook-mac-it.eml": Expect(
        reply_text="Buongiorno,\n\nconfermo che ora la stampante funziona correttamente.\n\n"
        "Grazie e cordiali saluti,\nMarco Bianchi",
    ),
    "reply-outlook-ios-da.eml": Expect(
        reply_text="Det virker nu, tak for hjælpen!",
        signature="Hent Outlook til iOS<https://aka.ms/o0ukef>",
    ),
    "reply-outlook-html-only-nl.eml": Expect(
        reply_text="Goedemiddag,\n\nHet probleem is opgelost, de scanner werkt weer.\n\n"
        "Met vriendelijke groet,\n\nPieter de Vries",
    ),
    "reply-apple-mail-fr.eml": Expect(
        reply_text="Bonjour,\n\nC’est bon, la synchronisation fonctionne de nouveau. Merci "
        "beaucoup !\n\nBien à vous,\nJulien Moreau",
    ),
    "reply-apple-mail-nl.eml": Expect(
        reply_text="Hallo,\n\nDank je, het werkt weer.\n\nGroet,\nLotte",
    ),
    "reply-ios-en.eml": Expect(
        reply_text="Yes, that fixed it. Thanks a lot!",
        signature="Sent from my iPhone",
    ),
    "reply-ios-de.eml": Expect(
        reply_text="Danke, ich probiere es morgen früh aus.",
        signature="Von meinem iPhone gesendet",
    ),
    "reply-thunderbird-html-pt.eml": Expect(
        reply_text="Olá,\n\nobrigado, o acesso à pasta partilhada já funciona.\n\n"
        "Atenciosamente,\nAna Ferreira",
        signature="Ana Ferreira · Gabinete de Projetos",
    ),
    "reply-thunderbird-pl.eml": Expect(  # "place my signature below the quote"
        reply_text="Dzień dobry,\n\npotwierdzam, drukarka działa.",
        signature="Piotr Nowak\nDział Administracji",
    ),
    "reply-yahoo-en.eml": Expect(
        reply_text="Thanks, the refund arrived today.\nRegards,Linda",
        html_reply_text="Thanks, the refund arrived today. Regards, Linda",
    ),
    "reply-yahoo-android-de.eml": Expect(
        reply_text="Hallo, die Rechnung ist angekommen. Danke!",
        signature="Gesendet von Yahoo Mail auf Android",
    ),
    "reply-samsung-en.eml": Expect(
        reply_text="Still broken, the screen stays black after the update.",
        signature="Sent from my Galaxy",
    ),
    "reply-mutt-inline.eml": Expect(),  # answers between the quotes: all of it stays
    "reply-ticket.eml": Expect(reply_text="Thanks, it works again."),
    "thunderbird-plain.eml": Expect(
        reply_text='Hello,\n\nsince this morning the printer in room 4.12 shows "paper jam" '
        "although\nthere is no paper stuck. We already restarted it twice.\n\n"
        "Kind regards,\nAnna",
        signature="Anna Berg · Buchhaltung\nExample GmbH",
    ),
    "forward-gmail-en.eml": Expect(
        reply_text="FYI, this is the error our customer gets since yesterday. Can you check?",
    ),
    "forward-apple-mail-no-text.eml": Expect(),  # nothing new above it: never an empty reply
    "gmail-attachment.eml": Expect(),
    "outlook-html-alternative.eml": Expect(),
    "html-only.eml": Expect(),
    "garbage-from.eml": Expect(),
    "broken-mime.eml": Expect(),
    "mailing-list.eml": Expect(
        reply_text="Hi all,\n\nthe 2.4 release is planned for December 3rd. Please land "
        "your changes\nby Friday.",
        signature="Sam\n_______________________________________________\ndevel mailing list\n"
        "devel@lists.project.example",
        automated="list",
    ),
    # -- automatic replies --------------------------------------------------------------
    "autoreply-rfc3834.eml": Expect(automated="auto-replied"),
    "autoreply-exchange-ooo.eml": Expect(automated="auto-generated"),
    "autoreply-gmail-vacation.eml": Expect(automated="auto-replied"),
    "autoreply-x-autoreply-fr.eml": Expect(automated="auto-reply"),
    "autoreply-subject-only-de.eml": Expect(automated="out-of-office-subject"),
    # -- bounces ------------------------------------------------------------------------
    "dsn-postfix.eml": Expect(
        automated="bounce",
        bounce=_bounce("gone.user@customer.example", True, "5.1.1", "<ticket-1203.x1@acme.test>"),
        reply_ends="unknown in virtual mailbox table (in reply to RCPT TO command)",
    ),
    "bounce-exim.eml": Expect(
        automated="bounce",
        bounce=_bounce(
            "j.doe@nowhere.example",
            True,
            "5.1.1",
            _ours("k7q2m5x3r8t4w6y2z5a3b7c4d6.Zx3Kq9Lm2Np4Rs6T"),
        ),
        reply_ends="Recipient address rejected: User unknown in local recipient table",
    ),
    "bounce-exim-delay.eml": Expect(
        automated="bounce",
        bounce=_bounce("f.weber@slowhost.example", False, "4.7.1", None),
        reply_ends="and when that happens, the message will be returned to you.",
    ),
    "bounce-qmail.eml": Expect(
        automated="bounce",
        bounce=_bounce(
            "m.rossi@old-isp.example",
            True,
            "5.1.1",
            _ours("m4n6p2q5r7s3t6u2v4w7x3y5z2.As4Df6Gh8Jk0Lz2X"),
        ),
        reply_ends="Sorry, no mailbox here by that name. (#5.1.1)",
    ),
    "bounce-sendmail.eml": Expect(
        automated="bounce",
        bounce=_bounce(
            "h.schulz@customer-corp.example",
            True,
            "5.1.1",
            _ours("b2c4d6f3g5h7j2k4l6m3n5p7q2.Hj7Kl9Zx1Cv3Bn5M"),
        ),
        reply_ends="<<< 503 5.0.0 Need RCPT (recipient)",
    ),
    "bounce-exchange-2003.eml": Expect(
        automated="bounce",
        bounce=_bounce(
            "r.fischer@legacy-corp.example",
            True,
            "5.1.1",
            _ours("r2s4t6v3w5x7y2z4a6b3c5d7e2.Po9Iu7Yt5Re3Wq1Z"),
        ),
        reply_ends="<EXCH01.legacy-corp.example #5.1.1>",
    ),
    "bounce-exchange-2016-de.eml": Expect(
        automated="bounce",
        bounce=_bounce(
            "k.berger@industrie.example",
            True,
            "5.1.1",
            _ours("f3g5h7j2k4l6m3n5p7q2r4s6t3.Mn8Bv6Cx4Za2Sd0F"),
        ),
        reply_ends="Remote Server returned '550 5.1.1 RESOLVER.ADR.RecipNotFound; not found'",
    ),
    "bounce-outlook-com.eml": Expect(
        automated="bounce",
        bounce=_bounce(
            "anna.lee@outlook.example",
            True,
            "5.1.10",
            _ours("w5x7y2z4a6b3c5d7e2f4g6h3j5.Rt5Yu7Io9Pa1Sd3F"),
        ),
        reply_ends="(version=TLS1_3, cipher=TLS_AES_256_GCM_SHA384)    *",
    ),
    "bounce-gmail.eml": Expect(
        automated="bounce",
        bounce=_bounce(
            "no.such.user@gmail.example",
            True,
            "5.1.1",
            _ours("h5j7k2l4m6n3p5q7r2s4t6v3w5.Gh4Jk6Lz8Xc0Vb2N"),
        ),
        reply_ends="go to https://support.google.com/mail/?p=NoSuchUser",
    ),
    "bounce-gmail-delay.eml": Expect(
        automated="bounce",
        bounce=_bounce(
            "ops@slow-domain.example",
            False,
            "4.4.1",
            _ours("n3p5q7r2s4t6v3w5x7y2z4a6b3.Lk9Jh7Gf5Ds3Aq1W"),
        ),
        reply_ends="[mx.slow-domain.example. 198.51.100.77: timed out]",
    ),
    "bounce-yahoo.eml": Expect(
        automated="bounce",
        bounce=_bounce(
            "lost.user@yahoo.example",
            True,
            None,  # "554: delivery error": no enhanced status code
            _ours("c5d7e2f4g6h3j5k7l2m4n6p3q5.Yh6Tg4Rf2Ed0Ws8Q"),
        ),
        reply_ends="[0] - mta6042.mail.bf1.yahoo.example",
    ),
    "bounce-courier.eml": Expect(
        automated="bounce",
        bounce=_bounce(
            "b.keller@courier-host.example",
            True,
            "5.7.1",
            _ours("e2f4g6h3j5k7l2m4n6p3q5r7s2.Kj8Hg6Fd4Sa2Qw0E"),
        ),
        reply_ends="other delivery status notifications for additional recipients.",
    ),
}

_SPACE = re.compile(r"\s+")


def _normalised(text: str) -> str:
    return _SPACE.sub(" ", text).strip()


def html_only(raw: bytes) -> bytes:
    """The same mail with the text/plain part of each multipart/alternative removed."""
    message = email.message_from_bytes(raw)
    for part in message.walk():
        if part.get_content_type() == "multipart/alternative":
            kept = [p for p in part.get_payload() if p.get_content_type() != "text/plain"]
            part.set_payload(kept)
    return message.as_bytes()


def _has_html_alternative(message: Message) -> bool:
    return any(
        part.get_content_type() == "multipart/alternative"
        and any(p.get_content_type() == "text/html" for p in part.get_payload())
        for part in message.walk()
    )


HTML_ALTERNATIVES = sorted(
    name
    for name, expect in CORPUS.items()
    if expect.bounce is None
    and expect.automated is None
    and _has_html_alternative(email.message_from_bytes(load(name)))
)


def test_every_fixture_has_a_row() -> None:
    assert sorted(CORPUS) == fixture_names()


def test_the_corpus_covers_clients_languages_and_mtas() -> None:
    names = " ".join(CORPUS)
    for client in ("gmail", "outlook-desktop", "outlook-web", "apple-mail", "thunderbird"):
        assert client in names
    for client in ("ios", "android", "yahoo", "samsung"):
        assert client in names
    bounces = [n for n, e in CORPUS.items() if e.bounce is not None]
    assert len({n.split("-")[1] for n in bounces if n.startswith("bounce-")}) >= 8


def _check(raw: bytes, expect: Expect) -> None:
    parsed = parse_message(raw, ticket_prefix=PREFIX)
    if expect.reply_ends is not None:
        assert parsed.reply_text.endswith(expect.reply_ends)
        assert parsed.reply_text in parsed.text
    elif expect.reply_text is not None:
        assert parsed.reply_text == expect.reply_text
    else:
        assert parsed.reply_text == parsed.text.strip()
    assert parsed.signature == expect.signature
    assert parsed.automated == expect.automated
    assert parsed.bounce == expect.bounce


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_fixture(name: str) -> None:
    _check(load(name), CORPUS[name])


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_fixture_with_crlf_line_ends(name: str) -> None:
    _check(crlf(load(name)), CORPUS[name])


def test_html_alternatives_are_tested() -> None:
    assert len(HTML_ALTERNATIVES) >= 15


@pytest.mark.parametrize("name", HTML_ALTERNATIVES)
def test_html_part_alone_gives_the_same_reply(name: str) -> None:
    expect = CORPUS[name]
    parsed = parse_message(html_only(load(name)), ticket_prefix=PREFIX)
    wanted = expect.html_reply_text or expect.reply_text or parsed.text
    assert _normalised(parsed.reply_text) == _normalised(wanted)
    if expect.html_reply_text is None and expect.signature is not None:
        assert parsed.signature is not None
        assert _normalised(parsed.signature) == _normalised(expect.signature.split("<")[0])
