"""The knowledge base in force: the folder's articles and their index, swapped whole when
the folder changes.

Loaded on first use (``maild ingest`` pays for it only when it acknowledges a new ticket);
``maild serve`` checks the files' modification times every ``[scheduler] reload_interval``
(:meth:`KnowledgeBase.check`, from the scheduler's reload job, like the rules file). A file
that does not parse is logged with its name and left out; the others are used. Nothing here
raises into intake: a folder that cannot be read at all leaves the articles of the last good
load (or none) in force, and says so in the log.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from maild.config import KbSection
from maild.kb.articles import Library, Stamp, folder_stamp, load_folder
from maild.kb.index import Index, Search
from maild.kb.suggest import (
    DEFAULT_MAX_SUGGESTIONS,
    DEFAULT_MIN_SCORE,
    Candidate,
    candidates,
    suggestions,
)

log = logging.getLogger(__name__)

SEARCH_DEPTH = 10  # articles ranked per mail; the floor then picks at most max_suggestions


@dataclass(frozen=True, slots=True)
class Loaded:
    """One load of the folder: what it held, and the index built from it."""

    stamp: Stamp
    library: Library
    index: Index


def mail_text(subject: str, text: str) -> str:
    """What a mail is searched by: its subject and the lines the customer wrote."""
    return f"{subject}\n{text}"


class KnowledgeBase:
    def __init__(
        self,
        folder: Path,
        *,
        min_score: float = DEFAULT_MIN_SCORE,
        max_suggestions: int = DEFAULT_MAX_SUGGESTIONS,
    ) -> None:
        self.folder = folder
        self.min_score = min_score
        self.max_suggestions = max_suggestions
        self._lock = threading.Lock()
        self._loaded: Loaded | None = None

    @classmethod
    def configured(cls, section: KbSection) -> KnowledgeBase | None:
        """The knowledge base of ``[kb] dir`` (loaded on first use); None without one."""
        if section.dir is None:
            return None
        return cls(
            section.dir, min_score=section.min_score, max_suggestions=section.max_suggestions
        )

    @property
    def current(self) -> Loaded:
        """The articles in force, loaded now if they never were."""
        loaded = self._loaded
        if loaded is None:
            with self._lock:
                if self._loaded is None:
                    self._loaded = self._load(folder_stamp(self.folder), "loaded")
                loaded = self._loaded
        return loaded

    def check(self) -> bool:
        """Reload when an article was added, removed or changed since the last load; True
        when it did. Before the first load there is nothing to compare: it loads."""
        with self._lock:
            stamp = folder_stamp(self.folder)
            if self._loaded is not None and stamp == self._loaded.stamp:
                return False
            self._loaded = self._load(stamp, "reloaded" if self._loaded else "loaded")
            return True

    def search(self, subject: str, text: str) -> Search:
        return self.current.index.search(mail_text(subject, text), limit=SEARCH_DEPTH)

    def candidates(self, subject: str, text: str) -> list[Candidate]:
        """Every article the mail matched, each marked suggested or not (``maild kb test``)."""
        return candidates(self.search(subject, text), self.min_score, self.max_suggestions)

    def suggest(self, subject: str, text: str) -> list[Candidate]:
        """The articles to show a customer who wrote ``subject`` and ``text``, best first."""
        if self.max_suggestions == 0:
            return []
        return suggestions(self.search(subject, text), self.min_score, self.max_suggestions)

    def _load(self, stamp: Stamp, verb: str) -> Loaded:
        try:
            library = load_folder(self.folder)
            index = Index(library.articles)
        except Exception:  # an unreadable folder must not stop intake
            log.exception("knowledge base %s not %s", self.folder, verb)
            if self._loaded is not None:
                return Loaded(stamp, self._loaded.library, self._loaded.index)
            return Loaded(stamp, Library(self.folder), Index(()))
        for problem in library.problems:
            log.warning("knowledge base: left out %s", problem)
        log.info(
            "knowledge base %s from %s: %d articles%s",
            verb,
            self.folder,
            len(library.articles),
            f", {len(library.problems)} left out" if library.problems else "",
        )
        return Loaded(stamp, library, index)
