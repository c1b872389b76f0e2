"""How good the knowledge-base suggestions are, on mails labelled by hand.

``fixtures/labelled.toml`` (52 mails over the 14 articles of ``contrib/kb-example``, 16 of
them about nothing an article covers) is what the relevance floor and the example articles
were tuned on; ``fixtures/heldout.toml`` (24 mails, 8 unrelated) was written afterwards and
never tuned on. Each mail goes through the real parser (signature and quoted text removed)
and :meth:`KnowledgeBase.suggest` with the configuration's defaults, exactly as the
acknowledgement of a new ticket does.

Figures (``pytest tests/kb/test_quality.py -s`` prints them):

- top suggestion right: the first article suggested is the expected one, over the mails an
  article answers (a mail that gets nothing counts as wrong);
- precision: the same over the mails that got a suggestion;
- unrelated with a suggestion: the mails no article answers that still got one.

Targets, on both sets together: top suggestion right >= 80 %, unrelated with a suggestion
<= 10 %.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

from maild.config import KbSection
from maild.kb.holder import KnowledgeBase
from parsing import parse_message
from tests.mails import customer_mail

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "contrib" / "kb-example"
FIXTURES = Path(__file__).parent / "fixtures"


@dataclass(frozen=True)
class Outcome:
    subject: str
    expected: str
    suggested: tuple[str, ...]


@dataclass(frozen=True)
class Figures:
    answered: int
    top_right: int
    got_some: int
    unrelated: int
    unrelated_with: int

    @property
    def top_right_share(self) -> float:
        return self.top_right / self.answered

    @property
    def precision(self) -> float:
        return self.top_right / self.got_some if self.got_some else 1.0

    @property
    def unrelated_share(self) -> float:
        return self.unrelated_with / self.unrelated

    def __add__(self, other: Figures) -> Figures:
        return Figures(
            self.answered + other.answered,
            self.top_right + other.top_right,
            self.got_some + other.got_some,
            self.unrelated + other.unrelated,
            self.unrelated_with + other.unrelated_with,
        )

    def describe(self, name: str) -> str:
        return (
            f"{name}: top suggestion right {self.top_right}/{self.answered} "
            f"= {self.top_right_share:.1%} (precision {self.top_right}/{self.got_some} "
            f"= {self.precision:.1%}); unrelated with a suggestion {self.unrelated_with}/"
            f"{self.unrelated} = {self.unrelated_share:.1%}, got none "
            f"{1 - self.unrelated_share:.1%}"
        )


def labelled(name: str) -> list[dict[str, str]]:
    return tomllib.loads((FIXTURES / name).read_text())["mail"]


def run(name: str) -> list[Outcome]:
    defaults = KbSection()
    kb = KnowledgeBase(
        EXAMPLE, min_score=defaults.min_score, max_suggestions=defaults.max_suggestions
    )
    outcomes = []
    for mail in labelled(name):
        parsed = parse_message(customer_mail(subject=mail["subject"], body=mail["body"]))
        found = kb.suggest(parsed.subject, parsed.new_text)
        outcomes.append(Outcome(mail["subject"], mail["expect"], tuple(c.id for c in found)))
    return outcomes


def figures(outcomes: list[Outcome]) -> Figures:
    answered = [o for o in outcomes if o.expected]
    unrelated = [o for o in outcomes if not o.expected]
    return Figures(
        answered=len(answered),
        top_right=sum(1 for o in answered if o.suggested[:1] == (o.expected,)),
        got_some=sum(1 for o in answered if o.suggested),
        unrelated=len(unrelated),
        unrelated_with=sum(1 for o in unrelated if o.suggested),
    )


@pytest.fixture(scope="module")
def outcomes() -> dict[str, list[Outcome]]:
    return {name: run(name) for name in ("labelled.toml", "heldout.toml")}


def test_the_labelled_set_is_big_and_varied_enough() -> None:
    mails = labelled("labelled.toml")
    articles = {path.stem for path in EXAMPLE.glob("*.md")}
    expected = {mail["expect"] for mail in mails if mail["expect"]}
    assert len(mails) >= 30
    assert len(expected) >= 10 and expected <= articles
    assert sum(1 for mail in mails if not mail["expect"]) >= 10
    for mail in labelled("heldout.toml"):
        assert mail["expect"] in articles | {""}


def test_suggestions_meet_the_quality_targets(outcomes: dict[str, list[Outcome]]) -> None:
    tuned, held_out = figures(outcomes["labelled.toml"]), figures(outcomes["heldout.toml"])
    both = tuned + held_out
    print()
    print(tuned.describe("labelled (tuned on)"))
    print(held_out.describe("held out"))
    print(both.describe("both"))
    for name, found in outcomes.items():
        for outcome in found:
            if outcome.suggested[:1] != ((outcome.expected,) if outcome.expected else ()):
                print(
                    f"  miss in {name}: {outcome.subject!r}: expected "
                    f"{outcome.expected or 'nothing'}, got {list(outcome.suggested)}"
                )
    assert both.top_right_share >= 0.80
    assert both.unrelated_share <= 0.10
    assert tuned.top_right_share >= 0.80 and held_out.top_right_share >= 0.80


def test_a_wrong_first_article_is_rare(outcomes: dict[str, list[Outcome]]) -> None:
    """A miss should be "nothing suggested", not a wrong article first."""
    found = outcomes["labelled.toml"] + outcomes["heldout.toml"]
    wrong = [o for o in found if o.expected and o.suggested and o.suggested[0] != o.expected]
    assert len(wrong) <= 1, wrong
