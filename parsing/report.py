"""``maild parse --json``: a ParsedMail as plain JSON types, with a fixed set of keys.

The keys are a contract with admins' scripts: add one only with the CLI's changelog.
``bounce`` is ``{recipients, permanent, status, original_message_id}``: the last names the
message of ours that bounced (the way to its ticket), or is null.
Attachments are described (name, type, size, SHA-256), never dumped. Headers and ``problem``
are not part of it. Imports nothing of the project but the model.
"""

from __future__ import annotations

from typing import Any

from parsing.model import Address, ParsedMail

JSON_KEYS = (
    "message_id",
    "in_reply_to",
    "references",
    "from",
    "to",
    "cc",
    "reply_to",
    "subject",
    "date",
    "text",
    "reply_text",
    "new_text",
    "signature",
    "attachments",
    "automated",
    "bounce",
    "ticket_ref",
    "defects",
)


def _address(address: Address) -> dict[str, str]:
    return {"name": address.name, "address": address.address}


def as_json_dict(parsed: ParsedMail) -> dict[str, Any]:
    """The ``maild parse --json`` view of ``parsed``: exactly :data:`JSON_KEYS`."""
    bounce = parsed.bounce
    return {
        "message_id": parsed.message_id,
        "in_reply_to": parsed.in_reply_to,
        "references": list(parsed.references),
        "from": _address(parsed.from_) if parsed.from_ is not None else None,
        "to": [_address(a) for a in parsed.to],
        "cc": [_address(a) for a in parsed.cc],
        "reply_to": [_address(a) for a in parsed.reply_to],
        "subject": parsed.subject,
        "date": parsed.date.isoformat() if parsed.date is not None else None,
        "text": parsed.text,
        "reply_text": parsed.reply_text,
        "new_text": parsed.new_text,
        "signature": parsed.signature,
        "attachments": [
            {
                "filename": a.filename,
                "content_type": a.content_type,
                "size": a.size,
                "sha256": a.sha256,
            }
            for a in parsed.attachments
        ],
        "automated": parsed.automated,
        "bounce": None
        if bounce is None
        else {
            "recipients": list(bounce.recipients),
            "permanent": bounce.permanent,
            "status": bounce.status,
            "original_message_id": bounce.original_message_id,
        },
        "ticket_ref": parsed.ticket_ref,
        "defects": list(parsed.defects),
    }
