"""``maild kb list`` and ``maild kb test``: the articles, and what a mail would get and why;
a missing mail file or no knowledge base is one line, not a traceback."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from maild.cli import cli
from tests.conftest import config_data
from tests.mails import customer_mail
from tests.support import write_toml

EXAMPLE = Path(__file__).resolve().parents[2] / "contrib" / "kb-example"


@pytest.fixture
def kb_config(tmp_path: Path, sqlite_url: str) -> Path:
    """A configuration whose ``[kb] dir`` is relative: taken from the file's folder."""
    shutil.copytree(EXAMPLE, tmp_path / "articles")
    (tmp_path / "articles" / "broken.md").write_text("no front matter\n")
    data = config_data(tmp_path, sqlite_url)
    data["kb"] = {"dir": "articles", "max_suggestions": 2}
    path = tmp_path / "config.toml"
    write_toml(data, path)
    return path


def invoke(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["-c", str(config), *args])


def mail_file(tmp_path: Path, subject: str, body: str) -> Path:
    path = tmp_path / "mail.eml"
    path.write_bytes(customer_mail(subject=subject, body=body))
    return path


def test_list_shows_articles_and_what_was_left_out(kb_config: Path, tmp_path: Path) -> None:
    result = invoke(kb_config, "kb", "list")
    assert result.exit_code == 0, result.output
    assert f"{tmp_path / 'articles'}: 14 articles" in result.stdout
    assert "reset-password\n  title: Reset a forgotten password\n" in result.stdout
    assert "url:   - (the acknowledgement quotes its first lines)" in result.stdout
    assert f"left out: {tmp_path / 'articles' / 'broken.md'}: no front matter" in result.stderr

    listed = json.loads(invoke(kb_config, "kb", "list", "--json").stdout)
    assert len(listed["articles"]) == 14
    assert listed["articles"][0] == {
        "id": "api-keys",
        "title": "Create an API key and use the REST API",
        "tags": listed["articles"][0]["tags"],
        "url": "https://developer.example.com/api/getting-started",
        "file": str(tmp_path / "articles" / "api-keys.md"),
    }
    assert listed["problems"] == [
        f"{tmp_path / 'articles' / 'broken.md'}: no front matter: "
        "the file must start with a '---' line"
    ]


def test_test_shows_scores_and_what_passes(kb_config: Path, tmp_path: Path) -> None:
    path = mail_file(
        tmp_path,
        "CSV import errors",
        "Hello, the import of our client list from a spreadsheet fails. The file is a CSV "
        "saved from Excel.\n\nRegards,\nSophie\n",
    )
    result = invoke(kb_config, "kb", "test", str(path))
    assert result.exit_code == 0, result.output
    assert "floor: relevance 1.5, at most 2 articles" in result.stdout
    assert "import-data: Import tasks and clients from a spreadsheet\n  bm25 " in result.stdout
    assert "SUGGESTED" in result.stdout
    assert "no (BM25 below 50% of the first suggestion's)" in result.stdout  # export-data
    assert result.stdout.rstrip().endswith("suggested: import-data")

    report = json.loads(invoke(kb_config, "kb", "test", str(path), "--json").stdout)
    assert report["suggested"] == ["import-data"]
    first, second = report["articles"][:2]
    assert first["id"] == "import-data" and first["suggested"] is True
    assert first["bm25"] > 0 and first["relevance"] >= 1.5
    assert {"import", "csv", "spreadsheet"} <= set(first["key_terms"])
    assert (second["id"], second["suggested"]) == ("export-data", False)
    assert second["relevance"] >= 1.5 and "BM25 below" in second["reason"]


def test_test_of_an_unrelated_mail_suggests_nothing(kb_config: Path, tmp_path: Path) -> None:
    path = mail_file(tmp_path, "Dark mode?", "Is there a dark mode? My eyes hurt.\n")
    result = invoke(kb_config, "kb", "test", str(path))
    assert result.exit_code == 0, result.output
    assert result.stdout.rstrip().endswith("suggested: nothing (no article relevant)")
    assert (
        json.loads(invoke(kb_config, "kb", "test", str(path), "--json").stdout)["suggested"] == []
    )


def test_missing_mail_file_is_one_line(kb_config: Path, tmp_path: Path) -> None:
    result = invoke(kb_config, "kb", "test", str(tmp_path / "nope.eml"))
    assert result.exit_code == 1
    assert result.stderr == f"maild kb test: {tmp_path / 'nope.eml'}: No such file or directory\n"
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_without_a_knowledge_base_the_commands_say_so(tmp_path: Path, sqlite_url: str) -> None:
    path = tmp_path / "config.toml"
    write_toml(config_data(tmp_path, sqlite_url), path)
    result = invoke(path, "kb", "list")
    assert result.exit_code == 1
    assert result.stderr == "Error: no knowledge base: set [kb] dir in the configuration\n"
