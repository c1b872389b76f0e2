"""Fixtures for agents answering by mail: agents, teams, trust, canned responses, note
address, on top of the shared daemon and sink."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from maild.config import Config, config_from_mapping
from tests.conftest import config_data
from tests.support import Sink, write_toml

AUTHSERV = "mx.example.com"
CANNED = {
    "reset.txt.j2": (
        "Hello {{ customer_name }},\n\nyour password for ticket {{ ticket_number }} "
        "({{ ticket_tag }}) is reset.\n\n{{ agent_name }}\n"
    ),
    "broken.txt.j2": "Hello {{ nobody_knows_me }}\n",
}


def agents_data(tmp_path: Path, database_url: str, sink: Sink) -> dict[str, Any]:
    canned = tmp_path / "canned"
    canned.mkdir(exist_ok=True)
    for name, text in CANNED.items():
        (canned / name).write_text(text)
    (tmp_path / "secret.txt.j2").write_text("outside the canned folder\n")
    data = config_data(
        tmp_path,
        database_url,
        sink.port,
        maild={"note_address": "notes@example.com"},
        trust={"authserv_ids": [AUTHSERV]},
        outbound={"canned_dir": str(canned)},
    )
    data["mailboxes"][1]["agent_mail"] = "note"  # billing keeps agent mail internal
    data["teams"] = [{"name": "support"}, {"name": "billing"}]
    data["agents"] = [
        {
            "address": "alice@example.com",
            "name": "Alice",
            "teams": ["support"],
            "skills": ["printers"],
            "aliases": ["alice.private@example.com"],
            "max_open": 5,
        },
        {"address": "bob@example.com", "name": "Bob", "teams": ["billing"]},
    ]
    return data


@pytest.fixture
def config(tmp_path: Path, database_url: str, sink: Sink) -> Config:
    return config_from_mapping(agents_data(tmp_path, database_url, sink))


@pytest.fixture
def config_file(tmp_path: Path, config: Config, database_url: str, sink: Sink) -> Path:
    path = tmp_path / "config.toml"
    write_toml(agents_data(tmp_path, database_url, sink), path)
    return path
