"""Knowledge-base articles in the acknowledgement, through a real SMTP connection, read
back from the relay sink: a mail about something an article covers gets the article's
title and link in both parts, an unrelated one gets none, the suggestion is an event, and
an edited article folder is picked up by the running daemon."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from maild.clock import ManualClock
from maild.config import config_from_mapping
from storage.models import Event
from tests.conftest import config_data
from tests.mails import customer_mail
from tests.support import DaemonThread, Received, Sink, eventually

EXAMPLE = Path(__file__).resolve().parents[2] / "contrib" / "kb-example"
RESET_URL = "https://help.example.com/account/reset-password"


@pytest.fixture
def kb_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "kb"
    shutil.copytree(EXAMPLE, folder)
    return folder


@pytest.fixture
def kb_daemon(
    tmp_path: Path, database_url: str, sink: Sink, clock: ManualClock, kb_dir: Path
) -> Iterator[DaemonThread]:
    data = config_data(tmp_path, database_url, sink.port)
    data["kb"] = {"dir": str(kb_dir)}
    data["scheduler"] = {"reload_interval": 0.2}
    daemon = DaemonThread(config_from_mapping(data), clock).start()
    yield daemon
    daemon.stop()


def parts(received: Received) -> tuple[str, str]:
    message = received.message
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    return (
        text.get_content().replace("\r\n", "\n"),
        html.get_content().replace("\r\n", "\n"),
    )


def events(daemon: DaemonThread, kind: str) -> list[Event]:
    with daemon.runtime.sessions() as session:
        return list(session.scalars(select(Event).where(Event.kind == kind).order_by(Event.id)))


def ack_for(sink: Sink, count: int, address: str) -> Received:
    received = sink.wait_for(count)
    [ack] = [r for r in received if r.rcpt_tos == (address,)]
    return ack


def test_covered_mail_gets_the_article_and_unrelated_mail_none(
    kb_daemon: DaemonThread, sink: Sink
) -> None:
    kb_daemon.send(
        customer_mail(
            subject="Cant log in",
            body="Hi,\n\nI forgot my password and the reset email never arrives.\n\nMaria\n",
            sender="Maria <maria@customer.example>",
        ),
        mail_from="maria@customer.example",
    )
    text, html = parts(ack_for(sink, 1, "maria@customer.example"))
    assert "from our help pages may answer" in text
    assert f"- Reset a forgotten password\n  {RESET_URL}\n" in text
    assert f'<a href="{RESET_URL}" style="color: #1a5fb4;">Reset a forgotten password</a>' in html

    kb_daemon.send(
        customer_mail(
            subject="Enterprise pricing",
            body="Hello, we would like to talk to sales about an enterprise offer.\n\nThomas\n",
            sender="thomas@corp.example",
        ),
        mail_from="thomas@corp.example",
    )
    text, html = parts(ack_for(sink, 2, "thomas@corp.example"))
    assert "help pages" not in text and "help pages" not in html
    assert "https://" not in text

    [event] = events(kb_daemon, "kb.suggested")
    [article] = event.data["articles"]
    assert article["id"] == "reset-password"
    assert article["title"] == "Reset a forgotten password"
    assert article["relevance"] >= 1.5 and article["bm25"] > 0


def test_article_without_url_shows_its_first_lines(kb_daemon: DaemonThread, sink: Sink) -> None:
    kb_daemon.send(
        customer_mail(
            subject="android app not syncing",
            body="The changes I make in the Android app don't show up on the web.\n",
        )
    )
    [ack] = sink.wait_for(1)
    text, html = parts(ack)
    assert "- The mobile app does not sync\n  The iOS and Android apps keep working offline" in text
    assert "<strong>The mobile app does not sync</strong><br>" in html
    assert "The iOS and Android apps keep working offline and sync" in html


def test_edited_folder_is_picked_up_without_restart(
    kb_daemon: DaemonThread, sink: Sink, kb_dir: Path
) -> None:
    path = kb_dir / "reset-password.md"
    path.write_text(
        path.read_text()
        .replace("title: Reset a forgotten password", "title: Forgot your password? Reset it")
        .replace(RESET_URL, "https://help.example.com/v2/password")
    )
    (kb_dir / "broken.md").write_text("---\ntitle: [not closed\n---\n")
    (kb_dir / "gantt.md").write_text(
        "---\ntitle: Gantt charts and task dependencies\ntags: [gantt, dependencies]\n---\nSoon.\n"
    )
    assert eventually(lambda: len(kb_daemon.runtime.kb.current.library.articles) == 15)
    assert kb_daemon.runtime.kb.current.library.problems[0].startswith(str(kb_dir / "broken.md"))

    kb_daemon.send(customer_mail(subject="Password reset", body="I forgot my password.\n"))
    kb_daemon.send(
        customer_mail(subject="Gantt chart?", body="Do you have Gantt charts with dependencies?\n")
    )
    first, second = (parts(received)[0] for received in sink.wait_for(2))
    assert "- Forgot your password? Reset it\n  https://help.example.com/v2/password" in first
    assert "Gantt charts and task dependencies" in second
    assert [e.data["articles"][0]["id"] for e in events(kb_daemon, "kb.suggested")] == [
        "reset-password",
        "gantt",
    ]


def test_article_title_and_url_are_escaped_in_html(
    kb_daemon: DaemonThread, sink: Sink, kb_dir: Path
) -> None:
    (kb_dir / "xss.md").write_text(
        '---\ntitle: "Widgets <script>alert(1)</script> & gadgets"\ntags: [widgets, gadgets]\n'
        'url: "https://help.example.com/w?a=1&b=2"\n---\nText.\n'
    )
    assert eventually(lambda: kb_daemon.runtime.kb.current.library.get("xss") is not None)
    kb_daemon.send(customer_mail(subject="widgets and gadgets", body="Widgets or gadgets?\n"))
    [ack] = sink.wait_for(1)
    _, html = parts(ack)
    assert "<script>" not in html
    assert "Widgets &lt;script&gt;alert(1)&lt;/script&gt; &amp; gadgets" in html
    assert 'href="https://help.example.com/w?a=1&amp;b=2"' in html
