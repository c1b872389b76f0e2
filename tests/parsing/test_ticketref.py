"""The subject tag: found behind any client's reply markers, only with our prefix."""

from __future__ import annotations

import pytest

from parsing.ticketref import extract_ticket_ref, format_ticket_tag, strip_reply_prefixes


@pytest.mark.parametrize(
    "subject",
    [
        "[ACME #1234] Printer",
        "[ACME#1234] Printer",
        "[acme #1234] printer",
        "[Acme   #1234]",
        "[ ACME # 1234 ]",
        "Re: [ACME #1234] Printer",
        "RE: [ACME #1234] Printer",
        "Re: Re: RE: [ACME #1234] Printer",
        "AW: [ACME #1234] Drucker",
        "AW: WG: [ACME #1234] Drucker",
        "SV: [ACME #1234] Skrivare",
        "VS: [ACME #1234] Tulostin",
        "Fwd: [ACME #1234] Printer",
        "FW: [ACME #1234] Printer",
        "WG: [ACME #1234] Drucker",
        "TR: [ACME #1234] Imprimante",
        "Antw: [ACME #1234] Printer",
        "RE[2]: [ACME #1234] Printer",
        "Re : [ACME #1234] Imprimante",
        "回复：[ACME #1234] 打印机",
        "[EXT] Re: [ACME #1234] Printer",
        "[External] RE: [ACME #1234] Printer",
        "RE: [EXTERNAL] [ACME #1234] Printer",
        "Printer [ACME #1234]",
        "Automatic reply: [ACME #1234] Printer",
        "Re: [OTHER #55] Re: [ACME #1234] Printer",
        "[ACME #01234] leading zero",
    ],
)
def test_our_tag_is_found_behind_any_prefix(subject: str) -> None:
    assert extract_ticket_ref(subject, "ACME") == 1234


@pytest.mark.parametrize(
    "subject",
    [
        "",
        "Printer on fire",
        "Re: [OTHER #55] Printer",  # another helpdesk's tag is not ours
        "[ACMEX #1234] near miss",
        "[ACME-TEST #1234] near miss",
        "ACME #1234 without brackets",
        "[ACME #] no number",
        "[ACME #abc] no number",
        "[ACME #0] no ticket zero",
        "[ACME 1234] no hash",
    ],
)
def test_no_tag_of_ours(subject: str) -> None:
    assert extract_ticket_ref(subject, "ACME") is None


def test_first_of_our_tags_wins() -> None:
    assert extract_ticket_ref("[ACME #12] merged into [ACME #34]", "ACME") == 12


def test_prefix_is_taken_literally_not_as_a_pattern() -> None:
    assert extract_ticket_ref("[A.C #7] x", "A.C") == 7
    assert extract_ticket_ref("[ABC #7] x", "A.C") is None
    assert extract_ticket_ref("[Help Desk #7] x", "Help Desk") == 7


def test_empty_prefix_matches_nothing() -> None:
    assert extract_ticket_ref("[ #7] x", "") is None
    assert extract_ticket_ref("[ACME #7] x", "  ") is None


def test_absurdly_long_numbers_are_not_ticket_numbers() -> None:
    assert extract_ticket_ref("[ACME #" + "9" * 40 + "]", "ACME") is None


def test_format_ticket_tag_round_trips() -> None:
    tag = format_ticket_tag("ACME", 1234)
    assert tag == "[ACME #1234]"
    assert extract_ticket_ref(f"Re: {tag} Printer", "ACME") == 1234


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Printer on fire", "Printer on fire"),
        ("Re: Printer on fire", "Printer on fire"),
        ("RE: AW: Fwd: FW: Printer", "Printer"),
        ("Re: [ACME #1234] Printer", "Printer"),
        ("AW: WG: [ACME #1234] Drucker", "Drucker"),
        ("[EXT] RE: Printer", "Printer"),
        ("*EXTERNAL* Re: Printer", "Printer"),
        ("Re[3]: Printer", "Printer"),
        ("SV: VS: TR: Antw: Printer", "Printer"),
        ("Re:   lots   of   space", "lots of space"),
        ("Remote access", "Remote access"),  # "Re" only before a colon
        ("Fwdx: not a prefix", "Fwdx: not a prefix"),
        ("Question about Re: topics", "Question about Re: topics"),
        ("Re:", ""),
    ],
)
def test_strip_reply_prefixes(subject: str, expected: str) -> None:
    assert strip_reply_prefixes(subject) == expected


def test_strip_with_prefix_removes_only_our_tag_anywhere() -> None:
    assert strip_reply_prefixes("Re: [ACME #12] Printer [ACME #12]", "ACME") == "Printer"
    assert strip_reply_prefixes("Re: [OTHER #55] Printer", "ACME") == "[OTHER #55] Printer"
    assert strip_reply_prefixes("Re: [OTHER #55] Printer") == "Printer"
