"""Reading the knowledge-base folder: YAML front matter, and broken files left out with
their name and why, never an exception."""

from __future__ import annotations

from pathlib import Path

import pytest

from maild.kb.articles import Article, folder_stamp, load_folder, summarize

GOOD = """---
title: Reset a forgotten password
tags: [password, login]
url: https://help.example.com/reset
---
Click **Forgot password?** on the sign-in page.

Second paragraph.
"""


def write(folder: Path, name: str, text: str | bytes) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_article_front_matter_and_body(tmp_path: Path) -> None:
    write(tmp_path, "reset-password.md", GOOD)
    [article] = load_folder(tmp_path).articles
    assert article == Article(
        id="reset-password",
        title="Reset a forgotten password",
        tags=("password", "login"),
        url="https://help.example.com/reset",
        body="Click **Forgot password?** on the sign-in page.\n\nSecond paragraph.",
        path=tmp_path / "reset-password.md",
    )
    assert article.summary == "Click Forgot password? on the sign-in page. Second paragraph."


def test_tags_as_a_string_no_url_and_sub_folders(tmp_path: Path) -> None:
    write(
        tmp_path, "billing/refunds.md", "---\ntitle: Refunds\ntags: refund, money back\n---\nText"
    )
    [article] = load_folder(tmp_path).articles
    assert (article.id, article.tags, article.url) == (
        "billing/refunds",
        ("refund", "money back"),
        None,
    )


def test_hidden_and_underscore_files_and_other_suffixes_are_not_articles(tmp_path: Path) -> None:
    for name in (".draft.md", "_notes.md", "_drafts/a.md", ".git/b.md", "readme.txt"):
        write(tmp_path, name, GOOD)
    write(tmp_path, "real.md", GOOD)
    assert [article.id for article in load_folder(tmp_path).articles] == ["real"]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Just text, no header.\n", "no front matter"),
        ("---\ntags: [a]\n---\nNo title.\n", "'title' is missing"),
        ("---\ntitle: '  '\n---\n", "'title' is missing"),
        ("---\ntitle: [unclosed\n---\nText\n", "not valid YAML"),
        ("---\n- a list\n- not a mapping\n---\nText\n", "front matter"),
        ("---\ntitle: X\nurl: javascript:alert(1)\n---\n", "'url' must be an http or https"),
        ("---\ntitle: X\ntags: 5\n---\n", "'tags' must be a list"),
        (b"---\ntitle: \xff\xfe\n---\n", "not UTF-8"),
    ],
)
def test_broken_article_is_left_out_with_file_and_reason(
    tmp_path: Path, text: str | bytes, reason: str
) -> None:
    write(tmp_path, "good.md", GOOD)
    broken = write(tmp_path, "broken.md", text)
    library = load_folder(tmp_path)
    assert [article.id for article in library.articles] == ["good"]
    [problem] = library.problems
    assert problem.startswith(f"{broken}: ")
    assert reason in problem


def test_missing_folder_is_a_problem_not_an_error(tmp_path: Path) -> None:
    library = load_folder(tmp_path / "nowhere")
    assert library.articles == ()
    assert library.problems == (f"{tmp_path / 'nowhere'}: no such folder",)


def test_stamp_changes_with_an_edit_in_place_an_addition_and_a_removal(tmp_path: Path) -> None:
    path = write(tmp_path, "a.md", GOOD)
    first = folder_stamp(tmp_path)
    path.write_text(GOOD + "More text.\n")
    second = folder_stamp(tmp_path)
    assert second != first
    extra = write(tmp_path, "b.md", GOOD)
    third = folder_stamp(tmp_path)
    assert third != second
    extra.unlink()
    assert folder_stamp(tmp_path) == second


def test_summary_is_the_first_lines_without_markup_cut_at_a_sentence() -> None:
    body = (
        "# Heading\n\nSee [the guide](https://x.example) and `code`. When it fails:\n\n"
        "- Pull down to sync.\n1. Sign out and in again. " + "More words here. " * 20
    )
    assert (
        summarize(body)
        == (
            "See the guide and code. When it fails: Pull down to sync. Sign out and in again. "
            + "More words here. " * 9
        ).rstrip()
    )
    assert summarize("Short text.") == "Short text."


def test_summary_without_a_sentence_end_is_cut_at_a_word() -> None:
    cut = summarize("word " * 100)
    assert cut.endswith("word …") and len(cut) <= 242
