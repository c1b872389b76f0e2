"""The benchmark's report helpers: ratios, threads kept whole, a process's memory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bench.cache import MailFacts
from bench.figures import (
    meets,
    parse_proc_status,
    process_memory,
    rates_by_part,
    ratio,
    reached,
    whole_threads,
)

STATUS = """\
Name:\tpython
Umask:\t0022
State:\tS (sleeping)
Pid:\t4242
VmPeak:\t  412340 kB
VmSize:\t  398112 kB
VmHWM:\t   98304 kB
VmRSS:\t   94208 kB
RssAnon:\t   61000 kB
Threads:\t7
voluntary_ctxt_switches:\t1234
"""


def test_ratio_of_two_rates() -> None:
    assert ratio(546.0, 780.0) == 0.7
    assert ratio(127.0, 780.0) == 0.16
    assert ratio(400.0, 368.0) == 1.09


@pytest.mark.parametrize(("value", "reference"), [(None, 780.0), (500.0, None), (500.0, 0.0)])
def test_no_ratio_without_both_figures(value: float | None, reference: float | None) -> None:
    assert ratio(value, reference) is None


def test_a_ratio_meets_its_target_from_the_target_up() -> None:
    assert meets(0.7, 0.7) is True
    assert meets(0.69, 0.7) is False
    assert meets(None, 0.7) is None


def _mail(index: int, thread: int, parent: int | None = None) -> MailFacts:
    return MailFacts(index, thread, parent, f"<{index}@bench.example>")


def test_whole_threads_counts_only_threads_with_a_reply() -> None:
    mails = [_mail(0, 0), _mail(1, 1), _mail(2, 0, 0), _mail(3, 2), _mail(4, 2, 3), _mail(5, 0, 2)]
    tickets = {0: 10, 1: 11, 2: 10, 3: 12, 4: 12, 5: 10}
    assert whole_threads(mails, tickets) == (2, 2)


def test_a_thread_split_over_two_tickets_is_not_whole() -> None:
    mails = [_mail(0, 0), _mail(1, 0, 0), _mail(2, 1), _mail(3, 1, 2)]
    assert whole_threads(mails, {0: 10, 1: 13, 2: 11, 3: 11}) == (1, 2)


def test_a_thread_with_a_mail_not_stored_is_not_whole() -> None:
    mails = [_mail(0, 0), _mail(1, 0, 0), _mail(2, 0, 1)]
    assert whole_threads(mails, {0: 10, 1: 10}) == (0, 1)
    assert whole_threads(mails, {0: 10, 1: 10, 2: None}) == (0, 1)


def test_no_threads_no_count() -> None:
    assert whole_threads([], {}) == (0, 0)
    assert whole_threads([_mail(0, 0), _mail(1, 1)], {0: 1, 1: 2}) == (0, 0)


def test_proc_status_fields_in_kib() -> None:
    fields = parse_proc_status(STATUS)
    assert fields["VmRSS"] == 94208
    assert fields["VmHWM"] == 98304
    assert fields["RssAnon"] == 61000
    assert "Threads" not in fields  # not a kB field
    assert "Name" not in fields


def test_process_memory_from_a_status_file(tmp_path: Path) -> None:
    (tmp_path / "4242").mkdir()
    (tmp_path / "4242" / "status").write_text(STATUS, encoding="ascii")
    assert process_memory(4242, proc=tmp_path) == {"rss_mib": 92.0, "peak_mib": 96.0}


def test_process_memory_of_a_process_that_is_gone(tmp_path: Path) -> None:
    assert process_memory(4242, proc=tmp_path) is None
    (tmp_path / "4242").mkdir()
    (tmp_path / "4242" / "status").write_text("Name:\tzombie\nState:\tZ\n", encoding="ascii")
    assert process_memory(4242, proc=tmp_path) is None


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_process_memory_of_this_process() -> None:
    memory = process_memory(os.getpid())
    assert memory is not None
    assert 0 < memory["rss_mib"] <= memory["peak_mib"]


# An import that reads for 5 s, then stores 100 messages at 20/s, then 50 more at 10/s.
SAMPLES = [(0.0, 0), (2.0, 0), (5.0, 0), (7.0, 40), (10.0, 100), (12.0, 120), (15.0, 150)]


def test_reached_interpolates_between_samples() -> None:
    assert reached(SAMPLES, 0) == 5.0  # the last moment before anything was stored
    assert reached(SAMPLES, 20) == 6.0
    assert reached(SAMPLES, 40) == 7.0
    assert reached(SAMPLES, 110) == 11.0
    assert reached(SAMPLES, 150) == 15.0
    assert reached(SAMPLES, 151) is None
    assert reached([], 10) is None
    assert reached([(1.0, 30)], 10) == 1.0  # first sample already past it


def test_rates_by_part_show_a_slowdown() -> None:
    assert rates_by_part(SAMPLES, 150, 3) == [20.0, 20.0, 10.0]
    assert rates_by_part(SAMPLES, 100, 2) == [20.0, 20.0]


def test_rates_by_part_without_enough_samples() -> None:
    assert rates_by_part([(0.0, 0), (4.0, 50)], 100, 2) == [12.5, None]
    assert rates_by_part([], 100, 2) == [None, None]
