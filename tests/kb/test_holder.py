"""The knowledge base in force reloads when an article is added, edited or removed; a broken
article is logged with its file name and left out, and never stops suggestions."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from maild.kb.holder import KnowledgeBase

EXPORT = "---\ntitle: Export your data as CSV\ntags: [export, csv, excel]\n---\nReports page.\n"
REFUND = "---\ntitle: Refunds\ntags: [refund, money back, charged twice]\n---\nWithin 14 days.\n"


def ids(kb: KnowledgeBase, subject: str, text: str = "") -> list[str]:
    return [found.id for found in kb.suggest(subject, text)]


def test_loads_on_first_use_and_reloads_what_changed(tmp_path: Path) -> None:
    (tmp_path / "export.md").write_text(EXPORT)
    kb = KnowledgeBase(tmp_path)
    assert ids(kb, "export to csv?") == ["export"]
    assert kb.check() is False  # nothing changed

    (tmp_path / "refunds.md").write_text(REFUND)
    assert ids(kb, "refund please, you charged twice") == []  # not yet checked
    assert kb.check() is True
    assert ids(kb, "refund please, you charged twice") == ["refunds"]

    (tmp_path / "export.md").write_text(EXPORT.replace("CSV", "XML").replace("csv", "xml"))
    assert kb.check() is True
    assert ids(kb, "export to csv?") == []
    assert ids(kb, "export to xml?") == ["export"]

    (tmp_path / "refunds.md").unlink()
    assert kb.check() is True
    assert [a.id for a in kb.current.library.articles] == ["export"]


def test_broken_article_is_logged_by_name_and_the_others_still_work(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "export.md").write_text(EXPORT)
    (tmp_path / "broken.md").write_text("---\ntitle: [oops\n---\n")
    kb = KnowledgeBase(tmp_path)
    with caplog.at_level(logging.WARNING, logger="maild.kb.holder"):
        assert ids(kb, "export to csv?") == ["export"]
    assert f"left out {tmp_path / 'broken.md'}: front matter is not valid YAML" in caplog.text


def test_a_missing_folder_suggests_nothing_until_it_appears(tmp_path: Path) -> None:
    folder = tmp_path / "kb"
    kb = KnowledgeBase(folder)
    assert ids(kb, "export to csv?") == []
    folder.mkdir()
    (folder / "export.md").write_text(EXPORT)
    assert kb.check() is True
    assert ids(kb, "export to csv?") == ["export"]


def test_a_failing_load_keeps_the_articles_in_force(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "export.md").write_text(EXPORT)
    kb = KnowledgeBase(tmp_path)
    assert ids(kb, "export to csv?") == ["export"]

    def fail(folder: Path) -> None:
        raise PermissionError("denied")

    monkeypatch.setattr("maild.kb.holder.load_folder", fail)
    (tmp_path / "refunds.md").write_text(REFUND)
    with caplog.at_level(logging.ERROR, logger="maild.kb.holder"):
        assert kb.check() is True
    assert "not reloaded" in caplog.text
    assert ids(kb, "export to csv?") == ["export"]


def test_max_suggestions_zero_turns_suggestions_off(tmp_path: Path) -> None:
    (tmp_path / "export.md").write_text(EXPORT)
    assert ids(KnowledgeBase(tmp_path, max_suggestions=0), "export to csv?") == []
