"""Replies written below the quote (bottom posting) and between the quotes (inline).

The reply text is what the sender wrote outside the quoted block and its attribution line,
above or below it; inline answers keep the questions they answer in ``reply_text`` (agents
read it), while ``new_text`` has only the sender's own lines (rules match it, and it is all
of an agent's mail that may reach a customer). The fixtures under
tests/fixtures/bottom-posting are written byte for byte as mutt, Thunderbird and Outlook
write such replies.
"""

from __future__ import annotations

import email
from pathlib import Path

import pytest

from parsing import parse_message
from parsing.reply import split_reply

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bottom-posting"
QUOTED_ANSWER = "please unplug the printer and ask for a refund of the cartridge."
NEW = "Done: it is unplugged and the smoke is gone.\nDo I send the cartridge back to you?"
QUOTE = "> Hello Ada,\n>\n> please unplug the printer.\n>\n> Alice\n"


def load(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def html_only(raw: bytes) -> bytes:
    """The same mail with its text/plain alternative removed: the HTML path alone."""
    message = email.message_from_bytes(raw)
    kept = [part for part in message.get_payload() if part.get_content_type() == "text/html"]
    assert kept
    message.set_payload(kept)
    return message.as_bytes()


# -- split_reply ----------------------------------------------------------------------------

ATTRIBUTIONS = [
    "On Sat, Dec 05, 2026 at 10:00:00AM +0000, ACME Support wrote:",  # mutt
    "On 05/12/2026 10:00, ACME Support wrote:",  # Thunderbird
    "Am 05.12.26 um 10:00 schrieb ACME Support:",  # Thunderbird, German
    "Le 05/12/2026 à 10:00, ACME Support a écrit :",  # Thunderbird, French
    "On Sat, Dec 5, 2026 at 10:00 AM ACME Support <support@acme.test> wrote:",  # Gmail
]


@pytest.mark.parametrize("attribution", ATTRIBUTIONS)
def test_answer_below_the_quote_is_the_reply(attribution: str) -> None:
    reply = split_reply(f"{attribution}\n{QUOTE}\nThanks, it works.\n")
    assert (reply.text, reply.new_text, reply.signature) == (
        "Thanks, it works.",
        "Thanks, it works.",
        None,
    )


def test_answer_below_the_quote_loses_its_signature() -> None:
    text = f"{ATTRIBUTIONS[0]}\n{QUOTE}\nThanks, it works.\n\n-- \nAda Lovelace\n"
    reply = split_reply(text)
    assert (reply.text, reply.new_text, reply.signature) == (
        "Thanks, it works.",
        "Thanks, it works.",
        "Ada Lovelace",
    )


def test_text_above_and_below_an_attributed_quote_is_all_new() -> None:
    reply = split_reply(f"Hi,\n\n{ATTRIBUTIONS[1]}\n{QUOTE}\nThanks, it works.\n")
    assert reply.text == reply.new_text == "Hi,\n\nThanks, it works."


def test_a_quote_without_its_attribution_above_the_answer_goes_too() -> None:
    reply = split_reply(f"{QUOTE}\nThanks, it works.\n")
    assert reply.text == reply.new_text == "Thanks, it works."


def test_inline_answers_keep_their_questions_for_agents_only() -> None:
    text = (
        f"{ATTRIBUTIONS[1]}\n> Which model is it?\n\nAn XR-7.\n\n"
        "> Still under warranty?\n\nYes.\n\n> Kind regards,\n> Alice\n"
    )
    reply = split_reply(text)
    assert reply.text == "> Which model is it?\n\nAn XR-7.\n\n> Still under warranty?\n\nYes."
    assert reply.new_text == "An XR-7.\n\nYes."


def test_a_quote_inside_the_senders_text_stays_as_context() -> None:
    """No attribution, text above and below: a question (or a log line) quoted in the
    answer, kept for agents; rules still see only the sender's lines."""
    reply = split_reply("The printer says:\n> Error 42: drum unit\nWhat does it mean?\n")
    assert reply.text == "The printer says:\n> Error 42: drum unit\nWhat does it mean?"
    assert reply.new_text == "The printer says:\n\nWhat does it mean?"


def test_nothing_new_outside_the_quote_keeps_the_text_but_nothing_is_new() -> None:
    text = f"{ATTRIBUTIONS[0]}\n{QUOTE}"
    reply = split_reply(text)
    assert reply.text == text.strip()
    assert reply.new_text == ""


def test_top_posting_is_unchanged() -> None:
    reply = split_reply(f"Thanks, it works.\n\n{ATTRIBUTIONS[1]}\n{QUOTE}")
    assert reply.text == reply.new_text == "Thanks, it works."


# -- whole mails, as the clients write them ---------------------------------------------------


@pytest.mark.parametrize(
    "name", ["mutt-bottom.eml", "thunderbird-bottom-plain.eml", "thunderbird-bottom-html.eml"]
)
def test_bottom_posted_reply_is_only_the_new_text(name: str) -> None:
    parsed = parse_message(load(name), ticket_prefix="ACME")
    assert parsed.reply_text == NEW
    assert parsed.new_text == NEW
    assert QUOTED_ANSWER not in parsed.reply_text


def test_mutt_signature_below_the_answer() -> None:
    parsed = parse_message(load("mutt-bottom.eml"))
    assert parsed.signature == "Ada Lovelace\nAnalytical Engines Ltd."


def test_thunderbird_html_only_bottom_post() -> None:
    """The HTML alone: the cite prefix and ``blockquote type=cite`` are the history."""
    parsed = parse_message(html_only(load("thunderbird-bottom-html.eml")))
    assert " ".join(parsed.reply_text.split()) == " ".join(NEW.split())
    assert QUOTED_ANSWER not in parsed.new_text and "wrote" not in parsed.new_text


def test_interleaved_mutt_reply() -> None:
    parsed = parse_message(load("interleaved-mutt.eml"))
    assert parsed.reply_text == (
        "> Hello Ada,\n>\n> which model is it?\n\nAn XR-7.\n\n"
        "> Is it still under warranty, or do you want a refund?\n\nStill under warranty."
    )
    assert parsed.new_text == "An XR-7.\n\nStill under warranty."
    assert "refund" not in parsed.new_text
    assert parsed.signature == "Ada Lovelace"


def test_outlook_top_post_under_its_header_block() -> None:
    parsed = parse_message(load("outlook-top.eml"))
    assert parsed.reply_text == parsed.new_text == "Done: it is unplugged and the smoke is gone."


def test_outlook_answer_under_the_quoted_message_is_kept_whole() -> None:
    """Outlook does not mark quoted lines: where its quoted message ends and an answer
    written below it begins cannot be told, so nothing is cut (nothing is lost either).
    For an agent's mail the relay guard catches a notification copied this way."""
    parsed = parse_message(load("outlook-under-header.eml"))
    assert parsed.reply_text.endswith("Done: it is unplugged and the smoke is gone.")
    assert parsed.new_text == parsed.reply_text
