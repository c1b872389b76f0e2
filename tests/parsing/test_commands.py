"""Agent command lines: read at the top of the reply only, arguments checked and normalised.

Tables of commands as agents type them (and as mail clients mangle them), the lines that
end the command block, the errors an agent gets back, and what reaches the customer.
"""

from __future__ import annotations

import pytest

from parsing.commands import (
    Command,
    CommandBlock,
    CommandError,
    merge_target,
    parse_commands,
    tag_changes,
)

# -- one command line: name and normalised arguments ---------------------------------------

VALID = [
    ("#note", "note", ()),
    ("#send", "send", ()),
    ("#unassign", "unassign", ()),
    ("#NOTE", "note", ()),
    ("#Note:", "note", ()),
    ("#assign alice@example.com", "assign", ("alice@example.com",)),
    ("#assign Alice@EXAMPLE.com", "assign", ("Alice@example.com",)),
    ("#assign <alice@example.com>", "assign", ("alice@example.com",)),
    ("#assign mailto:alice@example.com", "assign", ("alice@example.com",)),
    ("#assign alice@example.com<mailto:alice@example.com>", "assign", ("alice@example.com",)),
    ("#assign alice@example.com <mailto:alice@example.com>", "assign", ("alice@example.com",)),
    ("#assign me", "assign", ("me",)),
    ("#assign ME", "assign", ("me",)),
    ("#assign team:billing", "assign", ("team:billing",)),
    ("#assign Team:Billing", "assign", ("team:Billing",)),
    ("#assign: me", "assign", ("me",)),
    ("#status open", "status", ("open",)),
    ("#status pending", "status", ("pending",)),
    ("#status Resolved", "status", ("resolved",)),
    ("#STATUS CLOSED", "status", ("closed",)),
    ("#status: closed", "status", ("closed",)),
    ("#status:closed", "status", ("closed",)),
    ("#status    closed   ", "status", ("closed",)),
    ("#status\tclosed", "status", ("closed",)),
    ("#close", "status", ("closed",)),
    ("#resolve", "status", ("resolved",)),
    ("#Resolve:", "status", ("resolved",)),
    ("#priority high", "priority", ("high",)),
    ("#priority URGENT", "priority", ("urgent",)),
    ("#priority p1", "priority", ("p1",)),
    ("#priority whatever", "priority", ("whatever",)),  # the caller checks the config
    ("#category Billing", "category", ("Billing",)),
    ("#category  Hardware /  Printers ", "category", ("Hardware / Printers",)),
    ("#tag vip", "tag", ("+vip",)),
    ("#tag +x -y z", "tag", ("+x", "-y", "+z")),
    ("#tag +x, -y, z", "tag", ("+x", "-y", "+z")),
    (
        "#tag region:eu v1.2 under_score with-dash",
        "tag",
        ("+region:eu", "+v1.2", "+under_score", "+with-dash"),
    ),
    ("#tag x x +x", "tag", ("+x",)),
    ("#cc add bob@example.org", "cc", ("add", "bob@example.org")),
    ("#cc ADD bob@Example.ORG", "cc", ("add", "bob@example.org")),
    ("#cc remove bob@example.org", "cc", ("remove", "bob@example.org")),
    ("#cc add bob@example.org<mailto:bob@example.org>", "cc", ("add", "bob@example.org")),
    ("#merge 1234", "merge", ("1234",)),
    ("#merge #1234", "merge", ("1234",)),
    ("#merge # 1234", "merge", ("1234",)),
    ("#merge 01234", "merge", ("1234",)),
    ("#merge [ACME #1234]", "merge", ("1234",)),
    ("#merge [ACME#1234]", "merge", ("1234",)),
    ("#merge [ACME Support #1234]", "merge", ("1234",)),
    ("#canned password-reset", "canned", ("password-reset",)),
    ("#canned Welcome_v2.de", "canned", ("Welcome_v2.de",)),
    ("#canned a.b", "canned", ("a.b",)),
    ("#assign jörg@müller.de", "assign", ("jörg@müller.de",)),
    ("#assign user@xn--80ak6aa92e.com", "assign", ("user@xn--80ak6aa92e.com",)),
    ("#watch", "watch", ("me",)),
    ("#Watch: me", "watch", ("me",)),
    ("#watch Bob@Example.COM", "watch", ("Bob@example.com",)),
    ("#watch bob@example.com, me, bob@example.com", "watch", ("bob@example.com", "me")),
    ("#watch <bob@example.com>", "watch", ("bob@example.com",)),
    ("#unwatch", "unwatch", ("me",)),
    ("#unwatch bob@example.com", "unwatch", ("bob@example.com",)),
]


@pytest.mark.parametrize(("line", "name", "args"), VALID)
def test_command_line_is_read_and_normalised(line: str, name: str, args: tuple[str, ...]):
    block = parse_commands(line + "\n\nHello")
    assert block.errors == ()
    assert block.commands == (Command(name=name, args=args, line=line.strip()),)
    assert block.body == "Hello"


# -- bad arguments: an error that names the line --------------------------------------------

INVALID = [
    ("#status maybe", "unknown status 'maybe'"),
    ("#status", "#status needs one status"),
    ("#status open closed", "#status needs one status"),
    ("#status new", "unknown status 'new'"),
    ("#merge abc", "#merge needs a ticket number"),
    ("#merge", "#merge needs a ticket number"),
    ("#merge 0", "#merge needs a ticket number"),
    ("#merge 12 34", "#merge needs a ticket number"),
    ("#merge 1234567890123456789", "#merge needs a ticket number"),
    ("#assign", "#assign needs one agent address"),
    ("#assign alice bob", "#assign needs one agent address"),
    ("#assign alice", "'alice' is not an address"),
    ("#assign alice@", "'alice@' is not an address"),
    ("#assign @example.com", "'@example.com' is not an address"),
    ("#assign alice@localhost", "'alice@localhost' is not an address"),
    ("#assign a..b@example.com", "is not an address"),
    ("#assign team:", "'team:' is not an address"),
    ("#cc add not-an-address", "'not-an-address' is not an address"),
    ("#cc add", "use '#cc add ADDRESS' or '#cc remove ADDRESS'"),
    ("#cc bob@example.org", "use '#cc add ADDRESS' or '#cc remove ADDRESS'"),
    ("#cc delete bob@example.org", "use '#cc add ADDRESS' or '#cc remove ADDRESS'"),
    ("#cc add a@example.org b@example.org", "use '#cc add ADDRESS'"),
    ("#priority", "#priority needs one priority name"),
    ("#priority very high", "#priority needs one priority name"),
    ("#priority hi/gh", "#priority needs one priority name"),
    ("#category", "#category needs a category name"),
    ("#category    ", "#category needs a category name"),
    ("#tag", "#tag needs tags"),
    ("#tag +", "'+' is not a tag"),
    ("#tag bad/tag", "'bad/tag' is not a tag"),
    ("#tag +x -x", "tag 'x' is both added and removed"),
    ("#note please call back", "#note takes no arguments"),
    ("#send now", "#send takes no arguments"),
    ("#unassign alice@example.com", "#unassign takes no arguments"),
    ("#close 1234", "#close takes no arguments"),
    ("#canned", "#canned needs one template name"),
    ("#canned two words", "#canned needs one template name"),
    ("#watch bob", "'bob' is not an address; use '#watch' for yourself"),
    ("#unwatch team:billing", "'team:billing' is not an address; use '#unwatch'"),
    ("#hashtag", "unknown command #hashtag"),
    ("#Assignee me", "unknown command #assignee"),
]


@pytest.mark.parametrize(("line", "expected"), INVALID)
def test_bad_command_line_gives_an_error_naming_the_line(line: str, expected: str):
    block = parse_commands(line + "\nHello")
    assert block.commands == ()
    (error,) = block.errors
    assert error.line == line.strip()
    assert expected in error.message
    assert repr(line.strip()) in error.message
    assert block.body == "Hello"


@pytest.mark.parametrize(
    "name",
    [
        "../../etc/passwd",
        "..",
        "...",
        ".hidden",
        "a/b",
        "/etc/passwd",
        "..\\..\\windows\\win.ini",
        "a\\b",
        "a..b",
        "templates/../secret",
        "%2e%2e",
        "name\x00",
        "~root",
        "x" * 101,
    ],
)
def test_canned_name_is_never_a_path(name: str):
    block = parse_commands(f"#canned {name}")
    assert block.commands == ()
    (error,) = block.errors
    assert error.name == "canned"


def test_unknown_command_lists_the_known_ones():
    (error,) = parse_commands("#hashtag").errors
    assert error.name == "hashtag"
    assert "#assign" in error.message and "#status" in error.message


# -- where the block ends ----------------------------------------------------------------

BLOCKS = [
    # (text, command names in order, number of errors, body)
    ("Hello", (), 0, "Hello"),
    ("", (), 0, ""),
    ("\n\n", (), 0, ""),
    ("#note", ("note",), 0, ""),
    ("#note\n", ("note",), 0, ""),
    ("\n\n#note\nInternal remark", ("note",), 0, "Internal remark"),
    (
        "#status pending\n#assign me\n\nHi Ann,\n\nfixed.",
        ("status", "assign"),
        0,
        "Hi Ann,\n\nfixed.",
    ),
    ("#status pending\n\n\n#assign me\n\n\nHi", ("status", "assign"), 0, "Hi"),
    # a '#' further down is body text, never a command
    ("Hello\n#close\nBye", (), 0, "Hello\n#close\nBye"),
    ("#note\nSee below\n#status closed", ("note",), 0, "See below\n#status closed"),
    # '#' with a digit or a space is not a command line: it ends the block
    ("#1234 is the order number\n#close", (), 0, "#1234 is the order number\n#close"),
    ("#close\n#1234 is the order number", ("status",), 0, "#1234 is the order number"),
    ("# Heading\nText", (), 0, "# Heading\nText"),
    ("#\nText", (), 0, "#\nText"),
    ("##note\nText", (), 0, "##note\nText"),
    ("#covid-19 update\nText", (), 0, "#covid-19 update\nText"),
    ("#note.\nText", (), 0, "#note.\nText"),
    ("> #note\nText", (), 0, "> #note\nText"),
    ("Re #close: no", (), 0, "Re #close: no"),
    # errors do not end the block: later commands are still read
    ("#status maybe\n#assign me\nHi", ("assign",), 1, "Hi"),
    ("#hashtag\n#note\nHi", ("note",), 1, "Hi"),
    # body keeps its own indentation and trailing text
    ("#send\n\n  indented line\n\n-- \nAnn", ("send",), 0, "  indented line\n\n-- \nAnn"),
]


@pytest.mark.parametrize(("text", "names", "errors", "body"), BLOCKS)
def test_command_block_ends_at_first_other_line(
    text: str, names: tuple[str, ...], errors: int, body: str
):
    block = parse_commands(text)
    assert tuple(c.name for c in block.commands) == names
    assert len(block.errors) == errors
    assert block.body == body


# -- what mail clients do to plain text ----------------------------------------------------

MANGLED = [
    ("crlf", "#status closed\r\n#assign me\r\n\r\nThanks\r\nAnn", "Thanks\nAnn"),
    ("bare cr", "#status closed\r#assign me\r\rThanks", "Thanks"),
    ("nbsp before", "\u00a0#status closed\n\u00a0#assign me\n\nThanks", "Thanks"),
    ("nbsp between", "#status\u00a0closed\n#assign\u00a0me\n\nThanks", "Thanks"),
    (
        "nbsp blank lines",
        "\u00a0\n#status closed\n\u00a0\u00a0\n#assign me\n\u00a0\nThanks",
        "Thanks",
    ),
    ("zero width", "\u200b#status closed\n#assign me\u200b\n\u200b\nThanks", "Thanks"),
    ("bom", "\ufeff#status closed\n#assign me\nThanks", "Thanks"),
    ("trailing spaces", "#status closed   \n#assign me \t\nThanks", "Thanks"),
    ("leading spaces", "   #status closed\n\t#assign me\nThanks", "Thanks"),
    (
        "outlook crlf nbsp",
        "\r\n\u00a0\r\n#status closed\r\n#assign me\r\n\u00a0\r\nThanks",
        "Thanks",
    ),
]


@pytest.mark.parametrize(("client", "text", "body"), MANGLED, ids=[m[0] for m in MANGLED])
def test_mangled_plain_text_is_read(client: str, text: str, body: str):
    block = parse_commands(text)
    assert block.errors == ()
    assert [(c.name, c.args) for c in block.commands] == [
        ("status", ("closed",)),
        ("assign", ("me",)),
    ]
    assert block.body == body


def test_line_is_kept_stripped_for_audit():
    block = parse_commands("\u00a0\u200b  #Status   Closed  \r\nHi")
    assert block.commands[0].line == "#Status   Closed"


# -- note, send, only commands -------------------------------------------------------------


def test_note_makes_the_whole_mail_a_note():
    block = parse_commands("#note\nCustomer called, very upset.")
    assert block.is_note
    assert not block.wants_send
    assert not block.only_commands


def test_send_asks_for_relay():
    block = parse_commands("#send\nHello, the fix is live.")
    assert block.wants_send
    assert not block.is_note


def test_malformed_note_still_keeps_the_mail_internal():
    block = parse_commands("#note: customer is angry\nDo not forward this.")
    assert block.commands == ()
    assert block.errors[0].name == "note"
    assert block.is_note
    assert not block.wants_send


def test_note_and_send_together_is_an_error_and_stays_a_note():
    block = parse_commands("#note\n#send\nText")
    assert block.is_note
    assert not block.wants_send
    (error,) = block.errors
    assert error.line == "#send"
    assert "contradict" in error.message


def test_plain_reply_is_neither_note_nor_send():
    block = parse_commands("Thanks, fixed.")
    assert block == CommandBlock(commands=(), errors=(), body="Thanks, fixed.")
    assert not block.is_note
    assert not block.wants_send


@pytest.mark.parametrize(
    ("text", "only"),
    [
        ("#close", True),
        ("#close\n\n   \n", True),
        ("#close\n\u00a0\n", True),
        ("#close\nThanks", False),
        ("", True),
    ],
)
def test_only_commands(text: str, only: bool):
    assert parse_commands(text).only_commands is only


def test_named_keeps_order():
    block = parse_commands("#tag a\n#status open\n#tag -b\n")
    assert [c.args for c in block.named("tag")] == [("+a",), ("-b",)]
    assert block.named("merge") == ()


# -- typed helpers -------------------------------------------------------------------------


def test_tag_changes():
    (command,) = parse_commands("#tag +vip -spam billing").commands
    assert tag_changes(command) == (frozenset({"vip", "billing"}), frozenset({"spam"}))


def test_merge_target():
    (command,) = parse_commands("#merge [ACME #0042]").commands
    assert merge_target(command) == 42


@pytest.mark.parametrize("helper", [tag_changes, merge_target])
def test_helpers_refuse_other_commands(helper):
    (command,) = parse_commands("#close").commands
    with pytest.raises(ValueError, match="#close"):
        helper(command)


def test_values_are_frozen():
    block = parse_commands("#close\nHi")
    with pytest.raises(AttributeError):
        block.body = "changed"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        block.commands[0].name = "note"  # type: ignore[misc]
    error = CommandError(line="#x", message="m")
    assert error.name == ""


def test_long_line_is_cut_in_the_message():
    line = "#status " + "x" * 500
    (error,) = parse_commands(line).errors
    assert error.line == line
    assert len(error.message) < 400


def test_many_lines_are_quick():
    text = "#tag a\n" * 20_000 + "body\n" * 20_000
    block = parse_commands(text)
    assert len(block.commands) == 20_000
    assert block.body.startswith("body\n")
