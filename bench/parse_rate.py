"""How many messages per second ``parse_message`` reads: the ``maild parse`` rate.

``measure(paths, rounds)`` parses every file once to warm up, then ``rounds`` times over,
and returns messages per second of wall time. Stand-alone, no daemon, no database:

    python -m bench.parse_rate [ROUNDS] [FILE_OR_DIR ...]

Without paths it reads the fixture corpus, tests/fixtures/mail/*.eml.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

from parsing import parse_message

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "mail"
PREFIX = "ACME"


def _files(paths: list[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        found.extend(sorted(path.glob("*.eml")) if path.is_dir() else [path])
    return found


def measure(paths: list[Path], rounds: int) -> float:
    """Messages per second of ``parse_message`` over ``paths`` (files or folders of .eml)."""
    # mail-parser warns once per odd part (maild's logging silences it: maild/logs.py).
    logging.getLogger("mailparser").setLevel(logging.CRITICAL)
    corpus = [path.read_bytes() for path in _files(paths)]
    if not corpus or rounds < 1:
        raise ValueError("nothing to measure: give at least one mail and one round")
    for raw in corpus:  # warm-up: imports, compiled patterns, lxml
        parse_message(raw, ticket_prefix=PREFIX)
    started = time.perf_counter()
    for _ in range(rounds):
        for raw in corpus:
            parse_message(raw, ticket_prefix=PREFIX)
    return rounds * len(corpus) / (time.perf_counter() - started)


def main(argv: list[str]) -> None:
    rounds = int(argv[0]) if argv else 200
    paths = [Path(arg) for arg in argv[1:]] or [FIXTURES]
    count = len(_files(paths))
    rate = measure(paths, rounds)
    print(f"parse_message: {rate:,.0f} msg/s ({count} mails x {rounds} rounds)")


if __name__ == "__main__":
    main(sys.argv[1:])
