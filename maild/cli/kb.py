"""``maild kb list|test``: the knowledge base's articles, and what a mail would be suggested.

``test`` ranks the articles for a mail exactly as the acknowledgement of a new ticket does
(:class:`maild.kb.holder.KnowledgeBase`, from ``[kb]``), and shows every article the mail
matched with its BM25 score, its relevance and whether it passes the floor, so an admin sees
why a mail got an article or none. Nothing is stored or sent; no database is opened.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from maild.cli.context import CliContext, config_option, pass_cli
from maild.cli.output import echo_json

if TYPE_CHECKING:
    from maild.kb.holder import KnowledgeBase
    from maild.kb.suggest import Candidate


@click.group()
def kb() -> None:
    """The knowledge base ([kb] dir): its articles, and what a mail would be suggested."""


def _knowledge_base(cli: CliContext) -> KnowledgeBase:
    from maild.kb.holder import KnowledgeBase

    found = KnowledgeBase.configured(cli.config().kb)
    if found is None:
        raise click.ClickException("no knowledge base: set [kb] dir in the configuration")
    return found


@kb.command("list")
@click.option("--json", "as_json", is_flag=True)
@config_option
@pass_cli
def list_articles(cli: CliContext, as_json: bool) -> None:
    """The articles of [kb] dir, and the files left out with why."""
    library = _knowledge_base(cli).current.library
    if as_json:
        echo_json(
            {
                "dir": str(library.folder),
                "articles": [
                    {
                        "id": article.id,
                        "title": article.title,
                        "tags": list(article.tags),
                        "url": article.url,
                        "file": str(article.path),
                    }
                    for article in library.articles
                ],
                "problems": list(library.problems),
            }
        )
        return
    click.echo(f"{library.folder}: {len(library.articles)} articles")
    for article in library.articles:
        click.echo(f"\n{article.id}")
        click.echo(f"  title: {article.title}")
        click.echo(f"  tags:  {', '.join(article.tags) or '-'}")
        click.echo(f"  url:   {article.url or '- (the acknowledgement quotes its first lines)'}")
    for problem in library.problems:
        click.echo(f"left out: {problem}", err=True)


@kb.command("test")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True)
@config_option
@pass_cli
def test_mail(cli: CliContext, file: Path, as_json: bool) -> None:
    """The articles the acknowledgement of FILE (an .eml) would list, with the scores of
    every article it matched."""
    from parsing import parse_message

    try:
        raw = file.read_bytes()
    except OSError as error:
        click.echo(f"maild kb test: {file}: {error.strerror or error}", err=True)
        raise SystemExit(1) from None
    config = cli.config()
    base = _knowledge_base(cli)
    parsed = parse_message(
        raw,
        ticket_prefix=config.maild.ticket_prefix,
        max_mime_depth=config.intake.max_mime_depth,
    )
    search = base.search(parsed.subject, parsed.new_text)
    from maild.kb.suggest import candidates

    found = candidates(search, base.min_score, base.max_suggestions)
    suggested = [item.id for item in found if item.suggested]
    if as_json:
        echo_json(
            {
                "file": str(file),
                "subject": parsed.subject,
                "automated": parsed.automated,
                "terms": [term.word for term in search.terms],
                "min_score": base.min_score,
                "max_suggestions": base.max_suggestions,
                "articles": [_candidate_json(item) for item in found],
                "suggested": suggested,
            }
        )
        return
    click.echo(f"== {file}: {parsed.subject!r}")
    if parsed.automated is not None:
        click.echo(f"note: automated mail ({parsed.automated}): intake acknowledges it not at all")
    click.echo(f"searched for: {' '.join(term.word for term in search.terms) or '(no words)'}")
    click.echo(f"floor: relevance {base.min_score:g}, at most {base.max_suggestions} articles")
    for item in found:
        mark = "SUGGESTED" if item.suggested else "no"
        click.echo(
            f"\n{item.id}: {item.hit.article.title}\n"
            f"  bm25 {item.hit.score:.2f}  relevance {item.relevance:.2f}  {mark}"
            + (f" ({item.reason})" if item.reason else "")
        )
        click.echo(f"  title/tag words: {_words(item.hit.key_terms)}")
        click.echo(f"  text words:      {_words(item.hit.body_terms)}")
    click.echo(
        "\nsuggested: " + (", ".join(suggested) if suggested else "nothing (no article relevant)")
    )


def _candidate_json(item: Candidate) -> dict[str, Any]:
    article = item.hit.article
    return {
        "id": article.id,
        "title": article.title,
        "url": article.url,
        "bm25": round(item.hit.score, 3),
        "relevance": item.relevance,
        "suggested": item.suggested,
        "reason": item.reason or None,
        "key_terms": [term.word for term in item.hit.key_terms],
        "body_terms": [term.word for term in item.hit.body_terms],
    }


def _words(terms: Any) -> str:
    return " ".join(f"{term.word}({term.specificity:.2f})" for term in terms) or "-"
