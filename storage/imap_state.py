"""Where each IMAP poller is in its folder: read at every check, written after each commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Connection, insert, select, update
from sqlalchemy.orm import Session

from storage.models import ImapFolderState


@dataclass(frozen=True, slots=True)
class FolderKey:
    """A folder on a server as one login sees it; the account name is only for display."""

    account: str
    server: str  # host:port
    username: str
    folder: str


@dataclass(frozen=True, slots=True)
class FolderPosition:
    uidvalidity: int
    last_uid: int


def _where(key: FolderKey) -> ColumnElement[bool]:
    return (
        (ImapFolderState.server == key.server)
        & (ImapFolderState.username == key.username)
        & (ImapFolderState.folder == key.folder)
    )


def load_position(connection: Connection, key: FolderKey) -> FolderPosition | None:
    row = connection.execute(
        select(ImapFolderState.uidvalidity, ImapFolderState.last_uid).where(_where(key))
    ).first()
    return FolderPosition(int(row.uidvalidity), int(row.last_uid)) if row else None


def save_position(
    connection: Connection, key: FolderKey, position: FolderPosition, now: datetime
) -> None:
    values = {
        "account": key.account,
        "uidvalidity": position.uidvalidity,
        "last_uid": position.last_uid,
        "updated_at": now,
    }
    done = connection.execute(update(ImapFolderState).where(_where(key)).values(**values))
    if done.rowcount == 0:
        connection.execute(
            insert(ImapFolderState).values(
                server=key.server, username=key.username, folder=key.folder, **values
            )
        )


def all_positions(session: Session) -> list[ImapFolderState]:
    return list(session.scalars(select(ImapFolderState).order_by(ImapFolderState.account)))
