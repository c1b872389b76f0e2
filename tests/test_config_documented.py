"""config.example.toml documents every key maild reads (the rules part documents itself
in its own examples): a key added to the configuration without a line there fails here."""

from __future__ import annotations

import re
import typing
from pathlib import Path

from pydantic import BaseModel

from maild.config import Config

EXAMPLE = (Path(__file__).resolve().parents[1] / "config.example.toml").read_text()
SKIP = {"policy"}  # the rules, agents and SLA: typed in rules/, shown by example blocks


def keys(model: type[BaseModel], path: tuple[str, ...] = ()) -> list[str]:
    found = []
    for name, field in model.model_fields.items():
        if name in SKIP:
            continue
        nested = [
            t
            for t in (field.annotation, *typing.get_args(field.annotation))
            if isinstance(t, type) and issubclass(t, BaseModel)
        ]
        if nested:
            found += keys(nested[0], (*path, name))
        else:
            found.append(".".join((*path, name)))
    return found


def documented(key: str) -> bool:
    name = key.rpartition(".")[2]
    return re.search(rf"^[#\s]*{re.escape(name)}\s*=", EXAMPLE, re.MULTILINE) is not None


def test_every_key_has_a_line_in_the_example() -> None:
    assert [key for key in keys(Config) if not documented(key)] == []


def test_the_check_sees_a_missing_key() -> None:
    assert documented("maild.auto_reply_limit")
    assert not documented("maild.no_such_key_anywhere")
    assert "mailboxes.notify_new" in keys(Config)
