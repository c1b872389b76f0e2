"""Is this message written by a machine? One reason string, or None for a person's mail.

The verdict keeps maild out of mail loops (DESIGN invariant 3): automated mail never gets an
automatic reply. Signals are checked in a fixed order and the first match names the reason:

1. ``bounce``: an RFC 3464 delivery-status report (before ``null-sender``: a DSN has both);
2. ``auto-replied`` / ``auto-generated`` / ``auto-notified``: RFC 3834 ``Auto-Submitted``
   with any value but ``no`` (unknown values count as ``auto-generated``);
3. ``bulk`` / ``junk`` / ``list`` / ``auto-reply``: ``Precedence``;
4. ``auto-reply``: ``X-Autoreply`` / ``X-Autorespond`` (older auto-responders);
5. ``list``: ``List-Id`` or ``List-Unsubscribe``;
6. ``null-sender``: ``Return-Path: <>``;
7. ``mailer-daemon``: From ``MAILER-DAEMON@…`` or ``postmaster@…``.

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
) -> str | None:
    """The first automated-mail signal found, or None.

    ``headers`` maps lower-cased header names to their first decoded value.
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
    return None
