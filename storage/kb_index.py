"""The knowledge base's full-text index: SQLite FTS5 in a private in-memory database.

Whatever the main database is, the articles are indexed here when their folder loads (a few
milliseconds for hundreds of articles), and the index is replaced whole when the folder
changes. Three columns (title, tags, body) weighted for ``bm25()``; words are Porter-stemmed
over ``unicode61`` with accents folded, the same for the articles and the query, so the
query's words go through the same tokenizer in a scratch table (:meth:`FtsIndex.stems`).

Only the SQL lives here; which words to search for and how to judge a match is
``maild.kb.index``. Imports nothing of the project.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Sequence

# Porter stemming (English inflections: invoices → invoic) over unicode61 words with
# diacritics folded (Kündigung → kundigung).
TOKENIZER = "porter unicode61 remove_diacritics 2"
COLUMNS = ("title", "tags", "body")
# bm25() weights of the columns: a word of the title or the tags says far more about what
# an article is for than one in its text.
WEIGHTS = (8.0, 6.0, 1.0)
_BM25 = f"bm25(kb, {', '.join(str(weight) for weight in WEIGHTS)})"


def match_expression(terms: Iterable[str]) -> str:
    """An FTS5 query that matches any of ``terms``, each a quoted string (FTS5 syntax inside
    quotes is plain text; a quote is doubled), so no text is ever an operator."""
    return " OR ".join('"' + term.replace('"', '""') + '"' for term in terms)


class FtsIndex:
    """``documents`` (title, tags, body), numbered from 0 in their order. Calls from several
    threads take turns on the one in-memory connection."""

    def __init__(self, documents: Sequence[tuple[str, str, str]]) -> None:
        self._lock = threading.Lock()
        db = sqlite3.connect(":memory:", check_same_thread=False)
        db.execute(
            f"CREATE VIRTUAL TABLE kb USING fts5({', '.join(COLUMNS)}, tokenize = '{TOKENIZER}')"
        )
        db.execute("CREATE VIRTUAL TABLE kb_instances USING fts5vocab(kb, 'instance')")
        db.execute("CREATE VIRTUAL TABLE kb_rows USING fts5vocab(kb, 'row')")
        db.execute(f"CREATE VIRTUAL TABLE q USING fts5(text, tokenize = '{TOKENIZER}')")
        db.execute("CREATE VIRTUAL TABLE q_instances USING fts5vocab(q, 'instance')")
        db.executemany(
            "INSERT INTO kb(rowid, title, tags, body) VALUES (?, ?, ?, ?)",
            [(row, *document) for row, document in enumerate(documents)],
        )
        self._db = db

    def document_frequencies(self) -> dict[str, int]:
        """How many documents contain each stem."""
        with self._lock:
            return dict(self._db.execute("SELECT term, doc FROM kb_rows"))

    def stems(self, words: Sequence[str]) -> dict[int, str]:
        """The stem of each of ``words`` by its position (none for a word the tokenizer
        drops)."""
        found: dict[int, str] = {}
        with self._lock:
            self._db.execute("DELETE FROM q")
            self._db.executemany("INSERT INTO q(rowid, text) VALUES (?, ?)", list(enumerate(words)))
            for stem, position in self._db.execute(
                "SELECT term, doc FROM q_instances ORDER BY doc, offset"
            ):
                found.setdefault(position, stem)
        return found

    def rank(self, words: Iterable[str], limit: int) -> list[tuple[int, float]]:
        """The best ``limit`` documents containing any of ``words``: (number, BM25 score),
        best first (higher is better)."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT rowid, {_BM25} FROM kb WHERE kb MATCH ? ORDER BY {_BM25} LIMIT ?",
                (match_expression(words), limit),
            ).fetchall()
        return [(row, -score) for row, score in rows]

    def columns(self, rows: Sequence[int], stems: Sequence[str]) -> dict[int, dict[str, set[int]]]:
        """For each of the documents ``rows``, which of ``stems`` it contains and in which
        columns (0 title, 1 tags, 2 body)."""
        if not rows or not stems:
            return {}
        found: dict[int, dict[str, set[int]]] = {}
        with self._lock:
            for stem, row, column in self._db.execute(
                f"SELECT DISTINCT term, doc, col FROM kb_instances "
                f"WHERE doc IN ({', '.join('?' for _ in rows)}) "
                f"AND term IN ({', '.join('?' for _ in stems)})",
                (*rows, *stems),
            ):
                found.setdefault(row, {}).setdefault(stem, set()).add(COLUMNS.index(column))
        return found
