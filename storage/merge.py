"""The rows ``#merge`` moves from one ticket to another, in the caller's transaction."""

from __future__ import annotations

from sqlalchemy import Connection, bindparam, delete, select, update

from storage.models import Event, Message, OutboxMessage, Participant, ParticipantRole
from storage.watchers import move_watchers

_messages, _events, _outbox = Message.__table__, Event.__table__, OutboxMessage.__table__
_participants = Participant.__table__

_MOVE_MESSAGES = (
    update(_messages)
    .where(_messages.c.ticket_id == bindparam("source"))
    .values(ticket_id=bindparam("target"))
)
_MOVE_EVENTS = (
    update(_events)
    .where(_events.c.ticket_id == bindparam("source"))
    .values(ticket_id=bindparam("target"))
)
_MOVE_OUTBOX = (
    update(_outbox)
    .where(_outbox.c.ticket_id == bindparam("source"))
    .values(ticket_id=bindparam("target"))
)
_PEOPLE = (
    select(_participants.c.id, _participants.c.address, _participants.c.role)
    .where(_participants.c.ticket_id == bindparam("ticket_id"))
    .order_by(_participants.c.id)
)
_DROP_PERSON = delete(_participants).where(_participants.c.id == bindparam("person"))
_MOVE_PERSON = (
    update(_participants)
    .where(_participants.c.id == bindparam("person"))
    .values(
        ticket_id=bindparam("target"), role=bindparam("new_role", type_=_participants.c.role.type)
    )
)


def move_ticket_contents(connection: Connection, source_id: int, target_id: int) -> dict[str, int]:
    """Move the messages, events, outgoing mail, participants and watchers of ticket
    ``source_id`` to ``target_id``: ``{"messages": moved, "participants": joined}``.

    A participant (or watcher) already on the target is not added twice (the source's row
    goes); the source's requester joins the target as a Cc, everyone else keeps their role.
    """
    ids = {"source": source_id, "target": target_id}
    messages = connection.execute(_MOVE_MESSAGES, ids).rowcount
    connection.execute(_MOVE_EVENTS, ids)
    connection.execute(_MOVE_OUTBOX, ids)
    on_target = {row.address for row in connection.execute(_PEOPLE, {"ticket_id": target_id})}
    joined = 0
    for row in connection.execute(_PEOPLE, {"ticket_id": source_id}).all():
        if row.address in on_target:
            connection.execute(_DROP_PERSON, {"person": row.id})
            continue
        role = ParticipantRole.CC if row.role == ParticipantRole.REQUESTER else row.role
        connection.execute(_MOVE_PERSON, {"person": row.id, "target": target_id, "new_role": role})
        on_target.add(row.address)
        joined += 1
    move_watchers(connection, source_id, target_id)
    return {"messages": messages, "participants": joined}
