"""Is a mail authenticated as its From domain? Read from ``Authentication-Results`` (RFC 8601).

Agent commands are taken only from mail the trust rule accepts (DESIGN invariant 6). Our
own receiving MTA (or a filter such as OpenDKIM, OpenDMARC, rspamd) checks DKIM and DMARC
and records the outcome in an ``Authentication-Results`` header; a sender can write the
same header into the mail, so only headers whose authserv-id is one the admin configured
are believed. The receiving MTA must strip incoming ``Authentication-Results`` headers that
carry its own authserv-id (RFC 8601 section 5); nothing here can tell its header from a
copy the sender wrote.

Authserv-ids compare as RFC 8601 says: ASCII case-insensitive, a quoted-string
(``"mx.example.com"``) the same as the bare word, in the header and in the configured
ids alike. Anything else that is not exactly one of ours (a trailing dot, a space inside
the quotes, a word half quoted, a backslash escape, a non-ASCII look-alike) is not ours:
an MTA that strips only its own id would let it through.

Trusted are ``dmarc=pass`` whose ``header.from`` is the From domain, or ``dkim=pass`` for
a signing domain (``header.d``, else ``header.i``) aligned with it (DMARC's relaxed
alignment, with an approximate organisational domain instead of the Public Suffix List).
A verdict that names no domain proves nothing: ``dmarc=pass`` without ``header.from``
and ``dkim=pass`` without ``header.d``/``header.i`` do not count. A trusted
``dmarc=fail`` for the From domain, or one without ``header.from`` (which may be about
this very mail, so it is read as a fail for the From domain), outweighs any DKIM pass.
Imports nothing of the project.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

# Second-level labels under which registrations sit in many country TLDs (example.co.uk).
_SHORT_SECOND_LEVEL = frozenset(
    {"ac", "co", "com", "edu", "gov", "go", "ltd", "mil", "ne", "net", "or", "org", "plc", "sch"}
)
_FOLD = re.compile(r"\r?\n[ \t]+|\r\n?|\n")
_HEADER_NAME = re.compile(r"\s*authentication-results\s*:", re.IGNORECASE)
_VERSION = re.compile(r"[0-9]{1,9}\Z")
# What an authserv-id may hold once unquoted: no white space, control characters, quotes
# or backslashes, so no two spellings of one id differ by more than ASCII case and quotes.
_AUTHSERV_ID = re.compile(r'[^\s"\\\x00-\x1f\x7f]+\Z')
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_SHOWN_IDS = 5  # ignored authserv-ids named in a verdict, each cut to:
_SHOWN_ID_CHARS = 64


@dataclass(frozen=True, slots=True)
class AuthResult:
    """One ``method=result`` of a header with its properties (``header.d``, ``reason``…).

    ``method`` and ``result`` are lower case, a method version (``dkim/1``) is dropped;
    property names are lower case, values unquoted as written.
    """

    method: str
    result: str
    properties: Mapping[str, str] = field(default_factory=dict, hash=False)

    def get(self, name: str) -> str | None:
        """The value of property ``name`` (``"header.d"``), or None."""
        return self.properties.get(name.lower())


@dataclass(frozen=True, slots=True)
class AuthResults:
    """One ``Authentication-Results`` header.

    ``authserv_id`` is unquoted and in ASCII lower case, and ``""`` where the header has
    none (Microsoft 365 writes its headers so); ``results`` is empty for
    ``authserv-id; none``.
    """

    authserv_id: str
    results: tuple[AuthResult, ...]


@dataclass(frozen=True, slots=True)
class AuthVerdict:
    """Whether to treat the mail as sent by its From domain, and why, for logs and events."""

    trusted: bool
    reason: str


@dataclass(slots=True)
class _Token:
    """A word or a quoted-string; ``exact`` while it is one of them written plainly.

    A word with a quoted part (``mx."example".com``), text after the closing quote, or a
    backslash escape inside quotes makes it inexact: harmless in a property value, but
    not a way to spell an authserv-id.
    """

    text: str
    quoted: bool = False
    exact: bool = True


def _segments(value: str) -> list[list[_Token]]:
    """Split on ``;`` into whitespace-separated tokens; ``=`` is a token of its own.

    Comments ``( … )`` (nested, with ``\\`` escapes) act as whitespace, quoted strings
    are one token, also when they hold ``;``, ``=`` or spaces. Unclosed quotes or
    comments run to the end of the value rather than failing: the header is only
    believed for what it plainly says.
    """
    segments: list[list[_Token]] = [[]]
    token: _Token | None = None
    depth = 0
    quoted = False
    escaped = False

    def end_token() -> None:
        nonlocal token
        if token is not None:
            segments[-1].append(token)
            token = None

    for char in value:
        if escaped:
            escaped = False
            if quoted and token is not None:
                token.text += char
                token.exact = False
        elif char == "\\" and (quoted or depth):
            escaped = True
        elif quoted:
            if char == '"':
                quoted = False
            elif token is not None:
                token.text += char
        elif depth:
            depth += {"(": 1, ")": -1}.get(char, 0)
        elif char == "(":
            end_token()
            depth = 1
        elif char == '"':
            if token is None:
                token = _Token("", quoted=True)
            else:
                token.exact = False
            quoted = True
        elif char.isspace():
            end_token()
        elif char in ";=":
            end_token()
            if char == ";":
                segments.append([])
            else:
                segments[-1].append(_Token("="))
        else:
            if token is None:
                token = _Token("")
            elif token.quoted:
                token.exact = False  # text after the closing quote
            token.text += char
    end_token()
    return segments


def _pairs(tokens: list[_Token]) -> list[tuple[str, str]]:
    """``key = value`` triples of a segment; stray words (no ``=``) are skipped."""
    pairs: list[tuple[str, str]] = []
    index = 0
    while index < len(tokens):
        key = tokens[index]
        follows_equals = index + 1 < len(tokens) and _is_equals(tokens[index + 1])
        if not _is_equals(key) and follows_equals:
            value = tokens[index + 2] if index + 2 < len(tokens) else None
            if value is not None and not _is_equals(value):
                pairs.append((key.text, value.text))
                index += 3
                continue
            pairs.append((key.text, ""))
            index += 2
            continue
        index += 1
    return pairs


def _is_equals(token: _Token) -> bool:
    return token.text == "=" and not token.quoted


def _result(pairs: list[tuple[str, str]]) -> AuthResult:
    (method, result), *properties = pairs
    props: dict[str, str] = {}
    for key, value in properties:
        props.setdefault(key.lower(), value)
    return AuthResult(
        method=method.split("/", 1)[0].strip().lower(),
        result=result.lower(),
        properties=MappingProxyType(props),
    )


def parse_authentication_results(value: str) -> AuthResults | None:
    """One header value as :class:`AuthResults`, or None if it is not one.

    Folded lines, comments, quoted values, a quoted authserv-id, an ``authres-version``
    after the authserv-id (``mx.example.com 1;``) and ``; none`` are understood. An
    authserv-id that is neither one plain word nor one plain quoted-string, or holds
    white space, control characters, quotes or backslashes, makes it not a header (None),
    as does a version that is not plain digits. A segment holding only
    properties (``; header.d=example.com``, as some renderings of Microsoft's headers
    have it) belongs to the result before it.
    """
    value = _FOLD.sub(" ", _HEADER_NAME.sub("", value, count=1))
    first, *rest = _segments(value)
    if any(_is_equals(token) for token in first):
        authserv_id, rest = "", [first, *rest]  # no authserv-id: Microsoft 365
    elif len(first) == 1 or (len(first) == 2 and _is_version(first[1])):
        if not first[0].exact or not _AUTHSERV_ID.match(first[0].text):
            return None
        authserv_id = first[0].text.translate(_ASCII_LOWER)
    else:
        return None
    results: list[AuthResult] = []
    for segment in rest:
        pairs = _pairs(segment)
        if not pairs:
            continue  # "none", an empty segment after a trailing ";"
        if "." in pairs[0][0] and results:
            previous = results[-1]
            merged = dict(previous.properties)
            for key, item in pairs:
                merged.setdefault(key.lower(), item)
            results[-1] = AuthResult(previous.method, previous.result, MappingProxyType(merged))
            continue
        results.append(_result(pairs))
    return AuthResults(authserv_id=authserv_id, results=tuple(results))


def _is_version(token: _Token) -> bool:
    return not token.quoted and token.exact and _VERSION.match(token.text) is not None


def _configured_id(value: str) -> str:
    """A configured authserv-id as the header's is compared: unquoted, ASCII lower case."""
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    return value.translate(_ASCII_LOWER)


def _domain(value: str | None) -> str:
    """A comparable domain: after any ``@``, lower case, no trailing dot, IDNA-encoded."""
    if not value:
        return ""
    domain = value.rpartition("@")[2].strip().strip("<>").rstrip(".").lower()
    try:
        return domain.encode("idna").decode("ascii")
    except UnicodeError:
        return domain


def organizational_domain(domain: str) -> str:
    """An approximation of the DMARC organisational domain (no Public Suffix List).

    The last two labels, or three where the second-last is a short registry label under
    a two-letter country TLD (``example.co.uk``, ``example.com.au``).
    """
    labels = _domain(domain).split(".")
    keep = 2
    if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in _SHORT_SECOND_LEVEL:
        keep = 3
    return ".".join(labels[-keep:])


def is_aligned(signing_domain: str, from_domain: str) -> bool:
    """Relaxed alignment: both domains share an organisational domain."""
    signing, sender = _domain(signing_domain), _domain(from_domain)
    if not signing or not sender:
        return False
    return signing == sender or organizational_domain(signing) == organizational_domain(sender)


def _dkim_domain(result: AuthResult) -> str:
    return _domain(result.get("header.d") or result.get("header.i"))


def authentication_verdict(
    header_values: Sequence[str], from_domain: str, authserv_ids: Collection[str]
) -> AuthVerdict:
    """Whether the ``Authentication-Results`` values show the mail comes from ``from_domain``.

    Only headers whose authserv-id is in ``authserv_ids`` count (both unquoted, ASCII
    case-insensitive); one without an authserv-id is never believed, since nothing tells
    ours from a forged one. In order: a trusted ``dmarc=fail`` for the From domain or
    without ``header.from`` → not trusted; ``dmarc=pass`` with ``header.from`` the From
    domain → trusted; an aligned ``dkim=pass`` → trusted; anything else → not trusted.
    """
    sender = _domain(from_domain)
    if not sender:
        return AuthVerdict(False, "the mail has no From domain")
    believed = {_configured_id(i) for i in authserv_ids} - {""}
    trusted: list[tuple[str, AuthResult]] = []
    believed_headers = 0
    ignored: dict[str, None] = {}
    for value in header_values:
        parsed = parse_authentication_results(value)
        if parsed is None:
            continue
        if parsed.authserv_id in believed:
            believed_headers += 1
            trusted.extend((parsed.authserv_id, result) for result in parsed.results)
        else:
            ignored[parsed.authserv_id[:_SHOWN_ID_CHARS] or "(no authserv-id)"] = None
    if not believed_headers:
        reason = "no Authentication-Results from a trusted authserv-id"
        if ignored:
            reason += " (ignored: " + ", ".join(list(ignored)[:_SHOWN_IDS]) + ")"
        return AuthVerdict(False, reason)
    return _judge(trusted, sender)


def _judge(trusted: list[tuple[str, AuthResult]], sender: str) -> AuthVerdict:
    dmarc = [(i, r, _domain(r.get("header.from"))) for i, r in trusted if r.method == "dmarc"]
    for server, result, domain in dmarc:
        if result.result == "fail" and domain in ("", sender):
            unnamed = "" if domain else " (without header.from)"
            return AuthVerdict(False, f"dmarc=fail for {sender} from {server}{unnamed}")
    for server, result, domain in dmarc:
        if result.result == "pass" and domain == sender:
            return AuthVerdict(True, f"dmarc=pass for {sender} from {server}")
    dkim = [(i, r) for i, r in trusted if r.method == "dkim" and r.result == "pass"]
    for server, result in dkim:
        if is_aligned(_dkim_domain(result), sender):
            domain = _dkim_domain(result)
            return AuthVerdict(True, f"dkim=pass for {domain} aligned with {sender} from {server}")
    for _server, result, domain in dmarc:
        if result.result == "pass" and not domain:
            return AuthVerdict(False, f"dmarc=pass without header.from does not name {sender}")
        if result.result == "pass":
            return AuthVerdict(False, f"dmarc=pass for {domain} does not match {sender}")
    for _server, result in dkim:
        domain = _dkim_domain(result) or "an unnamed domain"
        return AuthVerdict(False, f"dkim=pass for {domain} is not aligned with {sender}")
    seen = ", ".join(dict.fromkeys(f"{r.method}={r.result}" for _, r in trusted)) or "none"
    return AuthVerdict(False, f"no dmarc=pass or aligned dkim=pass for {sender} ({seen})")
