"""The large corpus as an mbox on disk, written once and reused by later ``make bench`` runs.

Writing 100,000 mails takes minutes, and the benchmark only needs the file and a few facts
per mail (index, thread, parent, Message-ID) to check the import. Both live in a folder under
``bench/out/cache/`` (git-ignored) named by count, seed and a digest of the generator's source,
so a change to ``bench/corpus.py`` writes a new file instead of measuring a stale one. The
folder is written under a temporary name and renamed when complete: an interrupted run leaves
no half-written cache behind. Older caches of the same count and seed are removed.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import corpus as corpus_module
from bench.corpus import (
    CorpusMail,
    generate,
    replies_before_parent,
    shuffled,
    summarize,
    write_mbox,
)

CACHE_DIR = Path(__file__).resolve().parent / "out" / "cache"
FORMAT = 1  # bump when the files of a cache folder change shape
MBOX = "corpus.mbox"
FACTS = "facts.json"


@dataclass(frozen=True, slots=True)
class MailFacts:
    """What the verification needs of a corpus mail, without its bytes."""

    index: int
    thread: int
    parent_index: int | None
    message_id: str

    @property
    def is_reply(self) -> bool:
        return self.parent_index is not None


@dataclass
class CachedCorpus:
    mbox: Path
    facts: list[MailFacts]
    summary: dict[str, int]
    replies_before_parent: int
    reused: bool  # False: written by this run
    seconds: float  # to load it, or to generate and write it


def generator_digest() -> str:
    """A short digest of the corpus generator's source (with the cache format)."""
    source = Path(corpus_module.__file__).read_bytes()
    return hashlib.sha256(f"format {FORMAT}\n".encode() + source).hexdigest()[:12]


def cache_name(count: int, seed: int, digest: str) -> str:
    return f"corpus-{count}-seed{seed}-{digest}"


def facts_of(mails: Sequence[CorpusMail]) -> list[MailFacts]:
    return [MailFacts(m.index, m.thread, m.parent_index, m.message_id) for m in mails]


def _facts_document(
    count: int, seed: int, mails: Sequence[CorpusMail], order: Sequence[CorpusMail]
) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "count": count,
        "seed": seed,
        "summary": summarize(mails),
        "replies_before_parent": replies_before_parent(order),
        # [index, thread, parent index or -1, Message-ID], in corpus order
        "mails": [
            [m.index, m.thread, -1 if m.parent_index is None else m.parent_index, m.message_id]
            for m in mails
        ],
    }


def _load(folder: Path, started: float) -> CachedCorpus:
    document = json.loads((folder / FACTS).read_text(encoding="utf-8"))
    facts = [
        MailFacts(index, thread, None if parent < 0 else parent, message_id)
        for index, thread, parent, message_id in document["mails"]
    ]
    return CachedCorpus(
        mbox=folder / MBOX,
        facts=facts,
        summary=document["summary"],
        replies_before_parent=document["replies_before_parent"],
        reused=True,
        seconds=time.perf_counter() - started,
    )


def cached_corpus(
    count: int,
    seed: int,
    *,
    mailbox: str,
    cache_dir: Path = CACHE_DIR,
    log: Callable[[str], None] = lambda message: None,
) -> CachedCorpus:
    """The corpus of ``count`` mails as a shuffled mbox (the order ``bench.run`` imports)."""
    started = time.perf_counter()
    name = cache_name(count, seed, generator_digest())
    folder = cache_dir / name
    if (folder / FACTS).is_file() and (folder / MBOX).is_file():
        log(f"  reusing the cached corpus {folder}")
        try:
            return _load(folder, started)
        except (OSError, ValueError, KeyError, TypeError) as error:
            log(f"  the cache is unreadable ({error!r}); writing it again")
            shutil.rmtree(folder, ignore_errors=True)

    log(f"  generating {count:,} mails (seed {seed}); cached in {folder} for the next run")
    mails = generate(count, seed=seed, mailbox=mailbox)
    order = shuffled(mails, seed)
    partial = cache_dir / f".{name}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    write_mbox(order, partial / MBOX)
    document = _facts_document(count, seed, mails, order)
    (partial / FACTS).write_text(json.dumps(document, separators=(",", ":")), encoding="utf-8")
    for stale in cache_dir.glob(cache_name(count, seed, "*")):
        if stale.name != name:
            log(f"  removing the stale cache {stale}")
            shutil.rmtree(stale, ignore_errors=True)
    shutil.rmtree(folder, ignore_errors=True)
    partial.rename(folder)
    return CachedCorpus(
        mbox=folder / MBOX,
        facts=facts_of(mails),
        summary=document["summary"],
        replies_before_parent=document["replies_before_parent"],
        reused=False,
        seconds=time.perf_counter() - started,
    )
