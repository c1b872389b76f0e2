"""The webhook benchmark's set-up and figures, without a daemon: its configuration is one
maild accepts (three webhooks on every event, their secret in the environment), and the
medians compare like with like."""

from __future__ import annotations

import os
from pathlib import Path

from bench import run
from bench.webhooks import HOOKS, SECRET_ENV, medians, webhooks_in_config
from maild.config import load_config
from maild.webhooks import EVENTS
from maild.webhooks.endpoints import endpoints


def test_the_webhooks_config_is_one_maild_accepts(tmp_path: Path) -> None:
    with webhooks_in_config(8080):
        config = load_config(run.write_config(tmp_path, 2525))
        found = endpoints(config)
    assert SECRET_ENV not in os.environ
    assert [hook.name for hook in config.webhooks] == [f"hook{n}" for n in range(1, HOOKS + 1)]
    assert all(hook.events == EVENTS and hook.include_text for hook in config.webhooks)
    assert found["hook2"].url == "http://127.0.0.1:8080/hook2"
    assert run.write_config(tmp_path, 2525).read_text().count("[[webhooks]]") == 0  # restored


def test_medians_are_per_phase() -> None:
    rows = [
        {"phase": "no-hooks", "msgs_per_s": 300.0, "p50_ms": 10.0, "p99_ms": 30.0},
        {"phase": "3-hooks", "msgs_per_s": 200.0, "p50_ms": 12.0, "p99_ms": 40.0},
        {"phase": "no-hooks", "msgs_per_s": 100.0, "p50_ms": 14.0, "p99_ms": 50.0},
        {"phase": "3-hooks", "msgs_per_s": 250.0, "p50_ms": 11.0, "p99_ms": 35.0},
        {"phase": "no-hooks", "msgs_per_s": 200.0, "p50_ms": 12.0, "p99_ms": 40.0},
    ]
    assert medians(rows) == {
        "no-hooks": {"msgs_per_s": 200.0, "p50_ms": 12.0, "p99_ms": 40.0},
        "3-hooks": {"msgs_per_s": 225.0, "p50_ms": 11.5, "p99_ms": 37.5},
    }
