"""The knowledge base's articles: a folder of Markdown files with YAML front matter.

An article is one ``*.md`` file (sub-folders too; names starting with ``.`` or ``_`` are left
out, for drafts and notes)::

    ---
    title: Reset a forgotten password
    tags: [password, login, passwort]
    url: https://help.example.com/reset-password
    ---
    If you forgot your password ...

``title`` is required, ``tags`` (a list or a comma-separated string) and ``url`` (http or
https; without one the acknowledgement quotes the article's first lines) are optional. The
article's id is its path in the folder without ``.md``. A file that does not parse is left
out and named in :attr:`Library.problems`, never fatal: one bad edit must not stop intake.

May import nothing of the project but the standard library and ``frontmatter``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import frontmatter
import yaml

MAX_ARTICLE_BYTES = 1_000_000
SUMMARY_CHARS = 240

_URL = re.compile(r"^https?://[^\s<>\"']+$")
_MARKUP = re.compile(r"[*_`#>]+|\[([^\]]*)\]\([^)]*\)")
_BULLET = re.compile(r"^(?:[-*+]|\d+[.)])\s+")
_SENTENCE_END = re.compile(r"[.!?](?=\s|$)")


class ArticleError(ValueError):
    """The file is not a usable article; the message says why."""


@dataclass(frozen=True, slots=True)
class Article:
    id: str
    title: str
    tags: tuple[str, ...]
    url: str | None
    body: str
    path: Path

    @property
    def summary(self) -> str:
        """The first lines of the text as plain text (for an article without a url), at most
        :data:`SUMMARY_CHARS` characters."""
        return summarize(self.body)


@dataclass(frozen=True, slots=True)
class Library:
    """The articles of the folder, and the files left out with why (``"file: reason"``)."""

    folder: Path
    articles: tuple[Article, ...] = ()
    problems: tuple[str, ...] = ()

    def get(self, article_id: str) -> Article | None:
        for article in self.articles:
            if article.id == article_id:
                return article
        return None


Stamp = frozenset[tuple[str, int, int]]


def article_files(folder: Path) -> list[Path]:
    """The article files under ``folder``, sorted; hidden and ``_`` names left out."""
    found: list[Path] = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith((".", "_")))
        found.extend(
            Path(root) / name
            for name in sorted(files)
            if name.endswith(".md") and not name.startswith((".", "_"))
        )
    return found


def folder_stamp(folder: Path) -> Stamp:
    """What changes when an article is added, removed or edited: each file's name,
    modification time and size (an edit in place leaves the folder's own time alone)."""
    stamp: set[tuple[str, int, int]] = set()
    for path in article_files(folder):
        try:
            info = path.stat()
        except OSError:
            continue
        stamp.add((str(path), info.st_mtime_ns, info.st_size))
    return frozenset(stamp)


def load_folder(folder: Path) -> Library:
    """Every article of ``folder``; a missing folder is a library with one problem."""
    if not folder.is_dir():
        return Library(folder, problems=(f"{folder}: no such folder",))
    articles: list[Article] = []
    problems: list[str] = []
    for path in article_files(folder):
        try:
            articles.append(read_article(path, folder))
        except ArticleError as error:
            problems.append(f"{path}: {error}")
    return Library(folder, tuple(articles), tuple(problems))


def read_article(path: Path, folder: Path) -> Article:
    try:
        if path.stat().st_size > MAX_ARTICLE_BYTES:
            raise ArticleError(f"larger than {MAX_ARTICLE_BYTES} bytes")
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise ArticleError("not UTF-8 text") from None
    except OSError as error:
        raise ArticleError(error.strerror or str(error)) from None
    article_id = path.relative_to(folder).with_suffix("").as_posix()
    return parse_article(text, article_id, path)


def parse_article(text: str, article_id: str, path: Path) -> Article:
    """One article from the file's text; raises :class:`ArticleError`."""
    if not text.lstrip().startswith("---"):
        raise ArticleError("no front matter: the file must start with a '---' line")
    try:
        post = frontmatter.loads(text)
    except yaml.YAMLError as error:
        raise ArticleError(f"front matter is not valid YAML: {_first_line(error)}") from None
    except ValueError as error:  # front matter that is YAML but not a mapping
        raise ArticleError(f"front matter: {error}") from None
    meta: dict[str, Any] = dict(post.metadata)
    if not meta:
        raise ArticleError("no front matter: the file must start with a '---' line")
    title = meta.get("title")
    if not isinstance(title, str | int | float) or not str(title).strip():
        raise ArticleError("front matter: 'title' is missing or empty")
    url = meta.get("url")
    if url is not None:
        if not isinstance(url, str) or not _URL.match(url.strip()):
            raise ArticleError(f"front matter: 'url' must be an http or https address: {url!r}")
        url = url.strip()
    return Article(
        id=article_id,
        title=" ".join(str(title).split()),
        tags=_tags(meta.get("tags")),
        url=url or None,
        body=post.content.strip(),
        path=path,
    )


def _tags(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        items: list[Any] = value.split(",")
    elif isinstance(value, list | tuple):
        items = list(value)
    else:
        raise ArticleError(f"front matter: 'tags' must be a list or a string: {value!r}")
    tags = [str(item).strip() for item in items if item is not None and str(item).strip()]
    return tuple(dict.fromkeys(tags))


def summarize(body: str, limit: int = SUMMARY_CHARS) -> str:
    """The first lines of ``body`` as plain text: Markdown marks, headings and list bullets
    removed, cut at the end of a sentence within ``limit`` characters (else at a word)."""
    lines = []
    for line in body.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        lines.append(_BULLET.sub("", line))
        if sum(len(kept) + 1 for kept in lines) > limit:
            break
    text = " ".join(_MARKUP.sub(lambda m: m.group(1) or "", " ".join(lines)).split())
    if len(text) <= limit:
        return text
    ends = [m.end() for m in _SENTENCE_END.finditer(text[: limit + 1])]
    if ends and ends[-1] >= limit // 2:
        return text[: ends[-1]].rstrip()
    return text[:limit].rsplit(" ", 1)[0].rstrip(",;:") + " …"


def _first_line(error: Exception) -> str:
    return " ".join(str(error).split("\n")[:1]) or type(error).__name__
