"""Which articles a mail gets: BM25 ranks them, a relevance floor decides whether they are
worth showing at all.

BM25 scores are unbounded and grow with the length of the query, so a fixed floor on them
would let a long unrelated mail through and stop a short relevant one. The floor is on
:func:`relevance` instead: the words of the mail found in the article's title or tags, each
counted by how specific it is to few articles (1 for a word of this article only, less for
a word many articles share, 0 for one of half of them; :meth:`Index.specificity`), plus a
quarter of that for words found only in the article's text. It does not grow with the mail
or with the number of articles, and reads as "how many distinctive title or tag words the
mail shares with the article": one shared word happens by chance in unrelated mail (a job
application mentioning "developer" next to an API article), so the default floor asks for
about one and a half. Tuned on the labelled set of ``tests/kb/`` (its figures are in
``tests/kb/test_quality.py``).

A second or third article is shown only when its own BM25 score is at least
:data:`RELATIVE_TO_FIRST` of the first one's: a far weaker match next to a good one is noise.

May import nothing of the project but :mod:`maild.kb`.
"""

from __future__ import annotations

from dataclasses import dataclass

from maild.kb.index import Hit, Search

DEFAULT_MIN_SCORE = 1.5
DEFAULT_MAX_SUGGESTIONS = 3
BODY_WEIGHT = 0.25
RELATIVE_TO_FIRST = 0.5


@dataclass(frozen=True, slots=True)
class Candidate:
    """An article the mail matched, with its relevance and whether it is suggested (or why
    not)."""

    hit: Hit
    relevance: float
    suggested: bool
    reason: str = ""

    @property
    def id(self) -> str:
        return self.hit.article.id


def relevance(hit: Hit) -> float:
    """The specific words the mail shares with the article's title and tags, plus a quarter
    of those it shares only with the text (see the module's docstring)."""
    key = sum(term.specificity for term in hit.key_terms)
    body = sum(term.specificity for term in hit.body_terms)
    return round(key + BODY_WEIGHT * body, 3)


def candidates(
    search: Search,
    min_score: float = DEFAULT_MIN_SCORE,
    max_suggestions: int = DEFAULT_MAX_SUGGESTIONS,
) -> list[Candidate]:
    """Every article ``search`` found, best BM25 first, each marked suggested or not."""
    found: list[Candidate] = []
    first: float | None = None
    chosen = 0
    for hit in search.hits:
        score = relevance(hit)
        reason = ""
        if score < min_score:
            reason = f"relevance {score:.2f} below {min_score:g}"
        elif chosen >= max_suggestions:
            reason = f"only {max_suggestions} suggested"
        elif first is not None and hit.score < RELATIVE_TO_FIRST * first:
            reason = f"BM25 below {RELATIVE_TO_FIRST:.0%} of the first suggestion's"
        if not reason:
            chosen += 1
            if first is None:
                first = hit.score
        found.append(Candidate(hit, score, not reason, reason))
    return found


def suggestions(
    search: Search,
    min_score: float = DEFAULT_MIN_SCORE,
    max_suggestions: int = DEFAULT_MAX_SUGGESTIONS,
) -> list[Candidate]:
    """The articles to show for ``search``, best first; none when nothing is relevant."""
    return [found for found in candidates(search, min_score, max_suggestions) if found.suggested]
