"""Where a message of ours goes in its reader's thread (:class:`Threading` values).

* The customer's thread: our mail answers their last message (or, for a reminder, the newest
  of the thread) and names the whole thread in References, so their client files it under
  their own mail; Outlook gets one conversation per ticket and requester.
* An agent's thread: one per ticket and agent. The first notice has a fixed Message-ID
  derived from the ticket's token and the agent's address; every later one answers it.
* An answer to one mail (an acknowledgement, an error reply): In-Reply-To that mail.

Imports ``storage`` and ``outbound`` only.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection

from outbound.compose import agent_thread_root_id
from outbound.ticketmail import KINDS, Audience, MailTicket, Threading
from storage import threads

CUSTOMER_KINDS = tuple(name for name, kind in KINDS.items() if kind.audience is Audience.CUSTOMER)


def customer_seed(ticket: MailTicket) -> str:
    return f"{ticket.token}:{ticket.requester}"


def customer_threading(
    connection: Connection, ticket: MailTicket, *, answer_latest: bool = False
) -> Threading:
    """Our next message in ``ticket``'s customer thread."""
    thread = threads.customer_thread(connection, ticket.id, CUSTOMER_KINDS)
    return Threading(
        in_reply_to=thread.latest if answer_latest else thread.in_reply_to,
        references=thread.references,
        thread_seed=customer_seed(ticket),
    )


def agent_threading(
    connection: Connection, ticket: MailTicket, address: str, *, parent_index: str | None = None
) -> Threading:
    """Our next notice about ``ticket`` to ``address``, in that reader's own thread."""
    domain = ticket.mailbox.partition("@")[2]
    root = agent_thread_root_id(ticket.token, address, domain)
    first = not threads.was_queued(connection, root)
    return Threading(
        in_reply_to=None if first else root,
        references=() if first else (root,),
        thread_seed=f"{ticket.token}:{address.lower()}",
        parent_index=parent_index,
        first=first,
        message_id=root if first else None,
    )


def answer_threading(
    message_id: str | None,
    references: Sequence[str],
    *,
    seed: str | None = None,
    parent_index: str | None = None,
) -> Threading:
    """A message that answers one mail (``message_id``, with its own ``references``)."""
    chain = [*references, *([message_id] if message_id else [])]
    return Threading(
        in_reply_to=message_id,
        references=tuple(dict.fromkeys(chain)),
        thread_seed=seed,
        parent_index=parent_index,
        first=True,
    )
