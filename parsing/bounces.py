"""Bounces in every dialect: who failed, permanently or not, and which message bounced.

Two readers, one result (:class:`Bounce`):

- an RFC 3464 delivery report (Postfix, Sendmail, Exchange and Microsoft 365, Gmail,
  Courier…) is read by :mod:`parsing.dsn`, which also gives the status code;
- anything else that *looks like* a bounce is handed to flufl.bounce, GNU Mailman's
  maintained collection of detectors for the non-standard dialects (Exim's
  ``X-Failed-Recipients``, qmail's QSBMF, Yahoo, old Exchange and Sendmail texts…). It only
  sees mail from a machine (a null Return-Path, a ``MAILER-DAEMON``/``postmaster``/Exchange
  system sender, or ``X-Failed-Recipients``), so its heuristics never read a customer's
  words as a bounce. The status code is then the first enhanced code (``5.1.1``) in the
  notification text above the returned message. flufl.bounce counts every failure it
  cannot classify as permanent; a ``4.x.x`` status or a delay-warning subject of
  :data:`DELAY_SUBJECTS` makes it temporary.

A machine's mail with a bounce subject of :data:`BOUNCE_SUBJECTS` is a bounce even when no
reader finds its recipients: it still belongs to the ticket whose mail bounced.

The Message-ID of the bounced message (``original_message_id``) comes from the returned
message (``message/rfc822``) or headers (``text/rfc822-headers``) part, the report's
``X-Original-Message-ID``, or a ``Message-ID:`` line of the headers returned inline below
a marker of :data:`RETURNED_MESSAGE_MARKERS`. Imports nothing of the project but its
helpers and the model.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import replace
from email.message import Message
from email.parser import HeaderParser

from flufl.bounce import all_failures

from parsing.dsn import is_delivery_report, parse_bounce, report_parts, reported_message_id
from parsing.headers import decode_octets
from parsing.model import Address, Bounce
from parsing.msgids import first_id

# Subjects bouncing MTAs write (lower case, matched at the start of the subject).
BOUNCE_SUBJECTS: dict[str, tuple[str, ...]] = {
    "postfix": ("undelivered mail returned to sender", r"delayed mail \(still being retried\)"),
    "exim": ("mail delivery failed", r"warning: message \S{1,40} delayed"),
    "qmail, yahoo": ("failure notice",),
    "sendmail": ("returned mail", "warning: could not send message"),
    "exchange, microsoft 365": (
        *("undeliverable", "undelivered", "delivery has failed", "non remis", "unzustellbar"),
        *("nicht zustellbar", "non recapitabile", "no se puede entregar", "onbestelbaar"),
        *("não é possível entregar", "niedostarczalne", "olevererbart", "kan ikke leveres"),
    ),
    "gmail": (r"delivery status notification", "address not found", "message not delivered"),
    "courier": (r"notice: mail delivery status", r"warning: delayed mail"),
    "generic": (
        *("mail delivery failure", "delivery failure", "delivery failed", "nondeliverable"),
        *("non-delivery", "mail system error", "message delivery failure"),
        *("delivery notification: delivery has failed", "mail could not be delivered"),
    ),
}

# Subjects of delay warnings: the message is still being retried, nothing failed for good.
DELAY_SUBJECTS: tuple[str, ...] = (
    r"delayed mail \(still being retried\)",  # Postfix
    r"warning: message \S{1,40} delayed",  # Exim
    r"warning: could not send message for past",  # Sendmail
    r"warning: delayed mail",  # Courier
    r"delivery status notification \(delay\)",  # Gmail, Exchange
    r"delivery delayed",  # Exchange, Microsoft 365 ("Delivery delayed: …")
)

# Lines after which a bounce returns the original message or its headers, inline.
RETURNED_MESSAGE_MARKERS: tuple[str, ...] = (
    r"-+ ?this is a copy of the message",  # Exim
    r"-+ ?below this line is a copy of the message",  # qmail, Yahoo
    r"-+ ?original message follows",  # Sendmail, Yahoo for other domains
    r"-+ ?the original message was",
    r"original message headers\b",  # Exchange, Microsoft 365 (and its translations below)
    r"en-têtes de message d'origine\b",
    r"ursprüngliche nachrichtenheader\b",
    r"ursprüngliche nachrichtenkopfzeilen\b",
    r"-+ ?original message -+",  # older Gmail
    r"-+ ?returned mail follows",
    r"-+ ?start of returned message",
    r"-+ ?unsent message below",
    r"the original message follows",  # Courier
)

_DAEMON_LOCAL_PARTS = frozenset(
    {"mailer-daemon", "mailer_daemon", "mailerdaemon", "mail-daemon", "postmaster"}
)
_EXCHANGE_SYSTEM_SENDER = "microsoftexchange"  # MicrosoftExchange329e71ec88ae4615…@contoso
_BOUNCE_SUBJECT = re.compile(
    r"\s*(?:" + "|".join(p for group in BOUNCE_SUBJECTS.values() for p in group) + r")\b",
    re.IGNORECASE,
)
_DELAY_SUBJECT = re.compile(r"\s*(?:" + "|".join(DELAY_SUBJECTS) + ")", re.IGNORECASE)
_RETURNED_MESSAGE = re.compile(
    r"^[ \t]*(?:" + "|".join(RETURNED_MESSAGE_MARKERS) + ")",
    re.IGNORECASE | re.MULTILINE,
)
_STATUS = re.compile(r"(?<![\d.])([45]\.\d{1,3}\.\d{1,3})(?!\d|\.\d)")
_MESSAGE_ID_LINE = re.compile(r"^[ \t]*message-id[ \t]*:[ \t]*(<[^<>\s]{3,998}>)", re.I | re.M)
_RETURNED_PARTS = frozenset(
    {"message/rfc822", "message/global", "text/rfc822-headers", "message/global-headers"}
)
# flufl.bounce reads line by line; a notification is never this long.
_MAX_SCAN_BYTES = 2_000_000


class _DetectorErrorsInOneLine(logging.Filter):
    """flufl.bounce logs a detector that chokes on a damaged message at ERROR, with its
    traceback, then raises; :func:`_flufl_failures` catches that and carries on. On malformed
    mail that is a traceback per message (790 in a five-minute fuzz run): a flood that hides
    real errors. This filter turns the record into one WARNING line naming the detector and
    the error.

    It sits on flufl's own logger, installed once when this module is imported: a filter
    rather than a level, so flufl's other records pass as they are and the admin's logging
    set-up (levels, handlers, the root logger) is not touched.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.levelno >= logging.ERROR:
            error = record.exc_info[1]
            detector = record.args[0] if isinstance(record.args, tuple) and record.args else "?"
            record.msg = "bounce detector %s gave up on a malformed message: %s: %s"
            record.args = (
                getattr(detector, "__name__", detector),
                type(error).__name__,
                " ".join(str(error).split())[:200],  # one line, whatever the message held
            )
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.exc_info, record.exc_text = None, None
        return True


_FLUFL_LOG = logging.getLogger("flufl.bounce")
if not any(isinstance(f, _DetectorErrorsInOneLine) for f in _FLUFL_LOG.filters):
    _FLUFL_LOG.addFilter(_DetectorErrorsInOneLine())


def _is_machine_sender(sender: Address | None, return_path: str | None) -> bool:
    if return_path == "":
        return True
    if sender is None:
        return False
    local = sender.address.rpartition("@")[0].lower()
    return not local or local in _DAEMON_LOCAL_PARTS or local.startswith(_EXCHANGE_SYSTEM_SENDER)


def _addresses(found: Iterable[bytes]) -> list[str]:
    result: list[str] = []
    for raw in found:
        address = raw.decode("ascii", "replace").strip().strip("<>").strip().lower()
        if "@" in address and not any(c.isspace() for c in address):
            result.append(address)
    return sorted(set(result))


def notification(text: str) -> str:
    """The text above the returned message: the MTA's own words, a bounce's reply text."""
    match = _RETURNED_MESSAGE.search(text)
    return text[: match.start()] if match else text


def _status(text: str) -> str | None:
    match = _STATUS.search(notification(text))
    return match.group(1) if match else None


def _returned_part_id(part: Message) -> str | None:
    content_type = part.get_content_type()
    payload = part.get_payload()
    if isinstance(payload, list):
        inner = next((p for p in payload if isinstance(p, Message)), None)
        return first_id(str(inner.get("Message-ID", ""))) if inner is not None else None
    data = part.get_payload(decode=True)
    if not isinstance(data, bytes):
        return None
    text, _ = decode_octets(data[:_MAX_SCAN_BYTES])
    if content_type.endswith("headers"):
        return first_id(str(HeaderParser().parsestr(text, headersonly=True).get("Message-ID", "")))
    match = _MESSAGE_ID_LINE.search(text)
    return match.group(1) if match else None


def original_message_id(message: Message, text: str) -> str | None:
    """The Message-ID of the message that bounced, when the bounce carries it."""
    for part in report_parts(message):
        if part.get_content_type() in _RETURNED_PARTS:
            found = _returned_part_id(part)
            if found:
                return found
    reported = first_id(reported_message_id(message))
    if reported:
        return reported
    match = _RETURNED_MESSAGE.search(text)
    match = _MESSAGE_ID_LINE.search(text, match.end() if match else 0)
    return match.group(1) if match else None


def _flufl_failures(message: Message) -> tuple[list[str], list[str]]:
    """(permanent, temporary) failed recipients by flufl.bounce's detectors."""
    try:
        temporary, permanent = all_failures(message)  # flufl's order: temporary first
    except Exception:  # a detector choking on a damaged part costs its answer only
        return [], []
    failed = _addresses(permanent)
    return failed, [a for a in _addresses(temporary) if a not in failed]


def find_bounce(
    message: Message,
    *,
    headers: Mapping[str, str],
    sender: Address | None,
    return_path: str | None,
    subject: str,
    text: str,
) -> tuple[bool, Bounce | None]:
    """Whether ``message`` is a delivery report or bounce, and what it says failed.

    ``headers`` maps lower-cased header names to their first decoded value; ``text`` is the
    body text (where inline bounces carry their words and the returned headers).
    """
    report = is_delivery_report(message)
    bounce = parse_bounce(message) if report else None
    if bounce is None or not bounce.recipients:
        machine = _is_machine_sender(sender, return_path)
        if not (report or machine or headers.get("x-failed-recipients", "").strip()):
            return False, None
        permanent, temporary = _flufl_failures(message)
        status = bounce.status if bounce is not None else _status(text)
        if permanent or temporary:
            bounce = Bounce(
                recipients=(*permanent, *temporary),
                permanent=bool(permanent)
                and not (status or "").startswith("4")
                and not _DELAY_SUBJECT.match(subject),
                status=status,
            )
        elif bounce is None and (report or (machine and _BOUNCE_SUBJECT.match(subject))):
            # Recipients unknown; the status still tells a failure from a delay.
            failed = (status or "").startswith("5") and not _DELAY_SUBJECT.match(subject)
            bounce = Bounce(recipients=(), permanent=failed, status=status)
    if bounce is None:
        return False, None
    found = original_message_id(message, text)
    return True, replace(bounce, original_message_id=found) if found else bounce
