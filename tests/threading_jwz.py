"""Jamie Zawinski's threading algorithm, as mail clients thread: for tests that check ours.

https://www.jwz.org/doc/threading.html, over Message-ID, References and In-Reply-To only.
The step that groups the root set by subject (step 5) is left out on purpose: the tests use
this to prove that our headers alone hold a ticket together, and a subject match would hide
a broken References chain. Clients that do group by subject only join more, never split.

Pure apart from ``load_maildir``; the standard library only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default
from pathlib import Path

__all__ = ["Container", "load_maildir", "thread", "threads"]

_MSG_ID = re.compile(r"<[^<>\s]+>")


@dataclass(eq=False)
class Container:
    """A node of the thread tree; ``message`` is ``None`` for a message only referred to."""

    message_id: str
    message: EmailMessage | None = None
    parent: Container | None = None
    children: list[Container] = field(default_factory=list)

    def is_ancestor_of(self, other: Container) -> bool:
        """True when ``self`` is ``other`` or above it: linking would make a loop."""
        node: Container | None = other
        while node is not None:
            if node is self:
                return True
            node = node.parent
        return False

    def walk(self) -> Iterator[Container]:
        """This container and everything below it, without recursion."""
        stack = [self]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(node.children))


def thread(messages: Iterable[EmailMessage]) -> list[Container]:
    """The root set after jwz steps 1 to 4 (and not 5, subject grouping; see the module)."""
    table: dict[str, Container] = {}
    for number, message in enumerate(messages):
        _add(table, message, number)
    roots = [c for c in table.values() if c.parent is None]
    return [kept for root in roots for kept in _prune(root, at_root=True)]


def threads(messages: Iterable[EmailMessage]) -> list[set[str]]:
    """Each thread as the Message-IDs of its real messages, roots in the order first seen.

    A message without a Message-ID counts as ``<missing-N@threading-jwz>`` (N its position).
    """
    result: list[set[str]] = []
    for root in thread(messages):
        ids = {_own_id(node) for node in root.walk() if node.message is not None}
        result.append(ids)
    return result


def load_maildir(path: Path | str) -> list[EmailMessage]:
    """Every message in a Maildir (``new`` and ``cur``), or in a plain folder of files.

    A plain folder is what ``DirectoryTransport`` writes. Hidden files (temporary files in
    the making) are skipped; the order is by file name, so it is stable between runs.
    """
    root = Path(path)
    folders = [root / "new", root / "cur"]
    if not any(folder.is_dir() for folder in folders):
        folders = [root]
    parser = BytesParser(policy=default)
    messages: list[EmailMessage] = []
    for folder in folders:
        if not folder.is_dir():
            continue
        for file in sorted(folder.iterdir()):
            if file.is_file() and not file.name.startswith("."):
                messages.append(parser.parsebytes(file.read_bytes()))  # type: ignore[arg-type]
    return messages


# -- the steps -------------------------------------------------------------------------------


def _ids(value: object) -> list[str]:
    return _MSG_ID.findall(str(value)) if value is not None else []


def _own_id(container: Container) -> str:
    assert container.message is not None
    found = _ids(container.message["Message-ID"])
    return found[0] if found else container.message_id


def _add(table: dict[str, Container], message: EmailMessage, number: int) -> None:
    """Step 1: file the message, link its References chain, then hang it under the last."""
    found = _ids(message["Message-ID"])
    message_id = found[0] if found else f"<missing-{number}@threading-jwz>"
    container = table.get(message_id)
    if container is not None and container.message is not None:
        # A duplicate Message-ID: jwz keeps the first and threads this one under a new id.
        message_id = f"<duplicate-{number}-{message_id[1:-1]}>"
        container = None
    if container is None:
        container = table[message_id] = Container(message_id)
    container.message = message

    references = _ids(message["References"])
    if not references:
        references = _ids(message["In-Reply-To"])[:1]
    parent: Container | None = None
    for ref in references:
        node = table.get(ref)
        if node is None:
            node = table[ref] = Container(ref)
        # Step 1B: link only what is not linked yet, and never into a loop.
        if parent is not None and node.parent is None and not node.is_ancestor_of(parent):
            _link(parent, node)
        parent = node
    # Step 1C: this message's own References win over what others said of it.
    if container.parent is not None:
        container.parent.children.remove(container)
        container.parent = None
    if parent is not None and not container.is_ancestor_of(parent):
        _link(parent, container)


def _link(parent: Container, child: Container) -> None:
    child.parent = parent
    parent.children.append(child)


def _prune(container: Container, *, at_root: bool) -> list[Container]:
    """Step 4: what ``container`` becomes once empty placeholders are gone.

    An empty container without children disappears; one with children gives way to them,
    except at the root with more than one child, where it keeps the siblings together.
    """
    kept: list[Container] = []
    for child in list(container.children):
        kept.extend(_prune(child, at_root=False))
    container.children = kept
    for child in kept:
        child.parent = container
    if container.message is not None:
        return [container]
    if not kept:
        return []
    if at_root and len(kept) > 1:
        return [container]
    for child in kept:
        child.parent = container.parent
    return kept
