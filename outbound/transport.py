"""Where composed mail goes: an SMTP relay, or a folder of ``.eml`` files.

A transport delivers one message or raises: ``TransientSendError`` (try again later, e.g. a
``4xx`` reply or an unreachable relay) or ``PermanentSendError`` (a ``5xx`` reply: retrying
cannot help). ``RelayUnavailableError`` is the transient case where the relay itself could
not be used (connection, TLS, login), which tells the outbox worker to stop for now rather
than try every queued message against a relay that is down.

Imports nothing of the project.
"""

from __future__ import annotations

import contextlib
import logging
import os
import smtplib
import ssl
import threading
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

__all__ = [
    "DirectoryTransport",
    "PermanentSendError",
    "RelayUnavailableError",
    "SendError",
    "SmtpRelayTransport",
    "TransientSendError",
    "Transport",
    "transport_from_url",
]

log = logging.getLogger(__name__)


class SendError(Exception):
    """A message was not delivered to the relay (or folder)."""


class TransientSendError(SendError):
    """Try again later.

    ``recipients``, when given, are the only recipients still to try: the others accepted
    the message (a partial delivery), so a retry must not send it to them again.
    """

    def __init__(self, message: str, *, recipients: tuple[str, ...] | None = None) -> None:
        super().__init__(message)
        self.recipients = recipients


class RelayUnavailableError(TransientSendError):
    """The relay could not be reached or used at all (connection, TLS, login)."""


class PermanentSendError(SendError):
    """The relay refused the message for good (``5xx``)."""


class Transport(Protocol):
    def send(self, mail_from: str, recipients: Sequence[str], raw: bytes) -> None:
        """Deliver ``raw`` to ``recipients``; return only once it is accepted."""
        ...


def _system_now() -> datetime:
    return datetime.now(UTC)


class DirectoryTransport:
    """Writes each message to ``<path>/<UTC timestamp>-<uuid>.eml``: for setups without a relay.

    The file holds exactly the message bytes, so it opens in any mail client; the envelope
    (sender, recipients) stays in the outbox row and in the log line. The name never comes
    from the message. The file appears atomically (written to a hidden temporary file,
    fsynced, renamed), so a reader never sees half a message. ``now`` names the file only.
    """

    def __init__(self, path: Path, *, now: Callable[[], datetime] = _system_now) -> None:
        self.path = path
        self._now = now

    def remove_partial_files(self) -> int:
        """Delete the temporary files of messages a killed process was writing (never
        renamed, so never delivered: the outbox sends those again); how many. Call it at
        start, when no send of this folder's daemon is in progress."""
        removed = 0
        for partial in self.path.glob(".*.eml.tmp"):
            with contextlib.suppress(FileNotFoundError):
                partial.unlink()
                removed += 1
        if removed:
            log.warning("removed %d half-written message(s) from %s", removed, self.path)
        return removed

    def send(self, mail_from: str, recipients: Sequence[str], raw: bytes) -> None:
        stamp = self._now().astimezone(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        name = f"{stamp}-{uuid.uuid4().hex}.eml"
        final = self.path / name
        temporary = self.path / f".{name}.tmp"
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
            fd = os.open(temporary, flags, 0o640)
            try:
                with os.fdopen(fd, "wb") as file:
                    file.write(raw)
                    file.flush()
                    os.fsync(file.fileno())
                os.replace(temporary, final)
            except BaseException:
                with contextlib.suppress(OSError):
                    temporary.unlink()
                raise
            _fsync_directory(self.path)
        except OSError as exc:
            raise TransientSendError(f"cannot write to {self.path}: {exc}") from exc
        log.info("wrote %s (envelope from <%s> to %s)", final, mail_from, ", ".join(recipients))


def _fsync_directory(path: Path) -> None:
    """Make the rename itself durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class SmtpRelayTransport:
    """Sends through an SMTP relay with ``smtplib``, reusing one connection between sends.

    Failures to connect, say EHLO, start TLS or log in raise ``RelayUnavailableError`` (even
    for a ``5xx`` there: it is the relay's configuration, not the message, that is wrong).
    Replies to MAIL, RCPT and DATA decide by their code: ``4xx`` transient, ``5xx`` permanent.
    Safe to share between threads (one send at a time). ``close()`` ends the connection.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        starttls: bool = False,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 30.0,
        local_hostname: str | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self._starttls = starttls
        self._username = username
        self._password = password
        self._timeout = timeout
        self._local_hostname = local_hostname
        self._smtp: smtplib.SMTP | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:  # never shows the password
        return f"SmtpRelayTransport({self.host!r}, {self.port}, starttls={self._starttls})"

    @property
    def _where(self) -> str:
        return f"relay {self.host}:{self.port}"

    def send(self, mail_from: str, recipients: Sequence[str], raw: bytes) -> None:
        if not recipients:
            raise PermanentSendError("no recipients")
        with self._lock:
            smtp = self._connection()
            try:
                refused = smtp.sendmail(mail_from, list(recipients), raw)
            except smtplib.SMTPRecipientsRefused as exc:
                raise _refusal(self._where, exc.recipients, everyone=True) from exc
            except smtplib.SMTPResponseException as exc:
                if exc.smtp_code == 421:  # the relay is closing the connection
                    self._drop()
                raise _by_code(exc.smtp_code, f"{self._where}: {_reply(exc)}") from exc
            except UnicodeEncodeError as exc:
                raise PermanentSendError(
                    f"{self._where}: a non-ASCII envelope address needs SMTPUTF8: {exc}"
                ) from exc
            except (smtplib.SMTPException, OSError) as exc:
                self._drop()
                raise RelayUnavailableError(f"{self._where}: {exc!r}") from exc
        if refused:
            raise_or_log = _refusal(self._where, refused, everyone=False)
            if isinstance(raise_or_log, TransientSendError):
                raise raise_or_log
            log.warning("%s; delivered to the other recipients", raise_or_log)

    def close(self) -> None:
        with self._lock:
            if self._smtp is not None:
                with contextlib.suppress(smtplib.SMTPException, OSError):
                    self._smtp.quit()
                self._drop()

    def _connection(self) -> smtplib.SMTP:
        if self._smtp is not None:
            try:
                code, _ = self._smtp.noop()
            except (smtplib.SMTPException, OSError):
                code = 0
            if code == 250:
                return self._smtp
            self._drop()
        smtp = smtplib.SMTP(timeout=self._timeout, local_hostname=self._local_hostname)
        try:
            smtp.connect(self.host, self.port)
            smtp.ehlo_or_helo_if_needed()
            if self._starttls:
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if self._username:
                smtp.login(self._username, self._password or "")
        except smtplib.SMTPAuthenticationError as exc:
            smtp.close()
            raise RelayUnavailableError(
                f"{self._where} refused login as {self._username!r}: {exc.smtp_code}"
            ) from exc
        except (smtplib.SMTPException, OSError) as exc:
            smtp.close()
            raise RelayUnavailableError(f"cannot use {self._where}: {exc!r}") from exc
        self._smtp = smtp
        return smtp

    def _drop(self) -> None:
        if self._smtp is not None:
            with contextlib.suppress(OSError):
                self._smtp.close()
        self._smtp = None


def _reply(exc: smtplib.SMTPResponseException) -> str:
    text = exc.smtp_error
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{exc.smtp_code} {text}"


def _by_code(code: int, message: str) -> SendError:
    if 500 <= code < 600:
        return PermanentSendError(message)
    return TransientSendError(message)


def _refusal(
    where: str, refused: dict[str, tuple[int, bytes]], *, everyone: bool
) -> TransientSendError | PermanentSendError:
    """The error for refused recipients: transient for those a retry may still reach."""
    detail = "; ".join(
        f"<{rcpt}>: {code} {text.decode('utf-8', 'replace') if isinstance(text, bytes) else text}"
        for rcpt, (code, text) in refused.items()
    )
    retry = tuple(rcpt for rcpt, (code, _) in refused.items() if not 500 <= code < 600)
    message = f"{where} refused {'all recipients' if everyone else 'some recipients'}: {detail}"
    if retry:
        return TransientSendError(message, recipients=retry)
    return PermanentSendError(message)


def transport_from_url(
    relay: str | None,
    directory: Path,
    starttls: bool = False,
    username: str | None = None,
    password: str | None = None,
    *,
    now: Callable[[], datetime] = _system_now,
) -> Transport:
    """``smtp://host[:port]`` (port 25 by default) → relay; empty or ``None`` → folder."""
    if relay is None or not relay.strip():
        return DirectoryTransport(directory, now=now)
    shown = relay
    parts = urlsplit(relay.strip())
    if "@" in parts.netloc:  # never echo credentials written into the URL
        shown = relay.replace(parts.netloc, "***@" + parts.netloc.rpartition("@")[2])
    try:
        port = parts.port
    except ValueError:
        port = -1
    if (
        parts.scheme != "smtp"
        or not parts.hostname
        or "@" in parts.netloc
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or port in (-1, 0)
    ):
        raise ValueError(f"outbound relay {shown!r}: expected 'smtp://host:port'")
    return SmtpRelayTransport(
        parts.hostname,
        port or 25,
        starttls=starttls,
        username=username,
        password=password,
    )
