"""Where the new text of a reply ends and quoted history and signature begin.

:func:`split_reply` reads plain text (a text/plain body, or HTML already rendered to text,
see :func:`parsing.html.html_to_text_and_reply`) line by line and finds the first *cut*:

- a ``>``-quoted block (``QUOTE``);
- an attribution line "On … wrote:" in one of the languages of :data:`ATTRIBUTIONS`, also
  wrapped over up to three lines: followed by a ``>`` block it starts that block; followed by
  unquoted history it is a cut only when it names a time or an address (``HARD``);
- a line right under a mobile footer with a "wrote" word, an address and a time (Yahoo's
  apps run the attribution and the quoted text into one line) (``HARD``);
- an Outlook separator (``-----Original Message-----`` and its translations), a forwarded
  message marker, or a ``From:/Sent:/To:/Subject:`` header block in any language of
  :data:`HEADER_LABELS`, with the ``____`` rule Outlook puts above it (``HARD``).

Everything from a hard cut on is history. A ``>`` block and its attribution are history
wherever the sender wrote: above them (top posting), below them (bottom posting, as mutt
and Thunderbird users do) or both. When the sender answered *between* the quotes (inline
replies: text between two blocks, or above and below a block nobody attributed), the
stored text keeps the blocks that are answered, because an answer without its question
would mislead; only a trailing block goes. :attr:`Reply.new_text` is always only what the
sender wrote: rules match it, and it is all of an agent's mail that may reach a customer.

The signature is split off what remains: after a ``-- `` (or ``--``) line, at a mobile
footer of :data:`MOBILE_FOOTERS` ("Sent from my iPhone", "Von meinem iPhone gesendet"…), or,
conservatively, a short last paragraph of a name and phone/address/URL lines (a closing
word above the name stays in the reply). A signature alone below the quotes (Thunderbird's
"signature below the quote") is the signature too.

When unsure the text is kept: a reply never comes back empty while the mail has text, and a
split that would leave nothing returns the text whole (its ``new_text`` is then empty when
all of it is quoted). Patterns are tables compiled once; every repetition is bounded and
the per-line work is capped, so even a hostile 1 MB body takes well under a second.
Imports nothing of the project.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from enum import Enum


@dataclass(frozen=True, slots=True)
class Reply:
    """The reply text of a message and the signature split off it (None: none found).

    ``text`` is what is stored and shown to agents. ``new`` is set only where it differs:
    the lines the person wrote when ``text`` keeps quoted questions for inline answers,
    or ``""`` when nothing outside the quotes is new (``text`` is then the whole text).
    """

    text: str
    signature: str | None
    new: str | None = None

    @property
    def new_text(self) -> str:
        """Only the lines the person wrote: no quoted line, attribution or signature."""
        return self.text if self.new is None else self.new


# -- tables ---------------------------------------------------------------------------------
# Each entry is a regular expression for one whole line (lower-cased, stripped), grouped by
# language so a reader can check and extend one language at a time.

# "On …, X wrote:" as clients write it, matched against up to three joined lines. ``.`` runs
# are bounded, and the whole joined header must carry a digit or an "@" (a date or an
# address), so "Peter wrote:" in running text is never an attribution.
_ANY = r".{1,300}?"
ATTRIBUTIONS: dict[str, tuple[str, ...]] = {
    "en": (
        rf"(?:on|at)\s{_ANY}\swrote\s*:",  # Gmail, Apple Mail, Thunderbird, Outlook mobile
        rf"{_ANY}\swrote\s*:",  # "John Smith <john@x> wrote:", mutt, Yahoo variants
    ),
    "de": (
        rf"am\s{_ANY}\sschrieb\s{_ANY}:",  # "Am 12.03.2025 um 10:14 schrieb X <x@y>:"
        rf"am\s{_ANY}\sschrieb\s*:",
        rf"{_ANY}\s(?:schrieb|folgendes geschrieben)\s*:",  # "X schrieb:", Yahoo "hat X …"
    ),
    "fr": (rf"(?:le\s)?{_ANY}\sa\s+écrit\s*:",),  # "Le 12 mars 2025 à 10:14, X a écrit :"
    "es": (rf"(?:el\s)?{_ANY}\sescribió\s*:",),  # "El mar, 12 mar 2025 a las 10:14, X escribió:"
    "it": (rf"(?:il\s)?{_ANY}\sha\s+scritto\s*:",),  # "Il giorno … X ha scritto:"
    "nl": (
        rf"op\s{_ANY}\sschreef\s{_ANY}:",  # "Op di 12 mrt 2025 om 10:14 schreef X <x@y>:"
        rf"{_ANY}\sschreef\s*:",
        rf"op\s{_ANY}\sheeft\s{_ANY}\shet volgende geschreven\s*:",  # Apple Mail
    ),
    "pt": (rf"{_ANY}\sescreveu\s*:",),  # "Em ter., 12 de mar. de 2025 às 10:14, X escreveu:"
    "pl": (
        rf"w dniu\s{_ANY}\s(?:pisze|napisał\(a\)|napisała|napisał)\s*:",  # Thunderbird
        rf"{_ANY}\s(?:napisał\(a\)|napisała|napisał)\s*:",  # Gmail: "wt., 12 mar 2025 o 10:14 X"
        rf"wiadomość napisana przez\s{_ANY}\sw dniu\s{_ANY}:",  # Apple Mail
    ),
    "sv/da/no": (
        # "Den tis 12 mars 2025 kl 10:14 skrev X <x@y>:", "tir. 12. mar. 2025 kl. 10:14 skrev"
        rf"{_ANY}\sskrev\s{_ANY}:",
        rf"{_ANY}\sskrev\s*:",
    ),
}

# Outlook's separator line and forwarded-message markers: the text between the dashes.
SEPARATOR_PHRASES: dict[str, tuple[str, ...]] = {
    "en": ("original message", "forwarded message", "forwarded message follows"),
    "de": ("ursprüngliche nachricht", "originalnachricht", "weitergeleitete nachricht"),
    "fr": ("message d'origine", "message d’origine", "message original", "message transféré"),
    "es": ("mensaje original", "mensaje reenviado"),
    "it": ("messaggio originale", "messaggio inoltrato"),
    "nl": ("oorspronkelijk bericht", "origineel bericht", "doorgestuurd bericht"),
    "pt": ("mensagem original", "mensagem encaminhada", "mensagem reencaminhada"),
    "pl": ("wiadomość oryginalna", "oryginalna wiadomość", "wiadomość przekazana dalej"),
    "sv/da/no": (
        *("ursprungligt meddelande", "originalmeddelande", "vidarebefordrat meddelande"),
        *("oprindelig meddelelse", "videresendt meddelelse", "opprinnelig melding"),
        "videresendt melding",
    ),
}

# Forwarded-message lines without dashes (Apple Mail), each ending in a colon.
FORWARD_LINES: dict[str, tuple[str, ...]] = {
    "en": ("begin forwarded message",),
    "de": ("anfang der weitergeleiteten nachricht",),
    "fr": ("début du message réexpédié", "début du message transféré"),
    "es": ("inicio del mensaje reenviado",),
    "it": ("inizio messaggio inoltrato",),
    "nl": ("begin doorgestuurd bericht",),
    "pt": ("início da mensagem reencaminhada", "início da mensagem encaminhada"),
    "pl": ("początek przekazywanej wiadomości",),
    "sv/da/no": ("vidarebefordrat brev", "videresendt besked", "videresendt melding"),
}

# Labels of a quoted header block ("From: … Sent: … To: … Subject: …"), by role.
HEADER_LABELS: dict[str, dict[str, tuple[str, ...]]] = {
    "from": {
        "en": ("from",),
        "de": ("von",),
        "fr/es/pt": ("de",),
        "it": ("da",),
        "nl": ("van",),
        "pl": ("od",),
        "sv/da/no": ("från", "fra"),
    },
    "date": {
        "en": ("sent", "date"),
        "de": ("gesendet", "datum"),
        "fr": ("envoyé", "date"),
        "es": ("enviado", "enviado el", "fecha"),
        "it": ("inviato", "data"),
        "nl": ("verzonden", "datum"),
        "pt": ("enviada em", "enviado em", "enviado", "data"),
        "pl": ("wysłano", "wysłane", "data"),
        "sv/da/no": ("skickat", "skickades", "datum", "sendt", "dato"),
    },
    "to": {
        "en": ("to",),
        "de": ("an",),
        "fr": ("à", "a"),
        "es/pt": ("para",),
        "it": ("a",),
        "nl": ("aan",),
        "pl": ("do",),
        "sv/da/no": ("till", "til"),
    },
    "cc": {"all": ("cc", "kopie", "copie", "kopia")},
    "subject": {
        "en": ("subject",),
        "de": ("betreff",),
        "fr": ("objet",),
        "es": ("asunto",),
        "it": ("oggetto",),
        "nl": ("onderwerp",),
        "pt": ("assunto",),
        "pl": ("temat",),
        "sv/da/no": ("ämne", "emne"),
    },
}

# Footers phones and mail apps add under the text; each a whole line (lower case).
_DEVICE = (
    r"(?:iphone|ipad|ipod|android|mobile|smartphone|tablet|samsung|galaxy|huawei|pixel|xiaomi)"
)
MOBILE_FOOTERS: dict[str, tuple[str, ...]] = {
    "en": (
        rf"sent from my {_DEVICE}[^\n]{{0,40}}",
        r"sent from my (?:apple watch|blackberry|sony|nokia|lg)[^\n]{0,40}",
        r"sent from (?:outlook|yahoo mail|aol mail|mail|gmail|proton ?mail)"
        r"(?: for| on| mobile)?[^\n]{0,30}",
        r"get outlook for (?:ios|android)",
        r"sent via [^\n]{1,30} (?:mobile|app)",
    ),
    "de": (
        rf"von meine[mr]? {_DEVICE}[^\n]{{0,40}} gesendet",
        r"von meine[mr]? (?:mobiltelefon|handy)[^\n]{0,40} gesendet",
        r"gesendet (?:von|mit) (?:meinem|meiner) [^\n]{1,40}",
        r"gesendet von outlook für (?:ios|android)",
        r"gesendet von [^\n]{1,30} (?:auf|für) (?:android|ios|iphone|ipad)",  # Yahoo, AOL apps
        r"outlook für (?:ios|android) (?:herunterladen|beziehen)",
        r"gesendet mit der [^\n]{1,30} app",
    ),
    "fr": (
        rf"envoyé (?:de|depuis) mon (?:appareil )?{_DEVICE}[^\n]{{0,40}}",
        r"envoyé (?:de|depuis|avec) [^\n]{1,30} (?:sur|pour) (?:android|ios|iphone|ipad)",
        r"(?:télécharger|obtenir) outlook pour (?:ios|android)",
    ),
    "es": (
        rf"enviado desde mi (?:dispositivo )?(?:móvil|{_DEVICE})[^\n]{{0,40}}",
        r"enviado desde [^\n]{1,30} (?:para|en) (?:android|ios|iphone|ipad)",
        r"obtener outlook para (?:ios|android)",
    ),
    "it": (
        rf"inviato da (?:il mio )?{_DEVICE}[^\n]{{0,40}}",
        rf"inviato dal mio (?:dispositivo )?{_DEVICE}[^\n]{{0,40}}",
        r"scarica outlook per (?:ios|android)",
    ),
    "nl": (
        rf"verzonden (?:vanaf|van|met) mijn {_DEVICE}[^\n]{{0,40}}",
        r"outlook voor (?:ios|android) downloaden",
    ),
    "pt": (
        rf"enviado (?:do|de|a partir do) (?:meu )?(?:celular|{_DEVICE})[^\n]{{0,40}}",
        r"obter o outlook para (?:ios|android)",
    ),
    "pl": (
        r"wysłan[eo] z (?:mojego )?(?:iphone'?a|ipada|iphone|smartfona|telefonu|urządzenia)"
        r"[^\n]{0,40}",
        r"pobierz aplikację outlook dla systemu (?:ios|android)",
    ),
    "sv/da/no": (
        rf"skickat från min (?:mobil|{_DEVICE})[^\n]{{0,40}}",
        rf"sendt fra min (?:mobil|{_DEVICE})[^\n]{{0,40}}",
        r"(?:hämta|hent|last ned) outlook (?:för|til|for) (?:ios|android)",
    ),
}

# Closing words that may open the last paragraph, before the name of a signature block.
VALEDICTIONS: dict[str, tuple[str, ...]] = {
    "en": ("best regards", "kind regards", "regards", "best", "thanks", "thank you", "cheers"),
    "de": ("mit freundlichen grüßen", "mit freundlichen grüssen", "viele grüße", "beste grüße"),
    "de2": ("liebe grüße", "freundliche grüße", "gruß", "grüße", "danke", "vielen dank"),
    "fr": ("cordialement", "bien cordialement", "salutations", "bien à vous", "merci"),
    "es": ("saludos", "un saludo", "atentamente", "gracias", "saludos cordiales"),
    "it": ("cordiali saluti", "distinti saluti", "saluti", "grazie"),
    "nl": ("met vriendelijke groet", "vriendelijke groet", "groeten", "bedankt"),
    "pt": ("atenciosamente", "cumprimentos", "abraços", "obrigado", "obrigada"),
    "pl": ("pozdrawiam", "z poważaniem", "dziękuję"),
    "sv/da/no": ("med vänlig hälsning", "vänliga hälsningar", "mvh", "hälsningar", "tack"),
    "da/no": ("med venlig hilsen", "venlig hilsen", "vennlig hilsen", "hilsen", "takk", "tak"),
}


# -- compiled once --------------------------------------------------------------------------


def _alternation(table: dict[str, tuple[str, ...]], *, escape: bool) -> str:
    words = [w for group in table.values() for w in group]
    words.sort(key=len, reverse=True)
    return "|".join(re.escape(w) if escape else w for w in words)


def _labels(role: str) -> str:
    return _alternation(HEADER_LABELS[role], escape=True)


_ATTRIBUTION = re.compile(
    "(?:" + "|".join(p for group in ATTRIBUTIONS.values() for p in group) + r")\s*",
    re.IGNORECASE | re.DOTALL,
)
# A cheap test before the attribution table: a line that ends the attribution.
_ATTRIBUTION_END = re.compile(r"[:：]\s*$")
_WROTE_WORD = re.compile(
    r"wrote|schrieb|geschrieben|écrit|escribió|scritto|schreef|geschreven|escreveu|"
    r"napisa|pisze|skrev",
    re.IGNORECASE,
)
_HAS_DATE_OR_ADDRESS = re.compile(r"\d|@")
# Strong enough to cut unquoted history: a time of day or an address.
_STRONG_ATTRIBUTION = re.compile(r"\d{1,2}[:.h]\d{2}|@")
_TIME = re.compile(r"\d{1,2}[:.h]\d{2}")
_SEPARATOR = re.compile(
    r"-{2,30}\s*(?:" + _alternation(SEPARATOR_PHRASES, escape=True) + r")\s*:?\s*-{2,30}",
    re.IGNORECASE,
)
_FORWARD_LINE = re.compile(
    r"(?:" + _alternation(FORWARD_LINES, escape=True) + r")\s*[:：]?",
    re.IGNORECASE,
)
_RULE = re.compile(r"_{10,}|—{10,}|-{30,}")
_LABEL_SUFFIX = r"\s*\*?\s*[:：]\s*\*?"
_FROM_LINE = re.compile(r"\*?(?:" + _labels("from") + ")" + _LABEL_SUFFIX + r"\s*\S", re.I)
_OTHER_LABEL = re.compile(
    "|".join(
        rf"(?P<{role}>\*?(?:{_labels(role)}){_LABEL_SUFFIX})"
        for role in ("date", "to", "cc", "subject")
    ),
    re.IGNORECASE,
)
_HEADER_BLOCK_WINDOW = 8  # lines after From: in which the other labels must appear
_MOBILE_FOOTER = re.compile(
    r"(?:" + _alternation(MOBILE_FOOTERS, escape=False) + r")\.?(?:\s*<[^<>\s]{1,300}>)?",
    re.IGNORECASE,
)
_VALEDICTION = re.compile(
    r"(?:" + _alternation(VALEDICTIONS, escape=True) + r")\s*[,.!]?(?:\s+\S{1,20}[,.!]?)?",
    re.IGNORECASE,
)
# Contact lines of a signature block: a labelled or bare phone number, an address, a URL.
_PHONE_LABEL = (
    r"(?:tel|tél|phone|ph|mobile|mob|mobil|cell|fax|telefon|telefono|teléfono|téléphone|"
    r"tlf|handy|direct|office|t|m|p|f)"
)
_CONTACT = re.compile(
    rf"(?:{_PHONE_LABEL}\.?\s*[:.]?\s*)?\+?\(?\d[\d \t()./-]{{5,22}}\d"
    r"|[^\s@]{1,64}@[^\s@]{1,255}\.[a-z]{2,24}"
    r"|(?:https?://|www\.)\S{3,200}",
    re.IGNORECASE,
)
_NAME_LIKE = re.compile(r"[^\W\d_][\w.'’-]*(?:[ \t]+[^\W\d_][\w.'’-]*){0,3},?", re.UNICODE)
_MAX_ATTRIBUTION_LINES = 3
_MAX_ATTRIBUTION_CHARS = 400
_MAX_MARKER_CHARS = _MAX_ATTRIBUTION_CHARS
_MAX_ATTRIBUTION_TRIES = 200  # candidate lines per message: a bound for hostile input
_MAX_FOOTER_DISTANCE = 3  # a mobile footer sits among the last lines of the text
_MAX_BLOCK_LINES = 6
_MAX_BLOCK_LINE_CHARS = 70


class _Cut(Enum):
    HARD = "hard"  # unquoted history follows: everything from here on goes
    QUOTE = "quote"  # a ">" block starts here (or its attribution does)


def _is_quoted(line: str) -> bool:
    return line.lstrip().startswith(">")


def _is_delimiter(line: str) -> bool:
    return line.rstrip() == "--"


def _next_text(lines: list[str], start: int) -> int | None:
    for index in range(start, len(lines)):
        if lines[index].strip():
            return index
    return None


def _previous_text(lines: list[str], start: int) -> int | None:
    for index in range(start, -1, -1):
        if lines[index].strip():
            return index
    return None


def _label_role(line: str) -> str | None:
    """``date``, ``to``, ``cc`` or ``subject`` for a header-block line, else None."""
    match = _OTHER_LABEL.match(line.strip())
    return match.lastgroup if match else None


def _header_block_follows(lines: list[str], start: int, roles: dict[int, str | None]) -> bool:
    """A From: line at ``start`` followed by a date or subject label and one more label.

    ``roles`` caches each line's label role, so a run of From: lines costs one look each.
    """
    found: set[str] = set()
    for index in range(start + 1, min(len(lines), start + 1 + _HEADER_BLOCK_WINDOW)):
        if index not in roles:
            roles[index] = _label_role(lines[index])
        role = roles[index]
        if role is not None:
            found.add(role)
    return len(found) >= 2 and bool(found & {"date", "subject"})


def _attribution_start(lines: list[str], end: int) -> int | None:
    """The first line of an "On … wrote:" attribution ending at line ``end``, or None."""
    for start in range(end, max(-1, end - _MAX_ATTRIBUTION_LINES), -1):
        chunk = lines[start : end + 1]
        if any(not line.strip() or _is_quoted(line) for line in chunk):
            return None
        joined = " ".join(line.strip() for line in chunk)
        if len(joined) > _MAX_ATTRIBUTION_CHARS:
            return None
        if not _HAS_DATE_OR_ADDRESS.search(joined) or not _WROTE_WORD.search(joined):
            continue
        if _ATTRIBUTION.fullmatch(joined):
            return start
    return None


def _runs_into_history(line: str) -> bool:
    """An attribution with the history run into its line (checked right under a footer):
    a "wrote" word, an address and a time of day."""
    head = line.strip()[:_MAX_ATTRIBUTION_CHARS]
    return "@" in head and bool(_WROTE_WORD.search(head) and _TIME.search(head))


def _find_cut(lines: list[str]) -> tuple[int, _Cut] | None:
    """The first line of quoted history and what kind of history follows it."""
    tries = 0
    roles: dict[int, str | None] = {}
    for index, line in enumerate(lines):
        stripped = line.strip()
        if not stripped:
            continue
        if stripped[0] == ">":
            return index, _Cut.QUOTE
        if len(stripped) > _MAX_MARKER_CHARS:
            continue  # no marker, header or attribution line is this long
        if _SEPARATOR.fullmatch(stripped) or _FORWARD_LINE.fullmatch(stripped):
            return index, _Cut.HARD
        if _FROM_LINE.match(stripped) and _header_block_follows(lines, index, roles):
            above = _previous_text(lines, index - 1)
            if above is not None and _RULE.fullmatch(lines[above].strip()):
                return above, _Cut.HARD
            return index, _Cut.HARD
        if _MOBILE_FOOTER.fullmatch(stripped):
            # Yahoo's and other apps' plain text run the attribution into the quoted text
            # on one line, right under their footer: "On …, X<x@y> wrote:   Hello…".
            following = _next_text(lines, index + 1)
            if following is not None and _runs_into_history(lines[following]):
                return following, _Cut.HARD
        if tries < _MAX_ATTRIBUTION_TRIES and _ATTRIBUTION_END.search(stripped):
            tries += 1
            start = _attribution_start(lines, index)
            if start is None:
                continue
            following = _next_text(lines, index + 1)
            if following is not None and _is_quoted(lines[following]):
                return start, _Cut.QUOTE
            joined = " ".join(line.strip() for line in lines[start : index + 1])
            if _STRONG_ATTRIBUTION.search(joined):
                return start, _Cut.HARD
    return None


def _signature_start(lines: list[str]) -> int | None:
    """The first line of a signature in ``lines`` (its delimiter or footer line), or None."""
    first = _next_text(lines, 0)
    if first is None:
        return None
    for index in range(first + 1, len(lines)):
        if _is_delimiter(lines[index]):
            return index
    last_lines: list[int] = []
    for index in range(len(lines) - 1, first, -1):
        if lines[index].strip():
            last_lines.append(index)
            if len(last_lines) == _MAX_FOOTER_DISTANCE:
                break
    for index in reversed(last_lines):
        if _MOBILE_FOOTER.fullmatch(lines[index].strip()):
            return index
    return _contact_block_start(lines, first)


def _contact_block_start(lines: list[str], first: int) -> int | None:
    """A short last paragraph of a name and contact lines (conservative), or None."""
    end = len(lines)
    while end > first and not lines[end - 1].strip():
        end -= 1
    start = end
    while start > first and lines[start - 1].strip():
        start -= 1
    block = [line.strip() for line in lines[start:end]]
    if start <= first or not 2 <= len(block) <= _MAX_BLOCK_LINES:
        return None
    if any(len(line) > _MAX_BLOCK_LINE_CHARS or line.endswith("?") for line in block):
        return None
    if not any(_CONTACT.fullmatch(line) for line in block):
        return None
    offset = 1 if _VALEDICTION.fullmatch(block[0]) else 0
    if offset >= len(block) - 1 or not _NAME_LIKE.fullmatch(block[offset]):
        return None
    return start + offset


def _signature_text(lines: list[str], start: int) -> str:
    skip = 1 if _is_delimiter(lines[start]) else 0
    return _text(lines[start + skip :])


def _split_signature(lines: list[str]) -> tuple[list[str], str | None]:
    start = _signature_start(lines)
    if start is None:
        return lines, None
    body, signature = lines[:start], _signature_text(lines, start)
    if not _text(body):
        return lines, None
    return body, signature or None


def _signature_only(lines: list[str]) -> str | None:
    """The signature when ``lines`` are nothing but one (a delimiter or a mobile footer)."""
    first = _next_text(lines, 0)
    if first is None:
        return None
    line = lines[first]
    if _is_delimiter(line) or _MOBILE_FOOTER.fullmatch(line.strip()):
        return _signature_text(lines, first) or None
    return None


def _text(lines: list[str]) -> str:
    """The lines as one text: common indentation (HTML rendering adds some) and blank
    lines around it removed."""
    text = "\n".join(line.rstrip() for line in lines).strip("\n")
    if text[:1].isspace():  # else the common indentation is none
        text = textwrap.dedent(text)
    return text.strip()


@dataclass(slots=True)
class _Layout:
    """A text cut at a ``>`` block: the runs of new text around the quoted blocks.

    ``runs[0]`` is the text above the first block, ``runs[k + 1]`` the text below block
    ``k`` (without the attribution of the next block); ``attributed[k]`` tells whether
    block ``k`` came with an "On … wrote:" line.
    """

    runs: list[list[str]]
    quotes: list[list[str]]
    attributed: list[bool]

    def has_text(self, run: int) -> bool:
        return any(line.strip() for line in self.runs[run])

    def interleaved(self) -> bool:
        """Answers between the quotes: text between two blocks, or text above and below a
        block nobody attributed (a question quoted inside the answer)."""
        last = len(self.runs) - 1
        if any(self.has_text(run) for run in range(1, last)):
            return True
        return last >= 1 and not self.attributed[0] and self.has_text(0) and self.has_text(1)

    def context_lines(self) -> list[str]:
        """The new text with the blocks it answers (a trailing block goes)."""
        lines = list(self.runs[0])
        for block, quote in enumerate(self.quotes):
            if self.has_text(block + 1):
                lines += quote + self.runs[block + 1]
        return lines


def _without_attribution(run: list[str], tries: list[int]) -> tuple[list[str], bool]:
    """``run`` without the "On … wrote:" lines at its end (they introduce the next block)."""
    last = _previous_text(run, len(run) - 1)
    if last is None or tries[0] >= _MAX_ATTRIBUTION_TRIES:
        return run, False
    if not _ATTRIBUTION_END.search(run[last]) or len(run[last]) > _MAX_MARKER_CHARS:
        return run, False
    tries[0] += 1
    start = _attribution_start(run, last)
    if start is None:
        return run, False
    return run[:start], True


def _layout(lines: list[str], index: int) -> _Layout:
    """Read the text from the ``>`` cut at ``index`` on into runs and blocks."""
    layout = _Layout(runs=[lines[:index]], quotes=[], attributed=[not _is_quoted(lines[index])])
    tries = [0]
    position = index
    while position < len(lines) and not _is_quoted(lines[position]):
        position += 1  # the attribution of the first block
    while position < len(lines):
        start = position
        while position < len(lines) and (
            _is_quoted(lines[position]) or not lines[position].strip()
        ):
            position += 1
        layout.quotes.append(lines[start:position])
        start = position
        while position < len(lines) and not _is_quoted(lines[position]):
            position += 1
        run = lines[start:position]
        if position < len(lines):
            run, attributed = _without_attribution(run, tries)
            layout.attributed.append(attributed)
        layout.runs.append(run)
    return layout


def _split_last_signature(runs: list[list[str]]) -> str | None:
    """Split the signature off the last run of new text (in place); the signature.

    A run of nothing but a signature below the quotes (Thunderbird's "signature below the
    quote") is the signature, and the run above it is looked at too.
    """
    texts = [number for number, run in enumerate(runs) if _text(run)]
    if not texts:
        return None
    below = None
    if len(texts) > 1:
        below = _signature_only(runs[texts[-1]])
        if below is not None:
            runs[texts[-1]] = []
            texts.pop()
    body, signature = _split_signature(runs[texts[-1]])
    runs[texts[-1]] = body
    return signature or below


def _joined(runs: list[list[str]]) -> str:
    return "\n\n".join(text for text in (_text(run) for run in runs) if text)


def split_reply(text: str) -> Reply:
    """Split ``text`` into the new reply text and its signature; see the module docstring."""
    if not text.strip():
        return Reply(text=text, signature=None)
    lines = text.split("\n")
    cut = _find_cut(lines)
    layout: _Layout | None = None
    if cut is None:
        runs = [lines]
    elif cut[1] is _Cut.HARD:
        runs = [lines[: cut[0]]] if _text(lines[: cut[0]]) else [lines]
    else:
        layout = _layout(lines, cut[0])
        runs = layout.runs
    signature = _split_last_signature(runs)
    new = _joined(runs)
    if not new:
        # Nothing new outside the quotes (or only a signature): keep the text whole, but
        # nobody wrote a line of it now.
        return Reply(text=_text(lines), signature=None, new=None if layout is None else "")
    if layout is not None and layout.interleaved():
        return Reply(text=_text(layout.context_lines()), signature=signature, new=new)
    return Reply(text=new, signature=signature)
