"""The jwz threading helper itself, before integration tests trust it with our mail."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage
from pathlib import Path

from tests.threading_jwz import Container, load_maildir, thread, threads


def message(message_id: str | None, *, refs: str = "", reply_to: str = "") -> EmailMessage:
    lines = ["From: a@example.org", "Subject: same subject everywhere"]
    if message_id is not None:
        lines.append(f"Message-ID: {message_id}")
    if refs:
        lines.append(f"References: {refs}")
    if reply_to:
        lines.append(f"In-Reply-To: {reply_to}")
    raw = ("\r\n".join(lines) + "\r\n\r\nbody\r\n").encode("ascii")
    return email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[return-value]


def shape(container: Container) -> object:
    """A tree as nested tuples: (id or None for a placeholder, children...)."""
    own = container.message_id if container.message is not None else None
    return (own, *(shape(child) for child in container.children))


def test_simple_chain_is_one_thread_in_order() -> None:
    mails = [
        message("<a@x>"),
        message("<b@x>", refs="<a@x>", reply_to="<a@x>"),
        message("<c@x>", refs="<a@x> <b@x>", reply_to="<b@x>"),
    ]
    (root,) = thread(mails)
    assert shape(root) == ("<a@x>", ("<b@x>", ("<c@x>",)))
    assert threads(mails) == [{"<a@x>", "<b@x>", "<c@x>"}]


def test_order_of_arrival_does_not_matter() -> None:
    mails = [
        message("<c@x>", refs="<a@x> <b@x>"),
        message("<b@x>", refs="<a@x>"),
        message("<a@x>"),
    ]
    (root,) = thread(mails)
    assert shape(root) == ("<a@x>", ("<b@x>", ("<c@x>",)))


def test_in_reply_to_is_used_when_there_are_no_references() -> None:
    mails = [message("<a@x>"), message("<b@x>", reply_to="<a@x> (Jane's message of Monday)")]
    assert threads(mails) == [{"<a@x>", "<b@x>"}]


def test_missing_parent_becomes_a_placeholder_joining_siblings() -> None:
    mails = [
        message("<b@x>", refs="<gone@x>"),
        message("<c@x>", refs="<gone@x>"),
    ]
    (root,) = thread(mails)
    assert root.message is None
    assert root.message_id == "<gone@x>"
    assert shape(root) == (None, ("<b@x>",), ("<c@x>",))
    assert threads(mails) == [{"<b@x>", "<c@x>"}]


def test_placeholder_with_one_child_gives_way_to_it() -> None:
    mails = [message("<c@x>", refs="<gone@x> <also-gone@x>")]
    (root,) = thread(mails)
    assert root.message_id == "<c@x>"
    assert root.parent is None


def test_placeholder_in_the_middle_of_a_chain_is_pruned() -> None:
    mails = [message("<a@x>"), message("<c@x>", refs="<a@x> <gone@x>")]
    (root,) = thread(mails)
    assert shape(root) == ("<a@x>", ("<c@x>",))
    assert root.children[0].parent is root


def test_references_loop_terminates_as_one_thread() -> None:
    mails = [
        message("<a@x>", refs="<b@x>"),
        message("<b@x>", refs="<a@x>"),
        message("<c@x>", refs="<c@x>"),
        message("<d@x>", refs="<e@x> <d@x> <e@x>"),
    ]
    found = threads(mails)
    assert {"<a@x>", "<b@x>"} in found
    assert {"<c@x>"} in found
    assert {"<d@x>"} in found
    for root in thread(mails):
        assert root.parent is None
        seen = list(root.walk())
        assert len(seen) == len(set(map(id, seen)))


def test_two_conversations_stay_apart_despite_one_subject() -> None:
    mails = [
        message("<a@x>"),
        message("<b@x>", refs="<a@x>"),
        message("<p@y>"),
        message("<q@y>", refs="<p@y>"),
    ]
    assert sorted(threads(mails), key=sorted) == [{"<a@x>", "<b@x>"}, {"<p@y>", "<q@y>"}]


def test_duplicate_message_id_is_kept_and_threaded_by_its_references() -> None:
    mails = [
        message("<a@x>"),
        message("<b@x>", refs="<a@x>"),
        message("<b@x>", refs="<a@x>"),  # the same mail delivered twice
        message("<a@x>"),  # a duplicate root: jwz gives it a thread of its own
    ]
    trees = thread(mails)
    assert len(trees) == 2
    first = trees[0]
    assert [child.message is not None for child in first.children] == [True, True]
    assert threads(mails) == [{"<a@x>", "<b@x>"}, {"<a@x>"}]


def test_message_without_message_id_is_still_threaded() -> None:
    mails = [message("<a@x>"), message(None, refs="<a@x>")]
    assert threads(mails) == [{"<a@x>", "<missing-1@threading-jwz>"}]


def test_load_maildir_reads_new_and_cur_and_skips_temporary_files(tmp_path: Path) -> None:
    for folder in ("new", "cur", "tmp"):
        (tmp_path / folder).mkdir()
    (tmp_path / "new" / "1.host").write_bytes(message("<a@x>").as_bytes())
    (tmp_path / "cur" / "2.host:2,S").write_bytes(message("<b@x>", refs="<a@x>").as_bytes())
    (tmp_path / "tmp" / "3.host").write_bytes(message("<c@x>").as_bytes())
    loaded = load_maildir(tmp_path)
    assert [m["Message-ID"] for m in loaded] == ["<a@x>", "<b@x>"]
    assert threads(loaded) == [{"<a@x>", "<b@x>"}]


def test_load_maildir_reads_a_plain_folder_of_eml_files(tmp_path: Path) -> None:
    (tmp_path / "b.eml").write_bytes(message("<b@x>", refs="<a@x>").as_bytes())
    (tmp_path / "a.eml").write_bytes(message("<a@x>").as_bytes())
    (tmp_path / ".c.eml.tmp").write_bytes(message("<c@x>").as_bytes())
    assert [m["Message-ID"] for m in load_maildir(tmp_path)] == ["<a@x>", "<b@x>"]
