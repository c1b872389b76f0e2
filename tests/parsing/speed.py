"""How fast parse_message reads the fixture corpus, next to mail-parser alone.

Run: ``PYTHONPATH=. python -m tests.parsing.speed [ROUNDS]``. Prints, asserts nothing.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable

import mailparser

from parsing import parse_message
from tests.parsing.corpus import PREFIX, fixture_names, load


def _rate(function: Callable[[bytes], object], corpus: list[bytes], rounds: int) -> float:
    started = time.perf_counter()
    for _ in range(rounds):
        for raw in corpus:
            function(raw)
    return rounds * len(corpus) / (time.perf_counter() - started)


def main(rounds: int = 1000) -> None:
    logging.getLogger("mailparser").setLevel(logging.CRITICAL)  # it warns per odd part
    corpus = [load(name) for name in fixture_names()]
    ours = _rate(lambda raw: parse_message(raw, ticket_prefix=PREFIX), corpus, rounds)
    theirs = _rate(mailparser.parse_from_bytes, corpus, rounds)
    print(f"{len(corpus)} fixtures x {rounds} rounds")
    print(f"parse_message:               {ours:8.0f} msg/s")
    print(f"mailparser.parse_from_bytes: {theirs:8.0f} msg/s (for comparison)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
