"""The IMAP source without a server: UID bookkeeping, configuration, login paths, envelopes."""

from __future__ import annotations

import sys
import threading
import time
from typing import Any

import pytest

from maild.config import ConfigError, ImapAccount, MailboxConfig, config_from_mapping
from maild.imap.connection import ImapConnection
from maild.imap.errors import AuthFailed, TlsFailed
from maild.imap.sync import advance, batches, start_from
from maild.imap.wakeup import Wakeup
from maild.pipeline.envelope import stored_delivery
from parsing.envelope import read_headers
from storage.imap_state import FolderPosition
from tests.mails import customer_mail

# --------------------------------------------------------------------------------------------
# UIDs


def test_first_check_starts_at_the_beginning() -> None:
    assert start_from(None, 7) == start_from(None, 7)
    assert start_from(None, 7).last_uid == 0 and not start_from(None, 7).reset


def test_same_uidvalidity_continues_after_the_last_stored_uid() -> None:
    start = start_from(FolderPosition(7, 41), 7)
    assert (start.last_uid, start.reset) == (41, False)


def test_new_uidvalidity_starts_over() -> None:
    start = start_from(FolderPosition(7, 41), 8)
    assert (start.last_uid, start.reset) == (0, True)


def test_last_uid_stops_before_the_first_message_left_behind() -> None:
    assert advance(10, [11, 12, 15, 16], done=[11, 12, 15, 16]) == 16
    assert advance(10, [11, 12, 15, 16], done=[11, 15, 16]) == 11  # 12 is fetched again
    assert advance(10, [11, 12], done=[12]) == 10
    assert advance(10, [], done=[]) == 10


def test_batches_are_bounded_in_count_and_bytes() -> None:
    sizes = {1: 10, 2: 10, 3: 100, 4: 10, 5: 10}
    assert list(batches([1, 2, 3, 4, 5], sizes, max_messages=2, max_bytes=1000)) == [
        [1, 2],
        [3, 4],
        [5],
    ]
    assert list(batches([1, 2, 3, 4, 5], sizes, max_messages=50, max_bytes=50)) == [
        [1, 2],
        [3],  # bigger than the limit: alone
        [4, 5],
    ]


# --------------------------------------------------------------------------------------------
# Configuration


def imap_config(**account: Any) -> Any:
    entry = {
        "host": "imap.example.com",
        "username": "support@example.com",
        "password_env": "IMAP_PASSWORD",
        "mailbox": "support@example.com",
        "processed_folder": "Processed",
    }
    entry.update(account)
    return config_from_mapping({"mailboxes": [{"address": "support@example.com"}], "imap": [entry]})


def test_account_defaults() -> None:
    [account] = imap_config().imap
    assert account.server_port == 993 and account.tls == "ssl"
    assert account.folder == "INBOX" and account.idle
    assert account.display_name == "support@example.com@imap.example.com"
    assert account.mechanism == "login"
    assert imap_config(tls="starttls").imap[0].server_port == 143
    assert imap_config(password_env="", password_command="token-helper").imap[0].mechanism == (
        "xoauth2"
    )


@pytest.mark.parametrize(
    ("account", "message"),
    [
        ({"mailbox": "sales@example.com"}, "imap[0].mailbox: not one of the [[mailboxes]]"),
        ({"processed_folder": ""}, "set processed_folder"),
        ({"mark_seen": True}, "exclude each other"),
        ({"password_env": ""}, "set one of password_env or password_command"),
        ({"password_command": "helper"}, "set one of password_env or password_command"),
        ({"idle_timeout": 1800}, "imap[0].idle_timeout"),
        ({"tls": "yes"}, "imap[0].tls"),
        ({"processed_folder": "INBOX"}, "processed_folder must differ from folder"),
    ],
)
def test_account_errors_name_the_key(account: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        imap_config(**account)


def test_two_accounts_need_two_names() -> None:
    data = {
        "mailboxes": [{"address": "support@example.com"}],
        "imap": [
            {
                "host": "h",
                "username": "u",
                "password_env": "P",
                "mailbox": "support@example.com",
                "mark_seen": True,
            }
        ]
        * 2,
    }
    with pytest.raises(ConfigError, match=r"imap\[1\]\.name: used by two accounts"):
        config_from_mapping(data)


# --------------------------------------------------------------------------------------------
# Logging in: the seam stands in for the server


class FakeClient:
    """Records what the connection asked of IMAPClient."""

    def __init__(self, host: str, **options: Any) -> None:
        self.host, self.options, self.calls = host, options, []

    def capabilities(self) -> tuple[bytes, ...]:
        return (b"IMAP4REV1", b"IDLE", b"AUTH=XOAUTH2")

    def starttls(self, context: Any) -> None:
        self.calls.append(("starttls", context))

    def login(self, user: str, password: str) -> None:
        self.calls.append(("login", user, password))

    def oauth2_login(self, user: str, token: str) -> None:
        self.calls.append(("oauth2_login", user, token))

    def shutdown(self) -> None:
        self.calls.append(("shutdown",))


def test_xoauth2_logs_in_with_the_token_the_helper_prints() -> None:
    helper = f"{sys.executable} -c \"print('ya29.token')\""
    [account] = imap_config(password_env="", password_command=helper, tls="starttls").imap
    connection = ImapConnection.open(account, client_factory=FakeClient)
    client = connection._client
    assert client.options["ssl"] is False and client.options["port"] == 143
    assert [call[0] for call in client.calls] == ["starttls", "oauth2_login"]
    assert client.calls[1][1:] == ("support@example.com", "ya29.token")
    assert connection.has_idle


def test_ssl_connects_with_a_verifying_context() -> None:
    [account] = imap_config().imap
    connection = ImapConnection.open(
        account, client_factory=FakeClient, secret=lambda account: "pw"
    )
    client = connection._client
    assert client.options["ssl"] is True and client.options["port"] == 993
    assert client.options["ssl_context"].check_hostname
    assert client.calls == [("login", "support@example.com", "pw")]


def test_failing_token_helper_is_an_authentication_error() -> None:
    helper = f"{sys.executable} -c \"import sys; sys.exit('token expired')\""
    [account] = imap_config(password_env="", password_command=helper).imap
    with pytest.raises(AuthFailed, match="password_command exited with status 1: token expired"):
        ImapConnection.open(account, client_factory=FakeClient)


def test_starttls_refused_closes_the_connection() -> None:
    class NoTls(FakeClient):
        def starttls(self, context: Any) -> None:
            raise OSError("handshake reset")

    [account] = imap_config(tls="starttls").imap
    with pytest.raises(TlsFailed, match=r"imap.example.com:143 \(tls=starttls\): STARTTLS"):
        ImapConnection.open(account, client_factory=NoTls, secret=lambda account: "pw")


# --------------------------------------------------------------------------------------------
# Waiting and envelopes


def test_wakeup_ends_a_wait_at_once() -> None:
    wakeup = Wakeup()
    threading.Timer(0.05, wakeup.set).start()
    started = time.monotonic()
    assert wakeup.wait(30) == "woken"
    assert time.monotonic() - started < 5
    assert wakeup.sleep(30) is True
    wakeup.close()


SUPPORT = MailboxConfig(address="support@example.com")


def test_envelope_sender_is_the_return_path_then_the_mbox_sender_then_from() -> None:
    """An mbox separator's MAILER-DAEMON is no null sender (Python's mailbox writes it for
    any message without one): only a Return-Path says the MTA saw ``<>``."""
    with_path = customer_mail(headers={"Return-Path": "<bounces@lists.example>"})
    assert stored_delivery(with_path, SUPPORT, "imap").mail_from == "bounces@lists.example"
    null = customer_mail(headers={"Return-Path": "<>"})
    assert stored_delivery(null, SUPPORT, "imap").mail_from == ""
    plain = customer_mail()
    assert stored_delivery(plain, SUPPORT, "imap").mail_from == "ada@customer.example"
    assert (
        stored_delivery(plain, SUPPORT, "import", envelope_sender="MAILER-DAEMON").mail_from
        == "ada@customer.example"
    )
    assert (
        stored_delivery(plain, SUPPORT, "import", envelope_sender="ada@x.example").mail_from
        == "ada@x.example"
    )


def test_token_addresses_of_the_mailbox_become_recipients() -> None:
    raw = customer_mail(
        to="Support <support+abc123def456ghi789jkl0@example.com>",
        headers={"Cc": "billing+zzz@example.com, support@example.com"},
    )
    delivery = stored_delivery(raw, SUPPORT, "imap", notify=False)
    assert delivery.rcpt_tos == (
        "support@example.com",
        "support+abc123def456ghi789jkl0@example.com",
    )
    assert delivery.notify is False


def test_header_facts_for_ordering() -> None:
    raw = customer_mail(message_id="<m@x>", in_reply_to="<p@x>", references="<r@x> <p@x>")
    facts = read_headers(raw)
    assert facts.message_id == "<m@x>"
    assert facts.parent_ids == ("<p@x>", "<r@x>")
    assert facts.date is not None and facts.date.tzinfo is not None


def test_account_describe_names_host_port_and_tls() -> None:
    account = ImapAccount(
        host="imap.example.com",
        port=1143,
        tls="none",
        username="u",
        password_env="P",
        mailbox="support@example.com",
        mark_seen=True,
    )
    assert account.describe == "imap.example.com:1143 (tls=none)"


def test_example_imap_block_is_valid_and_documents_every_key(tmp_path) -> None:
    from pathlib import Path

    from maild.config import load_config

    text = (Path(__file__).parents[2] / "config.example.toml").read_text()
    start = text.index("# [[imap]]")
    block = [line.removeprefix("# ") for line in text[start:].splitlines()]
    path = tmp_path / "config.toml"
    path.write_text(text[:start] + "\n".join(block) + "\n")
    [account] = load_config(path).imap
    assert account.name == "support-m365" and account.processed_folder == "Processed"
    documented = {line.lstrip("# ").partition(" = ")[0] for line in block if " = " in line}
    assert set(ImapAccount.model_fields) <= documented
