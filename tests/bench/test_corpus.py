"""The benchmark corpus: deterministic, threaded correctly, and real mail the stdlib can read."""

from __future__ import annotations

import email
import email.policy
import mailbox
from email.message import EmailMessage
from email.utils import parseaddr
from pathlib import Path

import pytest

from bench.corpus import LONG_LINE_MIN, CorpusMail, generate, summarize, write_mbox

COUNT = 1000


@pytest.fixture(scope="module")
def corpus() -> list[CorpusMail]:
    return generate(COUNT, seed=1)


_parsed: dict[bytes, EmailMessage] = {}


def _parse(mail: CorpusMail) -> EmailMessage:
    if mail.raw not in _parsed:
        message = email.message_from_bytes(mail.raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        _parsed[mail.raw] = message
    return _parsed[mail.raw]


def test_same_seed_gives_identical_bytes(corpus: list[CorpusMail]) -> None:
    again = generate(COUNT, seed=1)
    assert [mail.raw for mail in again] == [mail.raw for mail in corpus]
    assert again == corpus


def test_another_seed_gives_another_corpus(corpus: list[CorpusMail]) -> None:
    other = generate(COUNT, seed=2)
    assert [mail.raw for mail in other] != [mail.raw for mail in corpus]


def test_a_prefix_is_cheap_to_generate() -> None:
    assert [mail.index for mail in generate(5)] == [0, 1, 2, 3, 4]
    assert len(generate(1)) == 1


def test_about_thirty_percent_are_replies(corpus: list[CorpusMail]) -> None:
    replies = sum(1 for mail in corpus if mail.is_reply)
    assert 0.25 * COUNT <= replies <= 0.35 * COUNT
    assert summarize(corpus)["threads"] == COUNT - replies


def test_every_reply_follows_an_earlier_mail_of_its_thread(corpus: list[CorpusMail]) -> None:
    for position, mail in enumerate(corpus):
        assert mail.index == position
        if mail.parent_index is None:
            continue
        parent = corpus[mail.parent_index]
        assert parent.index < mail.index
        assert parent.thread == mail.thread
        assert parent.mail_from == mail.mail_from


def test_reply_headers_name_the_parent_and_the_thread(corpus: list[CorpusMail]) -> None:
    roots = {mail.thread: mail for mail in corpus if not mail.is_reply}
    for mail in corpus:
        message = _parse(mail)
        if mail.parent_index is None:
            assert message["In-Reply-To"] is None
            continue
        parent = corpus[mail.parent_index]
        assert message["In-Reply-To"] == parent.message_id
        references = str(message["References"]).split()
        assert references[-1] == parent.message_id
        assert references[0] == roots[mail.thread].message_id
        assert str(message["Subject"]) == "Re: " + str(_parse(roots[mail.thread])["Subject"])


def test_message_ids_are_unique(corpus: list[CorpusMail]) -> None:
    assert len({mail.message_id for mail in corpus}) == COUNT


def test_every_mail_parses_with_from_and_message_id(corpus: list[CorpusMail]) -> None:
    for mail in corpus:
        message = _parse(mail)
        assert message["Message-ID"] == mail.message_id
        assert mail.message_id.startswith("<") and mail.message_id.endswith(">")
        assert parseaddr(str(message["From"]))[1] == mail.mail_from
        assert message["To"].addresses[0].addr_spec == "support@example.com"
        assert message.get_body(("plain",)) is not None
        assert not message.defects, (mail.index, message.defects)
        assert b"\r\n" in mail.raw and b"\n" not in mail.raw.replace(b"\r\n", b"")


def test_long_lines_are_present_and_unfolded(corpus: list[CorpusMail]) -> None:
    long = [m for m in corpus if any(len(x) > LONG_LINE_MIN for x in m.raw.split(b"\r\n"))]
    assert 0.02 * COUNT <= len(long) <= 0.10 * COUNT
    for mail in long:
        text = _parse(mail).get_body(("plain",)).get_content()
        assert any(len(line) > LONG_LINE_MIN and "https://" in line for line in text.split("\n"))


def test_the_mix_looks_like_a_support_mailbox(corpus: list[CorpusMail]) -> None:
    facts = summarize(corpus)
    assert 0.2 * COUNT <= facts["multipart_alternative"] <= 0.7 * COUNT
    assert 0.05 * COUNT <= facts["attachments"] <= 0.15 * COUNT
    assert facts["encoded_words"] >= 0.2 * COUNT
    charsets = {part.get_content_charset() for m in corpus for part in _parse(m).walk()}
    assert {"utf-8", "iso-2022-jp", "iso-8859-1"} <= charsets
    subjects = {str(_parse(m)["Subject"]) for m in corpus}
    assert any("ü" in s or "ß" in s for s in subjects)  # German
    assert any("ログイン" in s for s in subjects)  # Japanese


def test_attachments_decode_to_a_few_kilobytes(corpus: list[CorpusMail]) -> None:
    sizes = [len(part.get_content()) for mail in corpus for part in _parse(mail).iter_attachments()]
    assert sizes and all(1_000 <= size <= 10_000 for size in sizes)


def test_write_mbox_round_trips(corpus: list[CorpusMail], tmp_path: Path) -> None:
    path = tmp_path / "corpus.mbox"
    write_mbox(corpus[:50], path)
    box = mailbox.mbox(path)
    try:
        ids = [message["Message-ID"] for message in box]
    finally:
        box.close()
    assert ids == [mail.message_id for mail in corpus[:50]]
