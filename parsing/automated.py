"""Is this message written by a machine? One reason string, or None for a person's mail.

The verdict keeps maild out of mail loops (DESIGN invariant 3): automated mail never gets an
automatic reply. Signals are checked in a fixed order and the first match names the reason:

1. ``bounce``: an RFC 3464 delivery-status report or a non-standard bounce found by
   :mod:`parsing.bounces` (before ``null-sender``: a DSN has both);
2. ``auto-replied`` / ``auto-generated`` / ``auto-notified``: RFC 3834 ``Auto-Submitted``
   with any value but ``no`` (unknown values count as ``auto-generated``);
3. ``bulk`` / ``junk`` / ``list`` / ``auto-reply``: ``Precedence``;
4. ``auto-reply``: ``X-Autoreply`` / ``X-Autorespond`` (older auto-responders);
5. ``list``: ``List-Id`` or ``List-Unsubscribe``;
6. ``null-sender``: ``Return-Path: <>``;
7. ``mailer-daemon``: From ``MAILER-DAEMON@…`` or ``postmaster@…``;
8. ``out-of-office-subject``: a subject that starts like an out-of-office or automatic reply
   in one of the languages of :data:`OUT_OF_OFFICE_SUBJECTS` ("Automatic reply: …",
   "Abwesenheitsnotiz: …", "Réponse automatique : …"). This is the one *lower-confidence*
   reason: a subject is written by whoever sends the mail, and a person could write one of
   these. The pipeline treats it as automated for acknowledgements (no auto-reply to it),
   which at worst leaves one person without an acknowledgement.

The reason strings are stable: they are stored with messages and printed by
``maild parse``.

``X-Auto-Response-Suppress`` is deliberately not a signal: Outlook puts it on ordinary mail,
and a helpdesk that read it so stopped acknowledging real customers. Imports nothing of the
project but the model.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from parsing.model import Address

AUTO_SUBMITTED_REASONS = frozenset({"auto-replied", "auto-generated", "auto-notified"})
_PRECEDENCE = {
    "bulk": "bulk",
    "junk": "junk",
    "list": "list",
    "auto_reply": "auto-reply",
    "auto-reply": "auto-reply",
}
# X-Autoreply is a signal by its presence, unless it says outright that it is not one.
_NEGATIVE = frozenset({"no", "false", "0", "off"})
_DAEMON_LOCAL_PARTS = frozenset({"mailer-daemon", "postmaster"})
_TOKEN = re.compile(r"[^\s;(]+")

# Subject starts of out-of-office and automatic replies, by language (lower case). Each must
# be followed by a colon, a dash, a bracket or the end of the subject ("Absence: …", not
# "Absence of invoice").
OUT_OF_OFFICE_SUBJECTS: dict[str, tuple[str, ...]] = {
    "en": (
        *("out of office", "out of the office", "out of office autoreply", "automatic reply"),
        *("auto reply", "auto-reply", "autoreply", "auto response", "auto-response"),
        *("automatic response", "autoresponse", "away from the office", "vacation reply"),
        "on vacation",
    ),
    "de": (
        *("abwesenheitsnotiz", "automatische antwort", "abwesend", "automatische rückantwort"),
        "außer haus",
        "nicht im büro",
    ),
    "fr": ("réponse automatique", "absence", "absent du bureau", "absent(e) du bureau"),
    "es": ("respuesta automática", "fuera de la oficina", "ausente"),
    "it": ("risposta automatica", "fuori ufficio", "assente"),
    "nl": ("automatisch antwoord", "afwezig", "niet op kantoor", "automatisch beantwoord"),
    "pt": ("resposta automática", "fora do escritório", "ausente do escritório"),
    "pl": ("odpowiedź automatyczna", "automatyczna odpowiedź", "poza biurem"),
    "sv/da/no": ("autosvar", "automatiskt svar", "frånvaro", "fraværende", "ikke på kontoret"),
    "fi": ("automaattinen vastaus", "poissa toimistolta"),
    "cs": ("automatická odpověď",),
    "ru": ("автоматический ответ", "автоответ"),
    "ja/zh": ("自動応答", "自动回复", "自動回覆"),
}
_OUT_OF_OFFICE_PHRASES = sorted(
    (phrase for group in OUT_OF_OFFICE_SUBJECTS.values() for phrase in group),
    key=len,
    reverse=True,
)
_OUT_OF_OFFICE = re.compile(
    r"\s*(?:" + "|".join(map(re.escape, _OUT_OF_OFFICE_PHRASES)) + r")\s*(?:[:：\-–—(\[]|$)",
    re.IGNORECASE,
)


def _token(value: str | None) -> str:
    """The first token of a header value, lower-cased (drops parameters and comments)."""
    if not value:
        return ""
    match = _TOKEN.search(value)
    return match.group(0).lower() if match else ""


def automated_reason(
    headers: Mapping[str, str],
    *,
    delivery_report: bool,
    return_path: str | None,
    sender: Address | None,
    subject: str = "",
) -> str | None:
    """The first automated-mail signal found, or None.

    ``headers`` maps lower-cased header names to their first decoded value; ``subject`` is
    the decoded one-line subject.
    """
    if delivery_report:
        return "bounce"
    auto_submitted = _token(headers.get("auto-submitted"))
    if auto_submitted and auto_submitted != "no":
        return auto_submitted if auto_submitted in AUTO_SUBMITTED_REASONS else "auto-generated"
    precedence = _PRECEDENCE.get(_token(headers.get("precedence")))
    if precedence:
        return precedence
    for name in ("x-autoreply", "x-autorespond"):
        if name in headers and _token(headers[name]) not in _NEGATIVE:
            return "auto-reply"
    if headers.get("list-id", "").strip() or headers.get("list-unsubscribe", "").strip():
        return "list"
    if return_path == "":
        return "null-sender"
    if sender is not None:
        local = sender.address.rpartition("@")[0] or sender.address
        if local.lower() in _DAEMON_LOCAL_PARTS:
            return "mailer-daemon"
    if subject and _OUT_OF_OFFICE.match(subject):
        return "out-of-office-subject"
    return None
