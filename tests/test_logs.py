"""maild.logs: text lines with the ticket, JSON lines (``[maild] log_format = "json"``) with
the ticket, Message-ID and source wherever they exist, and a context that stays in its
block, thread and task."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import threading
from collections.abc import Iterator

import pytest

from maild.config import ConfigError, config_from_mapping
from maild.logs import (
    JsonFormatter,
    LogContextFilter,
    TextFormatter,
    configure_logging,
    log_context,
)


@pytest.fixture
def logged() -> Iterator[tuple[logging.Logger, io.StringIO, io.StringIO]]:
    """A logger writing the same records as text and as JSON."""
    text, jsonl = io.StringIO(), io.StringIO()
    logger = logging.getLogger("maild.test_logs")
    handlers = []
    for stream, formatter in ((text, TextFormatter()), (jsonl, JsonFormatter())):
        handler = logging.StreamHandler(stream)
        handler.addFilter(LogContextFilter())
        handler.setFormatter(formatter)
        handlers.append(handler)
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        yield logger, text, jsonl
    finally:
        for handler in handlers:
            logger.removeHandler(handler)
        logger.propagate = True


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_lines_carry_the_ticket_message_id_and_source(logged) -> None:
    logger, text, jsonl = logged
    logger.info("no context")
    with log_context(message_id="<a@customer.example>", source="smtp"):
        logger.info("new_ticket: ticket #%s", 1001, extra={"ticket": 1001})
        logger.warning("quarantined")
    logger.info("after")
    first, stored, quarantined, after = lines(jsonl)
    assert set(first) == {"time", "level", "logger", "message"}
    assert first["logger"] == "maild.test_logs"
    assert str(first["time"]).endswith("+00:00")
    assert stored["message"] == "new_ticket: ticket #1001"
    assert (stored["ticket"], stored["message_id"], stored["source"]) == (
        1001,
        "<a@customer.example>",
        "smtp",
    )
    assert quarantined["level"] == "WARNING"
    assert "ticket" not in quarantined
    assert quarantined["message_id"] == "<a@customer.example>"
    assert set(after) == {"time", "level", "logger", "message"}  # the context ended
    assert [line[line.index("maild.") :] for line in text.getvalue().splitlines()] == [
        "maild.test_logs [#-] no context",
        "maild.test_logs [#1001] new_ticket: ticket #1001",
        "maild.test_logs [#-] quarantined",
        "maild.test_logs [#-] after",
    ]


def test_extra_wins_over_the_context_and_contexts_nest(logged) -> None:
    logger, _, jsonl = logged
    with log_context(source="imap:office", ticket=5), log_context(message_id="<m@x>"):
        logger.info("one", extra={"ticket": 6})
        logger.info("two")
    one, two = lines(jsonl)
    assert (one["ticket"], one["source"], one["message_id"]) == (6, "imap:office", "<m@x>")
    assert two["ticket"] == 5


def test_missing_values_are_left_out(logged) -> None:
    logger, _, jsonl = logged
    with log_context(message_id=None, source="ingest"):
        logger.info("no message-id")
    [line] = lines(jsonl)
    assert "message_id" not in line and line["source"] == "ingest"


def test_an_exception_stays_on_its_json_line(logged) -> None:
    logger, _, jsonl = logged
    try:
        raise RuntimeError("boom\nsecond line")
    except RuntimeError:
        logger.exception("failed")
    [line] = jsonl.getvalue().splitlines()
    entry = json.loads(line)
    assert entry["message"] == "failed"
    assert "RuntimeError: boom" in str(entry["exception"])


def test_context_belongs_to_its_thread_and_task(logged) -> None:
    logger, _, jsonl = logged
    with log_context(source="smtp"):
        thread = threading.Thread(target=logger.info, args=("from another thread",))
        thread.start()
        thread.join()

    async def tasks() -> None:
        async def one(source: str, go: asyncio.Event, wait: asyncio.Event) -> None:
            with log_context(source=source):
                go.set()
                await wait.wait()  # the other task sets its context meanwhile
                logger.info("task %s", source)

        a, b = asyncio.Event(), asyncio.Event()
        await asyncio.gather(one("smtp", a, b), one("lmtp", b, a))

    asyncio.run(tasks())
    entries = lines(jsonl)
    assert "source" not in entries[0]
    assert {(e["message"], e["source"]) for e in entries[1:]} == {
        ("task smtp", "smtp"),
        ("task lmtp", "lmtp"),
    }


def test_unknown_context_fields_are_refused() -> None:
    with pytest.raises(ValueError, match="not a log context field"), log_context(peer="x"):
        pass


def test_configure_logging_json(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        configure_logging("INFO", "json")
        logging.getLogger("maild.x").info("hello", extra={"ticket": 7})
        entry = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
        assert (entry["message"], entry["ticket"], entry["level"]) == ("hello", 7, "INFO")
        with pytest.raises(ValueError, match="log format"):
            configure_logging("INFO", "xml")
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)


def test_log_format_is_checked_in_the_configuration() -> None:
    assert config_from_mapping({}).maild.log_format == "text"
    assert config_from_mapping({"maild": {"log_format": "json"}}).maild.log_format == "json"
    with pytest.raises(ConfigError, match=r"maild\.log_format: must be 'text' or 'json'"):
        config_from_mapping({"maild": {"log_format": "yaml"}})
