"""Searching the articles: which words of a mail to look for, and what a match says.

The index itself (SQLite FTS5 in a private in-memory database, ranked by BM25 over title,
tags and text) is :mod:`storage.kb_index`. A customer's mail is never FTS5 syntax:
:func:`query_terms` turns any text into at most :data:`MAX_TERMS` plain words (no stop
words, no numbers, no operators), each passed to ``MATCH`` quoted
(:func:`storage.kb_index.match_expression`), so ``NEAR(``, ``"``, ``*`` or ``title:`` in a
mail are words or nothing, never an error or a different query.

May import nothing of the project but :mod:`maild.kb.articles` and :mod:`storage.kb_index`.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from maild.kb.articles import Article
from storage.kb_index import FtsIndex, match_expression

__all__ = ["MAX_TERMS", "Hit", "Index", "Search", "Term", "match_expression", "query_terms"]

MAX_TERMS = 60  # the first distinct words of a mail are enough to know what it is about
MIN_TERM_CHARS = 2
MAX_TERM_CHARS = 40  # longer "words" are hashes, tokens, base64

_WORD = re.compile(r"[^\W_]+")

# Words that say nothing about what a mail is about: function words of English and German,
# and the greetings and courtesies of mail. Compared after case and accent folding.
_STOPWORD_TEXT = """
    a about above after again against all also am an and any are aren as at be because been
    before being below between both but by can cannot could couldn did didn do does doesn
    doing don down during each few for from further get got had hadn has hasn have haven
    having he her here hers herself him himself his how however i if in into is isn it its
    itself just let ll me might more most much must mustn my myself no nor not now of off on
    once only or other ought our ours ourselves out over own re same shall she should shouldn
    so some such than that the their theirs them themselves then there these they this those
    through to too under until up us ve very was wasn way we were weren what when where which
    while who whom why will with won would wouldn yet you your yours yourself yourselves
    im ive id dont cant wont didnt doesnt isnt thats theres
    hi hello hey dear thanks thank thx regards best kind cheers sincerely greetings please
    pls morning afternoon evening sir madam support help question ask asking
    aber alle allem allen aller alles als also am an ander andere anderem anderen anderer
    anderes anders auch auf aus bei bin bis bist da damit dann das dass dasselbe
    dazu dein deine deinem deinen deiner dem demselben den denn denselben der derer derselbe
    derselben des desselben dessen dich die dies diese dieselbe dieselben diesem diesen dieser
    dieses dir doch dort du durch ein eine einem einen einer eines einig einige einigem einigen
    einiger einiges einmal er es etwas euch euer eure eurem euren eurer eures fur gegen gewesen
    hab habe haben hat hatte hatten hier hin hinter ich ihm ihn ihnen ihr ihre ihrem ihren
    ihrer ihres im in indem ins ist jede jedem jeden jeder jedes jene jenem jenen jener jenes
    jetzt kann kein keine keinem keinen keiner keines konnen konnte machen man manche manchem
    manchen mancher manches mein meine meinem meinen meiner meines mich mir mit muss musste
    nach nicht nichts noch nun nur ob oder ohne sehr sein seine seinem seinen seiner seines
    selbst sich sie sind so solche solchem solchen solcher solches soll sollte sondern sonst
    uber um und uns unser unsere unserem unseren unserer unseres unter viel vom von vor wahrend
    war waren warst was weg weil weiter welche welchem welchen welcher welches wenn werde
    werden wie wieder will wir wird wirst wo wollen wollte wurde wurden zu zum zur zwar
    zwischen hallo guten tag danke dank bitte gruss grusse gruße grüße freundlichen mfg lg vg
    liebe lieber viele herzliche geehrte geehrter damen herren beste mussen
    re aw wg fw fwd
"""


def fold(word: str) -> str:
    """``word`` as the index compares it: case folded, accents removed (NFKD)."""
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


STOPWORDS = frozenset(fold(word) for word in _STOPWORD_TEXT.split())


def query_terms(text: str, limit: int = MAX_TERMS) -> list[str]:
    """The distinct words of ``text`` worth searching for, in order of appearance: no stop
    words, no numbers, no one-letter words, at most ``limit``."""
    terms: dict[str, None] = {}
    for match in _WORD.finditer(unicodedata.normalize("NFKC", text)):
        word = fold(match.group())
        if not MIN_TERM_CHARS <= len(word) <= MAX_TERM_CHARS or word.isdigit():
            continue
        if word in STOPWORDS or word in terms:
            continue
        terms[word] = None
        if len(terms) >= limit:
            break
    return list(terms)


@dataclass(frozen=True, slots=True)
class Term:
    """A word of the query: as folded from the mail, as FTS5 stems it, and how specific it
    is to few articles (:meth:`Index.specificity`)."""

    word: str
    stem: str
    specificity: float


@dataclass(frozen=True, slots=True)
class Hit:
    """One article's match: ``score`` is its BM25 score (higher is better, unbounded);
    ``key_terms`` the query's words found in its title or tags, ``body_terms`` those found
    only in its text."""

    article: Article
    score: float
    key_terms: tuple[Term, ...]
    body_terms: tuple[Term, ...]


@dataclass(frozen=True, slots=True)
class Search:
    """What a text was searched for, and the articles it matched, best first."""

    terms: tuple[Term, ...]
    hits: tuple[Hit, ...]


class Index:
    """The articles' index; building a new one never disturbs one in use."""

    def __init__(self, articles: Sequence[Article]) -> None:
        self.articles = tuple(articles)
        self._fts = FtsIndex(
            [(article.title, "\n".join(article.tags), article.body) for article in self.articles]
        )
        self._documents = self._fts.document_frequencies()

    def specificity(self, stem: str) -> float:
        """How much finding ``stem`` in an article says, from 1 (a word of one article only)
        down to 0 (a word of half the articles or more): BM25's own inverse document
        frequency, divided by that of a word of one article, so that it does not grow with
        the number of articles."""
        found = self._documents.get(stem, 0)
        count = len(self.articles)
        if found == 0:
            return 0.0
        if count < 3:  # too few articles for BM25's idf to say anything
            return 1.0 / found
        idf = math.log((count - found + 0.5) / (found + 0.5))
        return max(0.0, idf) / math.log((count - 0.5) / 1.5)

    def search(self, text: str, limit: int = 10) -> Search:
        """The best ``limit`` articles for the words of ``text`` (:func:`query_terms`)."""
        words = query_terms(text)
        if not words or not self.articles:
            return Search((), ())
        terms = self._stemmed(words)
        if not terms:
            return Search((), ())
        ranked = self._fts.rank([term.word for term in terms], limit)
        found = self._fts.columns([row for row, _ in ranked], [term.stem for term in terms])
        hits = []
        for row, score in ranked:
            columns = found.get(row, {})
            key = [term for term in terms if columns.get(term.stem, set()) & {0, 1}]
            body = [term for term in terms if term not in key and term.stem in columns]
            hits.append(Hit(self.articles[row], score, tuple(key), tuple(body)))
        return Search(tuple(terms), tuple(hits))

    def _stemmed(self, words: Sequence[str]) -> list[Term]:
        """``words`` as FTS5 stems them, without those whose stem is a stop word ("one" is
        "on" to the Porter stemmer) or that the tokenizer drops."""
        stems = self._fts.stems(words)
        terms: dict[str, Term] = {}
        for position, word in enumerate(words):
            stem = stems.get(position)
            if stem is None or stem in STOPWORDS or len(stem) < MIN_TERM_CHARS or stem in terms:
                continue
            terms[stem] = Term(word, stem, self.specificity(stem))
        return list(terms.values())
