"""The FTS5 index and the query built from mail text: any text is a safe query (FTS5
syntax in a mail is words or nothing), stop words and numbers are left out, accents and
case are folded the same way on both sides."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from maild.kb.articles import Article
from maild.kb.index import MAX_TERMS, Index, match_expression, query_terms


def article(article_id: str, title: str, tags: tuple[str, ...] = (), body: str = "") -> Article:
    return Article(article_id, title, tags, None, body, Path(f"{article_id}.md"))


ARTICLES = [
    article("password", "Reset a forgotten password", ("login", "passwort vergessen"), "Click."),
    article("cancel", "Cancel your subscription", ("kündigung", "abo"), "Plan page."),
    article("export", "Export your data", ("csv", "excel"), "Reports, then Export."),
    article("invoices", "Download invoices", ("rechnung",), "Billing page."),
]


def test_query_terms_leave_out_stop_words_numbers_and_repeats() -> None:
    text = "Hello team, I forgot my password!! Password 12345 reset, thanks. Regards, Jo"
    assert query_terms(text) == ["team", "forgot", "password", "reset", "jo"]


def test_query_terms_fold_case_and_accents_and_keep_other_scripts() -> None:
    assert query_terms("KÜNDIGUNG Straße café Пароль 密码") == [
        "kundigung",
        "strasse",
        "cafe",
        "пароль",
        "密码",
    ]


def test_query_terms_are_capped() -> None:
    text = " ".join(f"word{chr(97 + i % 26)}{chr(97 + i // 26)}" for i in range(500))
    assert len(query_terms(text)) == MAX_TERMS


def test_match_expression_quotes_every_term() -> None:
    assert match_expression(["a", 'b"c']) == '"a" OR "b""c"'


def test_fts_syntax_in_a_mail_is_only_words() -> None:
    index = Index(ARTICLES)
    for text in (
        'title: NEAR(password reset) AND "unbalanced',
        "password* OR ^cancel NOT -export {title tags}: (",
        "col:password + ''' \\ \0 ;DROP TABLE kb;--",
    ):
        search = index.search(text)
        assert all('"' not in term.word and ":" not in term.word for term in search.terms)
    assert index.search("password* reset").hits[0].article.id == "password"


def test_umlauts_and_case_match_either_spelling() -> None:
    index = Index(ARTICLES)
    assert index.search("Kuendigung? nein: KÜNDIGUNG").hits[0].article.id == "cancel"
    assert index.search("kundigung").hits[0].article.id == "cancel"


def test_stemming_matches_plurals_and_reports_where_the_words_were_found() -> None:
    index = Index(ARTICLES)
    [hit] = index.search("I need my invoices downloaded").hits
    assert hit.article.id == "invoices"
    assert [term.word for term in hit.key_terms] == ["invoices", "downloaded"]
    assert hit.body_terms == ()


def test_a_word_of_one_article_is_fully_specific_a_common_one_is_not() -> None:
    index = Index([*ARTICLES, article("more", "Page", (), "page page"), article("x", "Page")])
    assert index.specificity("csv") == 1.0
    assert index.specificity("page") < 0.5
    assert index.specificity("unknown") == 0.0


def test_empty_text_and_empty_index_find_nothing() -> None:
    assert Index(ARTICLES).search("the and of, 123 !!!").hits == ()
    assert Index([]).search("password").hits == ()


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_any_text_is_a_valid_query(text: str) -> None:
    index = _SHARED
    search = index.search(text)
    assert len(search.terms) <= MAX_TERMS
    assert all(hit.score >= 0 for hit in search.hits)


_SHARED = Index(ARTICLES)
