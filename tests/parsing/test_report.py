"""``as_json_dict``: the ``maild parse --json`` contract, exact keys, JSON-serialisable."""

from __future__ import annotations

import json

import pytest

from parsing import parse_message
from parsing.report import JSON_KEYS, as_json_dict
from tests.parsing.corpus import PREFIX, fixture_names, load

CONTRACT = {
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
}


@pytest.mark.parametrize("name", fixture_names())
def test_exact_keys_and_json(name: str) -> None:
    report = as_json_dict(parse_message(load(name), ticket_prefix=PREFIX))
    assert set(report) == CONTRACT
    assert list(report) == list(JSON_KEYS)
    assert json.loads(json.dumps(report)) == report


def test_values() -> None:
    report = as_json_dict(parse_message(load("gmail-attachment.eml")))
    assert report["from"] == {"name": "Jürgen Müller", "address": "juergen.mueller@gmail.example"}
    assert report["to"] == [{"name": "", "address": "support@acme.test"}]
    assert report["date"] == "2024-11-14T17:45:30+00:00"
    (attachment,) = report["attachments"]
    assert attachment["filename"] == "Rechnung März.pdf"
    assert attachment["content_type"] == "application/pdf"
    assert attachment["size"] == 45
    assert len(attachment["sha256"]) == 64
    bounce = as_json_dict(parse_message(load("dsn-postfix.eml")))["bounce"]
    assert bounce == {
        "recipients": ["gone.user@customer.example"],
        "permanent": True,
        "status": "5.1.1",
        "original_message_id": "<ticket-1203.x1@acme.test>",
    }


def test_nulls_for_a_problem_mail() -> None:
    report = as_json_dict(parse_message(b""))
    assert set(report) == CONTRACT
    assert report["from"] is None
    assert report["date"] is None
    assert report["bounce"] is None
    json.dumps(report)
