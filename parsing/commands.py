"""Agent command lines (``#assign``, ``#status``, ``#note``…) at the top of an agent's reply.

Agents steer a ticket from their own mail client: lines at the very top of their new text
that start with ``#`` and a word are commands, the rest is the answer for the customer.
The caller passes the reply text already cut from its quoted history; whether the sender
is an agent whose mail may carry commands at all is the pipeline's question (DESIGN
invariant 6). Clients mangle plain text (CRLF, non-breaking spaces, zero-width marks,
Outlook's ``<mailto:…>`` links), so those are tolerated; arguments are checked here so
the agent gets a reply naming the bad line, and a ``#canned`` name that could act as a
path never leaves this module (invariant 5). Imports nothing of the project.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

STATUSES = ("open", "pending", "resolved", "closed")
COMMAND_NAMES = frozenset(
    {"note", "send", "assign", "unassign", "status", "priority"}
    | {"category", "tag", "cc", "merge", "canned", "watch", "unwatch"}
)

# Zero-width and direction marks phones and rich-text editors leave in plain text.
_INVISIBLE = re.compile("[\u00ad\u200b\u200c\u200d\u200e\u200f\u2060\ufeff]")
_NEWLINE = re.compile(r"\r\n?|\n")
# "#word", then a colon, whitespace or the end: "#status: closed", "#note". "#1234", "# x",
# "#covid-19" and "#hashtag." are not command lines (they are body text).
_COMMAND_LINE = re.compile(r"#([A-Za-z]+)(?::|(?=\s)|\Z)(.*)\Z", re.DOTALL)
# Outlook writes a typed address as "bob@x.org<mailto:bob@x.org>" in its plain-text part.
_MAILTO_LINK = re.compile(r"(\S)\s*<mailto:[^<>\s]*>", re.IGNORECASE)
_ADDRESS = re.compile(
    r"[\w!#$%&'*+/=?^`{|}~-]+(?:\.[\w!#$%&'*+/=?^`{|}~-]+)*"
    r"@((?:[^\W_](?:[\w-]*[^\W_])?\.)+(?:[^\W\d_]{2,63}|xn--[a-z0-9-]{1,59}))\Z",
    re.IGNORECASE,
)
_TEAM = re.compile(r"team:([\w.-]+)\Z", re.IGNORECASE)
_WORD = re.compile(r"[\w.-]{1,64}\Z")
_TAG = re.compile(r"([+-]?)([A-Za-z0-9_][A-Za-z0-9_.:-]{0,63})\Z")
_TICKET_NUMBER = re.compile(r"#?\s*(\d{1,18})\Z")
_TICKET_TAG = re.compile(r"\[[^\[\]]{0,40}#\s*(\d{1,18})\s*\]\Z")
_CANNED = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}\Z")
_SHOWN_LINE = 80  # characters of a line or word quoted in an error message


@dataclass(frozen=True, slots=True)
class Command:
    """One understood command line; ``args`` are normalised (see :func:`parse_commands`)."""

    name: str
    args: tuple[str, ...]
    line: str


@dataclass(frozen=True, slots=True)
class CommandError:
    """A command line that cannot be carried out; ``message`` is meant for the agent.

    ``name`` is the command word as read (lower case, aliases resolved), so a malformed
    ``#note`` still keeps its mail away from the customer (see :attr:`CommandBlock.is_note`).
    """

    line: str
    message: str
    name: str = ""


@dataclass(frozen=True, slots=True)
class CommandBlock:
    """The command lines at the top of an agent's reply, and the text after them."""

    commands: tuple[Command, ...]
    errors: tuple[CommandError, ...]
    body: str

    @property
    def is_note(self) -> bool:
        """The whole mail is an internal note: also when the ``#note`` line had an error.

        Erring towards "note" is the safe side: a note that reaches the customer cannot
        be taken back, a relay that did not happen can be asked for again.
        """
        return any(c.name == "note" for c in self.commands) or any(
            e.name == "note" for e in self.errors
        )

    @property
    def wants_send(self) -> bool:
        """Relay this mail even where the mailbox's policy makes agent mail a note."""
        return not self.is_note and any(c.name == "send" for c in self.commands)

    @property
    def only_commands(self) -> bool:
        """Nothing but commands: there is no text for the customer."""
        return not self.body.strip()

    def named(self, name: str) -> tuple[Command, ...]:
        """The commands called ``name``, in the order the agent wrote them."""
        return tuple(c for c in self.commands if c.name == name)


class _BadArguments(ValueError):
    """An argument problem; the message is completed with the line by the caller."""


def _clean(line: str) -> str:
    """The line without invisible marks and surrounding (also non-breaking) whitespace."""
    return _INVISIBLE.sub("", line).strip()


def _shown(line: str) -> str:
    return line if len(line) <= _SHOWN_LINE else line[: _SHOWN_LINE - 1] + "…"


def _address(word: str) -> str | None:
    """``word`` as an address with a lower-cased domain, or None if it is not one.

    Angle brackets and a ``mailto:`` scheme, which clients add when they autolink, are
    dropped first.
    """
    word = word.strip().strip("<>")
    if word.lower().startswith("mailto:"):
        word = word[len("mailto:") :]
    match = _ADDRESS.match(word)
    if match is None or len(word) > 254:
        return None
    return word[: match.start(1)] + match.group(1).lower()


def _words(rest: str) -> list[str]:
    return _MAILTO_LINK.sub(r"\1", rest).replace(",", " ").split()


def _no_arguments(name: str, rest: str) -> tuple[str, ...]:
    if rest.strip():
        raise _BadArguments(f"#{name} takes no arguments")
    return ()


def _assign(name: str, rest: str) -> tuple[str, ...]:
    words = _words(rest)
    usage = "#assign needs one agent address, 'me' or 'team:NAME'"
    if len(words) != 1:
        raise _BadArguments(usage)
    word = words[0]
    if word.lower() == "me":
        return ("me",)
    team = _TEAM.match(word)
    if team is not None:
        return (f"team:{team.group(1)}",)
    address = _address(word)
    if address is None:
        raise _BadArguments(f"{_shown(word)!r} is not an address; {usage}")
    return (address,)


def _status(name: str, rest: str) -> tuple[str, ...]:
    words = rest.split()
    usage = "use one of: " + ", ".join(STATUSES)
    if len(words) != 1:
        raise _BadArguments(f"#status needs one status; {usage}")
    status = words[0].lower()
    if status not in STATUSES:
        raise _BadArguments(f"unknown status {_shown(words[0])!r}; {usage}")
    return (status,)


def _priority(name: str, rest: str) -> tuple[str, ...]:
    """One word, lower-cased; whether it is a configured priority is the caller's check."""
    words = rest.split()
    if len(words) != 1 or not _WORD.match(words[0]):
        raise _BadArguments("#priority needs one priority name, e.g. '#priority high'")
    return (words[0].lower(),)


def _category(name: str, rest: str) -> tuple[str, ...]:
    category = " ".join(rest.split())
    if not category:
        raise _BadArguments("#category needs a category name")
    return (category,)


def _tag(name: str, rest: str) -> tuple[str, ...]:
    """``+x`` adds, ``-y`` removes, a bare ``z`` adds; commas may separate tags."""
    words = _words(rest)
    if not words:
        raise _BadArguments("#tag needs tags, e.g. '#tag +vip -spam'")
    changes: dict[str, str] = {}
    for word in words:
        match = _TAG.match(word)
        if match is None:
            raise _BadArguments(
                f"{_shown(word)!r} is not a tag; tags are letters, digits, '_', '.', ':' or '-'"
            )
        sign, tag = match.group(1) or "+", match.group(2)
        if changes.setdefault(tag, sign) != sign:
            raise _BadArguments(f"tag {_shown(tag)!r} is both added and removed")
    return tuple(sign + tag for tag, sign in changes.items())


def _cc(name: str, rest: str) -> tuple[str, ...]:
    words = _words(rest)
    usage = "use '#cc add ADDRESS' or '#cc remove ADDRESS'"
    if len(words) != 2 or words[0].lower() not in ("add", "remove"):
        raise _BadArguments(usage)
    address = _address(words[1])
    if address is None:
        raise _BadArguments(f"{_shown(words[1])!r} is not an address; {usage}")
    return (words[0].lower(), address)


def _merge(name: str, rest: str) -> tuple[str, ...]:
    """The ticket number, written ``1234``, ``#1234`` or as a subject tag ``[ACME #1234]``."""
    text = rest.strip()
    match = _TICKET_NUMBER.match(text) or _TICKET_TAG.match(text)
    if match is None or int(match.group(1)) == 0:
        raise _BadArguments("#merge needs a ticket number, e.g. '#merge 1234'")
    return (str(int(match.group(1))),)


def _canned(name: str, rest: str) -> tuple[str, ...]:
    """A bare template name: the caller looks it up, so it must never act as a path."""
    words = rest.split()
    if len(words) != 1:
        raise _BadArguments("#canned needs one template name, e.g. '#canned password-reset'")
    word = words[0]
    if not _CANNED.match(word) or ".." in word:
        raise _BadArguments(
            f"{_shown(word)!r} is not a template name; use letters, digits, '_', '.' or '-' "
            "(no paths)"
        )
    return (word,)


def _watchers(name: str, rest: str) -> tuple[str, ...]:
    """``#watch`` / ``#unwatch``: the sender (``me``, or nothing), or agents' addresses;
    whether each is an agent is the caller's check."""
    words = _words(rest) or ["me"]
    found: list[str] = []
    for word in words:
        if word.lower() == "me":
            value = "me"
        else:
            address = _address(word)
            if address is None:
                raise _BadArguments(
                    f"{_shown(word)!r} is not an address; use '#{name}' for yourself or "
                    f"'#{name} AGENT@ADDRESS'"
                )
            value = address
        if value not in found:
            found.append(value)
    return tuple(found)


_Handler = Callable[[str, str], tuple[str, ...]]

_HANDLERS: dict[str, _Handler] = {
    "note": _no_arguments,
    "send": _no_arguments,
    "assign": _assign,
    "unassign": _no_arguments,
    "status": _status,
    "priority": _priority,
    "category": _category,
    "tag": _tag,
    "cc": _cc,
    "merge": _merge,
    "canned": _canned,
    "watch": _watchers,
    "unwatch": _watchers,
}
# Shorthands: word → (command, the arguments it stands for).
_ALIASES: dict[str, tuple[str, tuple[str, ...]]] = {
    "close": ("status", ("closed",)),
    "resolve": ("status", ("resolved",)),
}


def _parse_line(word: str, rest: str, line: str) -> Command | CommandError:
    """One command line (``word`` lower-cased) as a command or an error naming the line."""
    try:
        if word in _ALIASES:
            name, args = _ALIASES[word]
            _no_arguments(word, rest)
            return Command(name=name, args=args, line=line)
        handler = _HANDLERS.get(word)
        if handler is None:
            known = ", ".join(f"#{n}" for n in sorted(COMMAND_NAMES | _ALIASES.keys()))
            raise _BadArguments(f"unknown command #{_shown(word)}; known commands: {known}")
        return Command(name=word, args=handler(word, rest), line=line)
    except _BadArguments as error:
        name = _ALIASES[word][0] if word in _ALIASES else word
        return CommandError(line=line, message=f"{_shown(line)!r}: {error}", name=name)


def parse_commands(text: str) -> CommandBlock:
    """Read the command lines at the top of ``text`` (an agent's reply without quotes).

    Blank lines may come before and between commands; the first other line that is not
    ``#word…`` ends the block, so a ``#`` further down is body text. ``body`` is the rest
    with line breaks as ``\\n`` and leading blank lines dropped. Arguments are normalised:
    statuses, priorities and ``add``/``remove`` lower case, address domains lower case, a
    bare tag as ``+tag``, a merge target as its decimal number; ``#close`` and
    ``#resolve`` read as ``#status closed`` / ``#status resolved``.
    """
    lines = _NEWLINE.split(text)
    commands: list[Command] = []
    errors: list[CommandError] = []
    index = 0
    while index < len(lines):
        line = _clean(lines[index])
        if line:
            match = _COMMAND_LINE.match(line)
            if match is None:
                break
            parsed = _parse_line(match.group(1).lower(), match.group(2), line)
            if isinstance(parsed, Command):
                commands.append(parsed)
            else:
                errors.append(parsed)
        index += 1
    errors.extend(_conflicts(commands))
    return CommandBlock(
        commands=tuple(commands), errors=tuple(errors), body="\n".join(lines[index:])
    )


def _conflicts(commands: list[Command]) -> list[CommandError]:
    """``#note`` with ``#send`` is a contradiction to report, not to guess at."""
    sends = [c for c in commands if c.name == "send"]
    if sends and any(c.name == "note" for c in commands):
        line = sends[-1].line
        return [
            CommandError(
                line=line,
                message=f"{line!r}: #note and #send contradict each other; "
                "the mail is kept as an internal note",
                name="send",
            )
        ]
    return []


def tag_changes(command: Command) -> tuple[frozenset[str], frozenset[str]]:
    """The tags a ``#tag`` command adds and removes, without their signs."""
    if command.name != "tag":
        raise ValueError(f"not a #tag command: {command.line!r}")
    added = frozenset(arg[1:] for arg in command.args if arg.startswith("+"))
    removed = frozenset(arg[1:] for arg in command.args if arg.startswith("-"))
    return added, removed


def merge_target(command: Command) -> int:
    """The ticket number a ``#merge`` command names."""
    if command.name != "merge":
        raise ValueError(f"not a #merge command: {command.line!r}")
    return int(command.args[0])
