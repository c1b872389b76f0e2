"""Errors of the IMAP source. Each message names where maild tried to go: host, port and TLS
mode, and for a login the user and the mechanism, never the secret."""

from __future__ import annotations


class ImapError(Exception):
    """An IMAP account cannot be used now; the poller backs off and tries again."""


class ConnectFailed(ImapError):
    """No connection: unknown host, refused, unreachable, timed out."""


class TlsFailed(ImapError):
    """The TLS handshake failed, or the server does not offer STARTTLS."""


class AuthFailed(ImapError):
    """The server refused the login, or there is no password or token to log in with."""


class FolderMissing(ImapError):
    """The folder to read does not exist, or the processed folder cannot be created."""


class ConnectionLost(ImapError):
    """The server went away during a session (closed, BYE, network error)."""
