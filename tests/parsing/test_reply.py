"""split_reply: the new text of a reply, without quoted history and signature.

Tables of what clients write, language by language; then what must *not* be cut, the
"never empty" promise and the time a hostile 1 MB body may take.
"""

from __future__ import annotations

import time

import pytest

from parsing.reply import Reply, split_reply

NEW = "Thanks, that solved it."
QUOTE = "> Hello,\n>\n> please restart the printer.\n>\n> ACME Support\n"


# -- attributions ("On … wrote:") ----------------------------------------------------------

ATTRIBUTIONS = [
    # (client and language, the attribution as the client writes or wraps it)
    ("gmail en", "On Tue, Mar 11, 2025 at 4:02 PM John Smith <john@example.com> wrote:"),
    ("gmail en wrapped", "On Tue, Mar 11, 2025 at 4:02 PM John Smith <john@example.com>\nwrote:"),
    ("apple en", "On 11. Mar 2025, at 16:02, John Smith <john@example.com> wrote:"),
    ("thunderbird en", "On 11.03.25 16:02, John Smith wrote:"),
    (
        "outlook mobile en",
        'On Tue, Mar 11, 2025 at 4:02 PM +0100, "John" <john@example.com> wrote:',
    ),
    ("mutt en", "On Tue, Mar 11, 2025 at 04:02:00PM +0100, John Smith wrote:"),
    ("gmail de", "Am Di., 11. März 2025 um 16:02 Uhr schrieb John Smith <john@example.com>:"),
    (
        "gmail de wrapped",
        "Am Di., 11. März 2025 um 16:02 Uhr schrieb John Smith <\njohn@example.com>:",
    ),
    ("thunderbird de", "Am 11.03.25 um 16:02 schrieb John Smith:"),
    (
        "yahoo de",
        "Am Dienstag, 11. März 2025 um 16:02:13 MEZ hat John Smith <john@example.com>\n"
        "Folgendes geschrieben:",
    ),
    ("gmail fr", "Le mar. 11 mars 2025 à 16:02, John Smith <john@example.com> a écrit :"),
    ("thunderbird fr", "Le 11/03/2025 à 16:02, John Smith a écrit :"),
    ("gmail es", "El mar, 11 mar 2025 a las 16:02, John Smith (<john@example.com>) escribió:"),
    ("thunderbird es", "El 11/3/25 a las 16:02, John Smith escribió:"),
    ("gmail it", "Il giorno mar 11 mar 2025 alle ore 16:02 John <john@example.com> ha scritto:"),
    ("thunderbird it", "Il 11/03/25 16:02, John Smith ha scritto:"),
    ("gmail nl", "Op di 11 mrt 2025 om 16:02 schreef John Smith <john@example.com>:"),
    ("apple nl", "Op 11 mrt 2025 om 16:02 heeft John <john@example.com> het volgende geschreven:"),
    ("gmail pt", "Em ter., 11 de mar. de 2025 às 16:02, John <john@example.com> escreveu:"),
    ("thunderbird pt", "Às 16:02 de 11/03/2025, John Smith escreveu:"),
    ("gmail pl", "wt., 11 mar 2025 o 16:02 John Smith <john@example.com> napisał(a):"),
    ("thunderbird pl", "W dniu 11.03.2025 o 16:02, John Smith pisze:"),
    (
        "apple pl",
        "Wiadomość napisana przez John Smith <john@example.com> w dniu 11.03.2025, o godz. 16:02:",
    ),
    ("gmail sv", "Den tis 11 mars 2025 kl 16:02 skrev John Smith <john@example.com>:"),
    ("thunderbird sv", "Den 2025-03-11 kl. 16:02, skrev John Smith:"),
    ("gmail da", "Den tir. 11. mar. 2025 kl. 16.02 skrev John Smith <john@example.com>:"),
    ("gmail no", "tir. 11. mar. 2025 kl. 16:02 skrev John Smith <john@example.com>:"),
    ("apple no", "11. mar. 2025 kl. 16:02 skrev John Smith <john@example.com>:"),
]


@pytest.mark.parametrize(("client", "attribution"), ATTRIBUTIONS)
def test_attribution_and_quote_are_history(client: str, attribution: str) -> None:
    reply = split_reply(f"{NEW}\n\n{attribution}\n\n{QUOTE}")
    assert reply.text == NEW, client
    assert reply.signature is None


@pytest.mark.parametrize(("client", "attribution"), ATTRIBUTIONS)
def test_attribution_over_unquoted_history(client: str, attribution: str) -> None:
    """HTML rendered to text, or clients that do not quote: the history has no '>'."""
    reply = split_reply(f"{NEW}\n\n{attribution}\n\nHello,\nplease restart the printer.\n")
    assert reply.text == NEW, client


# -- Outlook header blocks, separators, forwards --------------------------------------------

HEADER_BLOCKS = [
    (
        "en",
        "From: ACME <s@acme.test>\nSent: Tuesday, March 11, 2025 4:02 PM\nTo: Ann\nSubject: RE: x",
    ),
    (
        "de",
        "Von: ACME <s@acme.test>\nGesendet: Dienstag, 11. März 2025 16:02\nAn: Ann\nBetreff: AW: x",
    ),
    ("fr", "De : ACME <s@acme.test>\nEnvoyé : mardi 11 mars 2025 16:02\nÀ : Ann\nObjet : RE: x"),
    ("es", "De: ACME\nEnviado el: martes, 11 de marzo de 2025 16:02\nPara: Ann\nAsunto: RE: x"),
    ("it", "Da: ACME\nInviato: martedì 11 marzo 2025 16:02\nA: Ann\nOggetto: R: x"),
    ("nl", "Van: ACME\nVerzonden: dinsdag 11 maart 2025 16:02\nAan: Ann\nOnderwerp: RE: x"),
    ("pt", "De: ACME\nEnviada em: terça-feira, 11 de março de 2025 16:02\nPara: Ann\nAssunto: x"),
    ("pl", "Od: ACME\nWysłano: wtorek, 11 marca 2025 16:02\nDo: Ann\nTemat: RE: x"),
    ("sv", "Från: ACME\nSkickat: den 11 mars 2025 16:02\nTill: Ann\nÄmne: SV: x"),
    ("da", "Fra: ACME\nSendt: 11. marts 2025 16:02\nTil: Ann\nEmne: SV: x"),
    ("no", "Fra: ACME\nSendt: tirsdag 11. mars 2025 16:02\nTil: Ann\nEmne: SV: x"),
    ("gmail's text of outlook html", "*From:* ACME\n*Sent:* Tuesday\n*To:* Ann\n*Subject:* x"),
    (
        "samsung",
        "From: ACME <s@acme.test> \nDate: 11/03/2025 16:02 (GMT+01:00) \nTo: Ann \nSubject: x",
    ),
    ("with cc", "From: ACME\nSent: Tuesday\nTo: Ann\nCc: Bob\nSubject: x"),
]


@pytest.mark.parametrize(("language", "block"), HEADER_BLOCKS)
def test_outlook_header_block_is_history(language: str, block: str) -> None:
    reply = split_reply(f"{NEW}\n\n{block}\n\nHello,\nplease restart the printer.\n")
    assert reply.text == NEW, language


@pytest.mark.parametrize(("language", "block"), HEADER_BLOCKS[:3])
def test_outlook_rule_above_the_header_block_goes_too(language: str, block: str) -> None:
    reply = split_reply(f"{NEW}\n\n{'_' * 32}\n{block}\n\nold text\n")
    assert reply.text == NEW, language


SEPARATORS = [
    "-----Original Message-----",
    "-----Ursprüngliche Nachricht-----",
    "-----Message d'origine-----",
    "-----Mensaje original-----",
    "-----Messaggio originale-----",
    "-----Oorspronkelijk bericht-----",
    "-----Mensagem original-----",
    "-----Oryginalna wiadomość-----",
    "-----Ursprungligt meddelande-----",
    "-----Oprindelig meddelelse-----",
    "-----Opprinnelig melding-----",
    "-------- Original message --------",
    "-------- Ursprüngliche Nachricht --------",
    "---------- Forwarded message ---------",
    "-------- Forwarded Message --------",
    "---------- Weitergeleitete Nachricht ----------",
    "-------- Message transféré --------",
    "---------- Mensaje reenviado ---------",
    "---------- Messaggio inoltrato ---------",
    "---------- Doorgestuurd bericht ---------",
    "---------- Mensagem encaminhada ---------",
    "---------- Wiadomość przekazana dalej ---------",
    "---------- Vidarebefordrat meddelande ---------",
    "Begin forwarded message:",
    "Anfang der weitergeleiteten Nachricht:",
    "Début du message réexpédié :",
    "Inicio del mensaje reenviado:",
]


@pytest.mark.parametrize("separator", SEPARATORS)
def test_separator_starts_history(separator: str) -> None:
    reply = split_reply(f"{NEW}\n\n{separator}\nsomething old\n\nmore old text\n")
    assert reply.text == NEW


def test_iphone_quotes_its_attribution_too() -> None:
    quote = "> On 11. Mar 2025, at 16:02, A <a@b.example> wrote:\n> \n> old"
    text = f"{NEW}\n\nSent from my iPhone\n\n{quote}"
    assert split_reply(text) == split_reply(f"{NEW}\n\nSent from my iPhone")
    assert split_reply(text).signature == "Sent from my iPhone"


def test_attribution_run_into_the_history_under_a_footer() -> None:
    """Yahoo's apps: "On …, X<x@y> wrote:   Hello…" on one line, under their footer."""
    text = (
        f"{NEW}\n\nSent from Yahoo Mail on Android\n\n"
        "  On Tue, Mar 11, 2025 at 16:02, ACME<s@acme.test> wrote:   Hello Ann,\nold text\n"
    )
    reply = split_reply(text)
    assert (reply.text, reply.signature) == (NEW, "Sent from Yahoo Mail on Android")


# -- signatures -----------------------------------------------------------------------------

MOBILE_FOOTERS = [
    "Sent from my iPhone",
    "Sent from my iPad",
    "Sent from my Android",
    "Sent from my Samsung Galaxy smartphone.",
    "Sent from my Galaxy",
    "Sent from Outlook for iOS",
    "Get Outlook for Android",
    "Get Outlook for iOS<https://aka.ms/o0ukef>",
    "Sent from Yahoo Mail on Android",
    "Sent from Mail for Windows",
    "Von meinem iPhone gesendet",
    "Von meinem Samsung Galaxy Smartphone gesendet",
    "Gesendet von meinem iPad",
    "Gesendet von Yahoo Mail auf Android",
    "Envoyé de mon iPhone",
    "Envoyé depuis mon appareil Galaxy",
    "Enviado desde mi iPhone",
    "Enviado desde mi dispositivo Samsung",
    "Inviato da iPhone",
    "Inviato dal mio smartphone Samsung Galaxy.",
    "Verzonden vanaf mijn iPhone",
    "Enviado do meu iPhone",
    "Wysłane z iPhone'a",
    "Skickat från min iPhone",
    "Sendt fra min iPhone",
    "Hent Outlook til iOS",
]


@pytest.mark.parametrize("footer", MOBILE_FOOTERS)
def test_mobile_footer_is_the_signature(footer: str) -> None:
    reply = split_reply(f"{NEW}\n\n{footer}\n")
    assert (reply.text, reply.signature) == (NEW, footer)


@pytest.mark.parametrize("delimiter", ["-- ", "--", "--\t"])
def test_signature_delimiter(delimiter: str) -> None:
    reply = split_reply(f"{NEW}\n\nAnna\n{delimiter}\nAnna Berg\nExample GmbH\n")
    assert (reply.text, reply.signature) == (f"{NEW}\n\nAnna", "Anna Berg\nExample GmbH")


@pytest.mark.parametrize(
    ("block", "signature"),
    [
        ("Thanks,\nJohn Smith\nTel. +49 30 1234567", "John Smith\nTel. +49 30 1234567"),
        (
            "Best regards,\nJohn Smith\nHead of IT\nMobile: +1 (555) 010-2030",
            "John Smith\nHead of IT\nMobile: +1 (555) 010-2030",
        ),
        (
            "John Smith\nContoso Ltd.\njohn.smith@contoso.example",
            "John Smith\nContoso Ltd.\njohn.smith@contoso.example",
        ),
        (
            "Viele Grüße\nAnna Berg\n+49 30 1234 5678\nwww.example.de",
            "Anna Berg\n+49 30 1234 5678\nwww.example.de",
        ),
    ],
)
def test_short_name_and_contact_block_is_the_signature(block: str, signature: str) -> None:
    reply = split_reply(f"Hi,\nthe printer is broken again.\n\n{block}\n")
    assert reply.signature == signature
    assert reply.text.startswith("Hi,\nthe printer is broken again.")
    assert signature not in reply.text


@pytest.mark.parametrize(
    "ending",
    [
        "Thanks,\nJohn",  # a name alone is part of the reply
        "Please call me back at +49 30 1234567 tomorrow morning, I am in the office all day.",
        "Order 1: 12345678\nOrder 2: 23456789",
        "John Smith\nCan you call me? +49 30 1234567",
        "Regards",
    ],
)
def test_uncertain_endings_stay_in_the_reply(ending: str) -> None:
    text = f"Hi,\nthe printer is broken again.\n\n{ending}"
    assert split_reply(text) == Reply(text, None)


# -- what must not be cut -------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Peter wrote:\nthe invoice is wrong, please check it.",
        "From: my colleague in accounting\nI need the March invoice again.",
        "Subject: printer\nTo: whom it may concern\nThe printer is broken.",
        "As Bob wrote on the phone:\nplease send the form again.",
        "The error reads:\n-----BEGIN PGP SIGNATURE-----\nabc\n-----END PGP SIGNATURE-----",
        "Steps:\n1. open the app\n2. click on save\n3. it crashes",
    ],
)
def test_ordinary_text_is_kept_whole(text: str) -> None:
    reply = split_reply(text)
    assert (reply.text, reply.signature) == (text, None)


def test_inline_answers_keep_the_questions() -> None:
    text = "Hi,\n\n> Which version?\n\n3.8.1\n\n> Web too?\n\nNo.\n\n> ACME\n"
    assert split_reply(text).text == "Hi,\n\n> Which version?\n\n3.8.1\n\n> Web too?\n\nNo."


def test_bottom_posting_keeps_the_answer() -> None:
    text = f"On Tue, Mar 11, 2025 at 4:02 PM A <a@b.example> wrote:\n{QUOTE}\n{NEW}\n"
    assert split_reply(text).text.endswith(NEW)


def test_signature_below_the_quote() -> None:
    reply = split_reply(f"{NEW}\n\nOn 11.03.25 16:02, ACME wrote:\n{QUOTE}\n-- \nAnna Berg\n")
    assert (reply.text, reply.signature) == (NEW, "Anna Berg")


# -- never empty ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        QUOTE,
        "On Tue, Mar 11, 2025 at 4:02 PM A <a@b.example> wrote:\n" + QUOTE,
        "-----Original Message-----\nFrom: A\nSent: today\nTo: B\nSubject: x\n\nold",
        "-- \nAnna Berg",
        "Sent from my iPhone",
        "Begin forwarded message:\n\nFrom: A\nSubject: x\n\nforwarded text",
    ],
)
def test_a_mail_with_text_never_has_an_empty_reply(text: str) -> None:
    reply = split_reply(text)
    assert reply.text == "\n".join(line.rstrip() for line in text.strip().split("\n"))
    assert reply.signature is None


@pytest.mark.parametrize("text", ["", "   ", "\n\n"])
def test_blank_text_stays_blank(text: str) -> None:
    assert split_reply(text).text == text


# -- hostile input --------------------------------------------------------------------------

MEGABYTE = 1_000_000


@pytest.mark.parametrize(
    "body",
    [
        ("An ordinary line of text that goes on for a while.\n" * 20_000)[:MEGABYTE],
        ("> quoted line of an old message\n" * 40_000)[:MEGABYTE],
        "x" * MEGABYTE,
        ("Am 1 schrieb schrieb schrieb 1 " * 12 + ":\n") * 2_700,
        ("On 1 wrote on 1 wrote " * 17 + "wrote:\n") * 2_700,
        ("From: x\n" * 125_000),
        ("Tel 12 34 56 78 90 12 34 56 78 " * 30_000)[:MEGABYTE],
        ("-" * 5_000 + "\n") * 200,
    ],
    ids=["text", "quote", "one-line", "german", "english", "from", "phone", "dashes"],
)
def test_a_megabyte_body_is_split_quickly(body: str) -> None:
    started = time.perf_counter()
    reply = split_reply(f"{NEW}\n\n{body}")
    assert time.perf_counter() - started < 1.0
    assert reply.text.startswith(NEW)
