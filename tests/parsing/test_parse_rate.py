"""bench.parse_rate: the parse-rate figure is measured over real files and is a rate."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.parse_rate import measure
from tests.parsing.corpus import FIXTURE_DIR


def test_measure_over_the_fixture_folder_and_single_files() -> None:
    assert measure([FIXTURE_DIR], rounds=1) > 0
    assert measure([FIXTURE_DIR / "reply-gmail-en.eml"], rounds=2) > 0


def test_nothing_to_measure_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="nothing to measure"):
        measure([tmp_path], rounds=1)
