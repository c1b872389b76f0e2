"""Ratings written in a reply to the survey: a rating alone on the first line counts."""

from __future__ import annotations

import pytest

from parsing.rating import Rating, rating_in_reply


@pytest.mark.parametrize(
    ("text", "scale", "expected"),
    [
        ("5", "1-5", Rating("5", "")),
        ("  4/5\n", "1-5", Rating("4", "")),
        ("4 / 5", "1-5", Rating("4", "")),
        ("3 stars", "1-5", Rating("3", "")),
        ("1 star", "1-5", Rating("1", "")),
        ("5 - quick and kind", "1-5", Rating("5", "quick and kind")),
        ("2: took a week", "1-5", Rating("2", "took a week")),
        ("\n\n5\nThanks a lot.\nAda", "1-5", Rating("5", "Thanks a lot.\nAda")),
        ("good", "good-bad", Rating("good", "")),
        ("Bad - nobody answered", "good-bad", Rating("bad", "nobody answered")),
        ("Good!", "good-bad", Rating("good", "")),
    ],
)
def test_a_rating_alone_on_the_first_line(text: str, scale: str, expected: Rating) -> None:
    assert rating_in_reply(text, scale) == expected


@pytest.mark.parametrize(
    ("text", "scale"),
    [
        ("", "1-5"),
        ("Thanks, 5 people here loved it", "1-5"),
        ("6", "1-5"),
        ("0/5", "1-5"),
        ("5 apples", "1-5"),
        ("good", "1-5"),
        ("5", "good-bad"),
        ("not good", "good-bad"),
        ("goodness me", "good-bad"),
        ("My printer is bad again", "good-bad"),
    ],
)
def test_anything_else_is_no_rating(text: str, scale: str) -> None:
    assert rating_in_reply(text, scale) is None
