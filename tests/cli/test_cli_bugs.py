"""Regression tests for the console's answers: a missing file for ``ingest``, listen addresses
in ``check``, and mail that intake would quarantine in ``parse`` and ``rules test``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from maild.cli.mail import PARSE_KEYS
from parsing import problems
from parsing.report import JSON_KEYS
from tests.cli.conftest import invoke
from tests.mails import customer_mail

NO_FROM = b"To: support@example.com\r\nSubject: who sent this?\r\n\r\nNo sender at all.\r\n"


def test_ingest_of_a_missing_file_says_so_in_one_line_and_exits_noinput(
    tmp_path: Path, console_config: Path
) -> None:
    missing = tmp_path / "nonexistent.eml"
    result = invoke(console_config, "ingest", str(missing))
    assert result.exit_code == 66, result.output  # EX_NOINPUT: permanent, not "try again"
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.stderr == f"maild ingest: {missing}: No such file or directory\n"
    assert "Traceback" not in result.output


@pytest.mark.parametrize("key", ["listen", "lmtp_listen"])
@pytest.mark.parametrize(
    "value",
    [
        "nonsense:xx:2525",  # the host is neither an address nor a name
        "::1:2525",  # IPv6 without brackets: where does the address end?
        "[not-an-address]:2525",
        "[127.0.0.1]:2525",
        "999.1.2.3:2525",
        "-dash.example.com:2525",
        "under_score:2525",
        "a..b:2525",
        ("x" * 64) + ".example.com:2525",
    ],
)
def test_check_names_the_key_and_value_of_a_bad_listen_host(
    tmp_path: Path, key: str, value: str
) -> None:
    path = tmp_path / "config.toml"
    path.write_text(f'[smtp]\n{key} = "{value}"\n')
    result = invoke(path, "check")
    assert result.exit_code == 1, result.output
    assert f"smtp.{key}:" in result.stderr and repr(value) in result.stderr


@pytest.mark.parametrize(
    "value",
    [
        "[::1]:2525",
        "[fe80::1%eth0]:25",
        "127.0.0.1:0",
        "0.0.0.0:25",
        "localhost:2525",
        "mx-1.example.com:25",
        "mail.example.com.:25",
        "",
    ],
)
def test_check_accepts_addresses_host_names_and_empty(tmp_path: Path, value: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(f'[smtp]\nlisten = "{value}"\nlmtp_listen = "{value}"\n')
    result = invoke(path, "check")
    assert result.exit_code == 0, result.output


def test_parse_says_a_mail_without_from_will_be_quarantined(
    tmp_path: Path, console_config: Path
) -> None:
    held = tmp_path / "no-from.eml"
    held.write_bytes(NO_FROM)
    fine = tmp_path / "fine.eml"
    fine.write_bytes(customer_mail())

    result = invoke(console_config, "parse", "--json", str(held), str(fine))
    assert result.exit_code == 0, result.output
    first, second = (json.loads(line) for line in result.stdout.splitlines())
    assert tuple(first) == PARSE_KEYS == (*JSON_KEYS, "quarantine")
    assert first["quarantine"] == problems.NO_FROM
    assert second["quarantine"] is None

    text = invoke(console_config, "parse", str(held)).stdout
    assert f"QUARANTINE: {problems.NO_FROM}" in text and "not make it a ticket" in text
    assert "QUARANTINE" not in invoke(console_config, "parse", str(fine)).stdout


def test_rules_test_says_a_mail_without_from_will_be_quarantined(
    tmp_path: Path, console_config: Path
) -> None:
    held = tmp_path / "no-from.eml"
    held.write_bytes(NO_FROM)

    result = invoke(console_config, "rules", "test", "--json", str(held))
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["quarantine"] == problems.NO_FROM
    assert report["rules"] == [] and report["ticket"] is None  # no ticket, so no rules

    text = invoke(console_config, "rules", "test", str(held)).stdout
    assert f"Quarantine: {problems.NO_FROM}" in text and "make no ticket" in text
    assert "Rules:" not in text

    fine = tmp_path / "fine.eml"
    fine.write_bytes(customer_mail())
    ordinary = json.loads(invoke(console_config, "rules", "test", "--json", str(fine)).stdout)
    assert ordinary["quarantine"] is None and ordinary["ticket"] is not None
