"""The relevance floor: one shared distinctive word is chance, about two is a match; BM25
orders what passes, and a far weaker match next to a good one is left out."""

from __future__ import annotations

from pathlib import Path

from maild.kb.articles import Article
from maild.kb.index import Hit, Search, Term
from maild.kb.suggest import candidates, relevance, suggestions


def hit(article_id: str, score: float, key: list[float], body: tuple[float, ...] = ()) -> Hit:
    article = Article(article_id, article_id.title(), (), None, "", Path(f"{article_id}.md"))
    return Hit(
        article,
        score,
        tuple(Term(f"k{i}", f"k{i}", s) for i, s in enumerate(key)),
        tuple(Term(f"b{i}", f"b{i}", s) for i, s in enumerate(body)),
    )


def search(*hits: Hit) -> Search:
    return Search((), hits)


def test_relevance_counts_title_and_tag_words_fully_and_text_words_a_quarter() -> None:
    assert relevance(hit("a", 5.0, [1.0, 0.5], [1.0, 1.0])) == 2.0


def test_one_shared_word_is_not_enough_two_are() -> None:
    assert suggestions(search(hit("a", 9.0, [1.0]))) == []
    assert [c.id for c in suggestions(search(hit("a", 9.0, [1.0, 0.75])))] == ["a"]


def test_bm25_orders_what_passes_and_the_maximum_holds() -> None:
    found = search(
        hit("a", 20.0, [1.0, 1.0]),
        hit("b", 15.0, [1.0]),  # below the floor: skipped, not the end
        hit("c", 14.0, [1.0, 1.0]),
        hit("d", 12.0, [1.0, 1.0]),
        hit("e", 11.0, [1.0, 1.0]),
    )
    assert [c.id for c in suggestions(found)] == ["a", "c", "d"]
    assert [c.id for c in suggestions(found, max_suggestions=1)] == ["a"]
    marked = {c.id: c.reason for c in candidates(found)}
    assert marked["b"] == "relevance 1.00 below 1.5"
    assert marked["e"] == "only 3 suggested"


def test_a_far_weaker_second_match_is_left_out() -> None:
    found = search(hit("a", 20.0, [1.0, 1.0]), hit("b", 9.0, [1.0, 1.0]))
    assert [c.id for c in suggestions(found)] == ["a"]
    assert "BM25 below 50%" in candidates(found)[1].reason


def test_the_floor_is_configurable() -> None:
    found = search(hit("a", 9.0, [1.0]))
    assert [c.id for c in suggestions(found, min_score=1.0)] == ["a"]
    assert suggestions(search(hit("a", 9.0, [1.0, 1.0])), min_score=2.5) == []
