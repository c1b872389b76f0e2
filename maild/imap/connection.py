"""One IMAP session for one ``[[imap]]`` account: a thin shell around IMAPClient.

It opens the connection the account asks for (TLS from the start, STARTTLS, or none), logs
in (LOGIN, or XOAUTH2 with a token from ``password_command``) and offers the few commands
the poller needs, by UID. Library and socket errors are wrapped at this boundary into
:mod:`maild.imap.errors` with the server named, so the poller and ``maild imap test`` can say
what went wrong without knowing imapclient. ``client_factory`` is the seam for tests that
need faults a real server will not produce.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shlex
import socket
import ssl
import subprocess
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from imapclient import SEEN, IMAPClient
from imapclient.exceptions import CapabilityError, IMAPClientAbortError, IMAPClientError
from imapclient.imapclient import _parse_untagged_response

from maild.config import ImapAccount
from maild.imap.errors import (
    AuthFailed,
    ConnectFailed,
    ConnectionLost,
    FolderMissing,
    ImapError,
    TlsFailed,
)
from maild.imap.wakeup import Wakeup

log = logging.getLogger(__name__)

ClientFactory = Callable[..., Any]
SecretSource = Callable[[ImapAccount], str]

# UIDs per command where a list can be long (a first check of a full folder): servers limit
# the length of a command line.
UIDS_PER_COMMAND = 500

_BYTES_REPR = re.compile(r"b(['\"])(.*)\1", re.DOTALL)
# Untagged responses during IDLE that mean the folder changed.
_CHANGES = frozenset({b"EXISTS", b"RECENT", b"EXPUNGE", b"FETCH"})


@dataclass(frozen=True, slots=True)
class FolderStatus:
    name: str
    uidvalidity: int
    messages: int
    uidnext: int | None


def account_secret(account: ImapAccount) -> str:
    """The password (``password_env``) or the OAuth2 access token (``password_command``)."""
    where = account.describe
    if account.password_env:
        value = os.environ.get(account.password_env)
        if not value:
            raise AuthFailed(
                f"{where}: no password: environment variable {account.password_env} "
                "(password_env) is not set"
            )
        return value
    try:
        done = subprocess.run(
            shlex.split(account.password_command),
            capture_output=True,
            text=True,
            timeout=account.timeout,
            check=False,
        )
    except (OSError, ValueError, subprocess.TimeoutExpired) as error:
        raise AuthFailed(f"{where}: password_command could not run: {error}") from error
    if done.returncode != 0:
        detail = (done.stderr.strip().splitlines() or [""])[0]
        raise AuthFailed(
            f"{where}: password_command exited with status {done.returncode}"
            + (f": {detail}" if detail else "")
        )
    secret = (done.stdout.strip().splitlines() or [""])[0].strip()
    if not secret:
        raise AuthFailed(f"{where}: password_command printed nothing")
    return secret


def _describe(error: BaseException) -> str:
    """The error's own words: imapclient passes the server's text as bytes."""
    first = error.args[0] if len(error.args) == 1 else None
    if isinstance(first, bytes):
        text = first.decode("utf-8", "replace").strip()
    else:
        text = str(error).strip()
        quoted = _BYTES_REPR.fullmatch(text)  # LoginError(str(b"...")) in imapclient
        if quoted:
            text = quoted.group(2)
    if isinstance(error, OSError) and error.strerror and not text:
        text = error.strerror
    return text or type(error).__name__


class ImapConnection:
    """A logged-in session. Every method raises only :class:`ImapError` subclasses."""

    def __init__(self, account: ImapAccount, client: Any) -> None:
        self.account = account
        self._client = client
        self._where = account.describe
        self._capabilities = {bytes(c).upper() for c in client.capabilities()}

    # ----------------------------------------------------------------------------------------
    # Opening

    @classmethod
    def open(
        cls,
        account: ImapAccount,
        *,
        client_factory: ClientFactory = IMAPClient,
        secret: SecretSource = account_secret,
    ) -> ImapConnection:
        """Connect, secure and log in; the errors name the step that failed."""
        where = account.describe
        context = ssl.create_default_context() if account.tls != "none" else None
        try:
            client = client_factory(
                account.host,
                port=account.server_port,
                ssl=account.tls == "ssl",
                ssl_context=context,
                timeout=account.timeout,
            )
        except socket.gaierror as error:
            raise ConnectFailed(f"{where}: cannot resolve {account.host}: {error}") from error
        except (ssl.SSLError, ssl.CertificateError) as error:
            raise TlsFailed(f"{where}: TLS handshake failed: {_describe(error)}") from error
        except TimeoutError as error:
            raise ConnectFailed(
                f"{where}: no answer within {account.timeout:g} s (is tls right for this port?)"
            ) from error
        except OSError as error:
            raise ConnectFailed(f"{where}: cannot connect: {_describe(error)}") from error
        except IMAPClientError as error:
            raise ConnectFailed(f"{where}: unexpected greeting: {_describe(error)}") from error
        try:
            if account.tls == "starttls":
                cls._starttls(account, client, context)
            cls._login(account, client, secret)
            return cls(account, client)
        except BaseException:
            _close_quietly(client)
            raise

    @staticmethod
    def _starttls(account: ImapAccount, client: Any, context: ssl.SSLContext | None) -> None:
        where = account.describe
        try:
            client.starttls(context)
        except CapabilityError as error:
            raise TlsFailed(f"{where}: the server does not offer STARTTLS") from error
        except (ssl.SSLError, ssl.CertificateError) as error:
            raise TlsFailed(f"{where}: TLS handshake failed: {_describe(error)}") from error
        except (IMAPClientError, OSError) as error:
            raise TlsFailed(f"{where}: STARTTLS failed: {_describe(error)}") from error

    @staticmethod
    def _login(account: ImapAccount, client: Any, secret: SecretSource) -> None:
        where = account.describe
        mechanism = account.mechanism
        value = secret(account)
        try:
            if mechanism == "xoauth2":
                client.oauth2_login(account.username, value)
            else:
                client.login(account.username, value)
        except (IMAPClientAbortError, OSError) as error:
            raise ConnectionLost(
                f"{where}: connection lost during login: {_describe(error)}"
            ) from error
        except IMAPClientError as error:
            raise AuthFailed(
                f"{where}: authentication failed for {account.username} "
                f"({mechanism.upper()}): {_describe(error)}"
            ) from error

    # ----------------------------------------------------------------------------------------
    # Commands

    @contextlib.contextmanager
    def _guard(self, action: str) -> Iterator[None]:
        try:
            yield
        except ImapError:
            raise
        except (IMAPClientAbortError, OSError) as error:
            raise ConnectionLost(
                f"{self._where}: connection lost while {action}: {_describe(error)}"
            ) from error
        except IMAPClientError as error:
            raise ImapError(f"{self._where}: {action} failed: {_describe(error)}") from error

    @property
    def has_idle(self) -> bool:
        return b"IDLE" in self._capabilities

    def select(self, folder: str) -> FolderStatus:
        return self._folder_status(
            folder, lambda: self._client.select_folder(folder), "selecting", "open", b"EXISTS"
        )

    def status(self, folder: str) -> FolderStatus:
        """Counts of a folder without selecting it (for ``maild imap test``)."""
        return self._folder_status(
            folder,
            lambda: self._client.folder_status(folder, ["MESSAGES", "UIDVALIDITY", "UIDNEXT"]),
            "reading",
            "read",
            b"MESSAGES",
        )

    def _folder_status(
        self,
        folder: str,
        ask: Callable[[], dict[bytes, Any]],
        doing: str,
        verb: str,
        count_key: bytes,
    ) -> FolderStatus:
        """SELECT and STATUS answer alike; a missing folder is told from a lost link."""
        try:
            response = ask()
        except (IMAPClientAbortError, OSError) as error:
            raise ConnectionLost(
                f"{self._where}: connection lost while {doing} {folder!r}: {_describe(error)}"
            ) from error
        except IMAPClientError as error:
            raise FolderMissing(
                f"{self._where}: cannot {verb} folder {folder!r}: {_describe(error)}"
            ) from error
        uidnext = response.get(b"UIDNEXT")
        return FolderStatus(
            folder,
            int(response[b"UIDVALIDITY"]),
            int(response.get(count_key, 0)),
            int(uidnext) if uidnext is not None else None,
        )

    def folder_exists(self, folder: str) -> bool:
        with self._guard(f"looking for folder {folder!r}"):
            return bool(self._client.folder_exists(folder))

    def ensure_folder(self, folder: str) -> bool:
        """Create ``folder`` when it is missing; True when it had to be created."""
        if self.folder_exists(folder):
            return False
        try:
            with self._guard(f"creating folder {folder!r}"):
                self._client.create_folder(folder)
        except ConnectionLost:
            raise
        except ImapError as error:
            if self.folder_exists(folder):  # created meanwhile by someone else
                return False
            raise FolderMissing(str(error)) from error
        with contextlib.suppress(ImapError), self._guard(f"subscribing to {folder!r}"):
            self._client.subscribe_folder(folder)  # so that mail clients show it
        return True

    def uids_from(self, first: int) -> list[int]:
        """UIDs of the selected folder from ``first`` on, ascending."""
        with self._guard("searching for new mail"):
            found = self._client.search(["UID", f"{max(first, 1)}:*"])
        # "n:*" also matches the highest UID when every UID is below n (RFC 3501).
        return sorted(uid for uid in found if uid >= first)

    def uids_through(self, last: int) -> list[int]:
        """UIDs of the selected folder up to and including ``last``, ascending."""
        if last < 1:
            return []
        with self._guard("searching for stored mail"):
            return sorted(self._client.search(["UID", f"1:{last}"]))

    def sizes(self, uids: Iterable[int]) -> dict[int, int]:
        sizes: dict[int, int] = {}
        for chunk in _chunks(list(uids)):
            with self._guard("reading message sizes"):
                response = self._client.fetch(chunk, ["RFC822.SIZE"])
            sizes.update((uid, int(data.get(b"RFC822.SIZE", 0))) for uid, data in response.items())
        return sizes

    def fetch(self, uids: Iterable[int]) -> dict[int, bytes]:
        """The raw bytes of each message; a UID that vanished meanwhile is simply absent.
        ``BODY.PEEK`` leaves ``\\Seen`` alone: only a stored message is flagged."""
        wanted = list(uids)
        if not wanted:
            return {}
        with self._guard(f"fetching {len(wanted)} message(s)"):
            response = self._client.fetch(wanted, ["BODY.PEEK[]"])
        return {
            uid: bytes(data[b"BODY[]"])
            for uid, data in response.items()
            if data.get(b"BODY[]") is not None
        }

    def move(self, uids: Iterable[int], folder: str) -> None:
        """MOVE where the server has it, otherwise COPY, flag ``\\Deleted`` and expunge."""
        for chunk in _chunks(list(uids)):
            with self._guard(f"moving {len(chunk)} message(s) to {folder!r}"):
                if b"MOVE" in self._capabilities:
                    self._client.move(chunk, folder)
                    continue
                self._client.copy(chunk, folder)
                self._client.delete_messages(chunk)
                if b"UIDPLUS" in self._capabilities:
                    self._client.uid_expunge(chunk)
                else:
                    self._client.expunge()

    def mark_seen(self, uids: Iterable[int]) -> None:
        for chunk in _chunks(list(uids)):
            with self._guard(f"flagging {len(chunk)} message(s) \\Seen"):
                self._client.add_flags(chunk, [SEEN])

    def noop(self) -> list[Any]:
        with self._guard("checking the folder (NOOP)"):
            _, responses = self._client.noop()
        _raise_on_bye(self._where, responses)
        return list(responses)

    def wait_for_change(
        self, timeout: float, wakeup: Wakeup
    ) -> Literal["changed", "timeout", "woken"]:
        """IDLE until the folder changes, ``timeout`` passes or ``wakeup`` is set.

        The server's IDLE is always ended with DONE before returning, so the session is
        ready for commands (or raises :class:`ConnectionLost` if it is gone).
        """
        with self._guard("starting IDLE"):
            self._client.idle()
        result: Literal["changed", "timeout", "woken"] = "timeout"
        try:
            result = self._idle_until(timeout, wakeup)
        finally:
            with self._guard("ending IDLE"):
                _, responses = self._client.idle_done()
        _raise_on_bye(self._where, responses)
        if result == "timeout" and any(_is_change(r) for r in responses):
            result = "changed"
        return result

    def _idle_until(self, timeout: float, wakeup: Wakeup) -> Literal["changed", "timeout", "woken"]:
        with self._guard("starting IDLE"):
            early = self._buffered_responses()
        _raise_on_bye(self._where, early)
        if any(_is_change(r) for r in early):
            return "changed"
        sock = self._client.socket()
        deadline = time.monotonic() + timeout
        while True:
            event = wakeup.wait(deadline - time.monotonic(), sock)
            if event == "woken":
                return "woken"
            if event == "timeout":
                return "timeout"
            with self._guard("waiting in IDLE"):
                responses = self._client.idle_check(timeout=0)
            _raise_on_bye(self._where, responses)
            # Readable with nothing parsed: end of file or half a line. Leave IDLE; the DONE
            # that follows tells a live connection from a dead one.
            if not responses or any(_is_change(r) for r in responses):
                return "changed"
            # Only keep-alives ("OK Still here"): go on waiting.

    def _buffered_responses(self) -> list[Any]:
        """Responses already read into imaplib's buffer with IDLE's "+ idling" line.

        A server that reports new mail in the same packet as the continuation leaves that
        EXISTS in the reader's buffer, where waiting on the socket (as ``idle_check``
        does) never sees it: without this, such mail waits for the next IDLE timeout.
        """
        sock = self._client.socket()
        sock.setblocking(False)
        lines: list[Any] = []
        try:
            while True:
                try:
                    line = self._client._imap._get_line()
                except (TimeoutError, OSError):
                    break
                except IMAPClientAbortError as error:
                    if "EOF" in str(error):
                        break
                    raise
                lines.append(_parse_untagged_response(line))
        finally:
            sock.setblocking(True)
            self._client._set_read_timeout()
        return lines

    def logout(self) -> None:
        try:
            self._client.logout()
        except Exception:
            _close_quietly(self._client)


def _chunks(uids: list[int]) -> Iterator[list[int]]:
    for start in range(0, len(uids), UIDS_PER_COMMAND):
        yield uids[start : start + UIDS_PER_COMMAND]


def _is_change(response: Any) -> bool:
    return isinstance(response, tuple) and len(response) >= 2 and response[1] in _CHANGES


def _raise_on_bye(where: str, responses: Iterable[Any]) -> None:
    for response in responses:
        if isinstance(response, tuple) and response and response[0] == b"BYE":
            text = b" ".join(p for p in response[1:] if isinstance(p, bytes)).decode(
                "utf-8", "replace"
            )
            raise ConnectionLost(f"{where}: the server closed the session: {text or 'BYE'}")


def _close_quietly(client: Any) -> None:
    with contextlib.suppress(Exception):
        client.shutdown()


@dataclass(frozen=True, slots=True)
class AccountReport:
    """What ``maild imap test`` found."""

    account: ImapAccount
    folder: FolderStatus
    processed_folder_exists: bool | None  # None: the account flags instead of moving
    idle: bool
    folders: tuple[str, ...]


def check_account(
    account: ImapAccount, *, client_factory: ClientFactory = IMAPClient
) -> AccountReport:
    """Log in, read the folder's counts and the folder list; change nothing."""
    connection = ImapConnection.open(account, client_factory=client_factory)
    try:
        with connection._guard("listing folders"):
            listed = connection._client.list_folders()
        folders = tuple(str(name) for _, _, name in listed)
        try:
            folder = connection.status(account.folder)
        except FolderMissing as error:
            raise FolderMissing(f"{error}; folders there: {', '.join(folders)}") from error
        processed = (
            connection.folder_exists(account.processed_folder) if account.processed_folder else None
        )
        return AccountReport(account, folder, processed, connection.has_idle, folders)
    finally:
        connection.logout()
