"""The cached history corpus: written once, reused, and never stale or half-written."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import cache
from bench.cache import cache_name, cached_corpus, facts_of
from bench.corpus import generate, replies_before_parent, shuffled, summarize

MAILBOX = "support@example.com"
COUNT = 60


def test_the_first_run_writes_the_mbox_and_the_second_reuses_it(tmp_path: Path) -> None:
    first = cached_corpus(COUNT, 3, mailbox=MAILBOX, cache_dir=tmp_path)
    assert not first.reused
    assert first.mbox.is_file()
    mails = generate(COUNT, seed=3, mailbox=MAILBOX)
    assert first.facts == facts_of(mails)
    assert first.summary == summarize(mails)
    assert first.replies_before_parent == replies_before_parent(shuffled(mails, 3))
    written = first.mbox.stat().st_mtime_ns

    second = cached_corpus(COUNT, 3, mailbox=MAILBOX, cache_dir=tmp_path)
    assert second.reused
    assert second.mbox == first.mbox
    assert second.mbox.stat().st_mtime_ns == written
    assert second.facts == first.facts
    assert second.summary == first.summary
    assert second.replies_before_parent == first.replies_before_parent
    assert [path.name for path in tmp_path.iterdir()] == [first.mbox.parent.name]


def test_the_mbox_holds_every_mail_in_the_shuffled_order(tmp_path: Path) -> None:
    written = cached_corpus(COUNT, 3, mailbox=MAILBOX, cache_dir=tmp_path)
    text = written.mbox.read_bytes()
    order = shuffled(generate(COUNT, seed=3, mailbox=MAILBOX), 3)
    positions = [text.index(b"\nMessage-ID: " + mail.message_id.encode()) for mail in order]
    assert positions == sorted(positions)


def test_count_and_seed_are_part_of_the_key(tmp_path: Path) -> None:
    one = cached_corpus(COUNT, 3, mailbox=MAILBOX, cache_dir=tmp_path)
    other_seed = cached_corpus(COUNT, 4, mailbox=MAILBOX, cache_dir=tmp_path)
    other_count = cached_corpus(COUNT + 1, 3, mailbox=MAILBOX, cache_dir=tmp_path)
    assert not other_seed.reused and not other_count.reused
    assert len({one.mbox, other_seed.mbox, other_count.mbox}) == 3
    assert one.facts != other_seed.facts


def test_a_changed_generator_writes_a_new_cache_and_drops_the_old(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = cached_corpus(COUNT, 3, mailbox=MAILBOX, cache_dir=tmp_path)
    monkeypatch.setattr(cache, "generator_digest", lambda: "0123456789ab")
    new = cached_corpus(COUNT, 3, mailbox=MAILBOX, cache_dir=tmp_path)
    assert not new.reused
    assert new.mbox.parent.name == cache_name(COUNT, 3, "0123456789ab")
    assert not old.mbox.parent.exists()


def test_a_half_written_cache_is_not_used(tmp_path: Path) -> None:
    folder = tmp_path / cache_name(COUNT, 3, cache.generator_digest())
    folder.mkdir()
    (folder / cache.MBOX).write_bytes(b"From nobody\n")  # interrupted before facts.json
    assert not cached_corpus(COUNT, 3, mailbox=MAILBOX, cache_dir=tmp_path).reused
    (folder / cache.FACTS).write_text("{not json", encoding="utf-8")
    again = cached_corpus(COUNT, 3, mailbox=MAILBOX, cache_dir=tmp_path)
    assert not again.reused
    assert cached_corpus(COUNT, 3, mailbox=MAILBOX, cache_dir=tmp_path).reused


def test_the_digest_follows_the_generator_source() -> None:
    digest = cache.generator_digest()
    assert len(digest) == 12
    assert digest == cache.generator_digest()
