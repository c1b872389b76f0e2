"""The IMAP source: pollers that empty a folder into the intake pipeline.

For teams whose support address is a hosted mailbox (Microsoft 365, Google Workspace, any
IMAP server) rather than an MTA that can reach maild. One poller thread per ``[[imap]]``
account runs inside ``maild serve``: it fetches what is new by UID (never by ``\\Seen``),
hands it to the intake service, and moves or flags a message only after the transaction
that stores it has committed (invariant 1).

Modules: :mod:`~maild.imap.connection` is the thin I/O shell around imapclient,
:mod:`~maild.imap.sync` the pure bookkeeping of UIDs, :mod:`~maild.imap.poller` the loop
(reconnects, IDLE or polling). May import ``maild.config``, ``maild.pipeline``, ``storage``.
"""

from maild.imap.connection import FolderStatus, ImapConnection, check_account
from maild.imap.errors import (
    AuthFailed,
    ConnectFailed,
    ConnectionLost,
    FolderMissing,
    ImapError,
    TlsFailed,
)
from maild.imap.poller import ImapPoller, PollerStatus

__all__ = [
    "AuthFailed",
    "ConnectFailed",
    "ConnectionLost",
    "FolderMissing",
    "FolderStatus",
    "ImapConnection",
    "ImapError",
    "ImapPoller",
    "PollerStatus",
    "TlsFailed",
    "check_account",
]
