"""What one agent mail does, worked out by the steps of the agent chain.

The agent chain (:mod:`maild.chains`) attaches one :class:`AgentReply` to the job's context
(:meth:`~maild.pipeline.context.IntakeContext.attach`) and each of its steps reads and adds
to it: the ticket, the command lines, whether the commands stand, whether the answer may go
to the customer, what is stored and where.

Only the lines an agent wrote (``ParsedMail.new_text``) may reach a customer: quoted lines
are never an agent's, not even inline ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import NestedTransaction

from maild.agents.commands import CommandsDone
from maild.agents.withhold import Withheld
from maild.automation.notices import HeldNotifier
from maild.config import MailboxConfig
from maild.pipeline.context import IntakeContext
from maild.ticketing.editor import TicketEditor
from maild.ticketing.record import TicketRecord, load_ticket
from parsing.commands import CommandBlock, parse_commands
from rules.config import Agent
from storage.models import MessageKind

ASSIGNING = frozenset({"assign", "unassign"})
"""Commands that say who owns the ticket: after them an answer does not claim it."""


@dataclass
class PendingCommands:
    """Commands that ran in ``savepoint`` and are not kept yet: the events they recorded
    start at ``mark`` in the mail's log; ``notices`` holds what they would tell."""

    savepoint: NestedTransaction
    mark: int
    notices: HeldNotifier


@dataclass
class AgentReply:
    agent: Agent
    record: TicketRecord  # the ticket the mail acts on, as it will be stored
    editor: TicketEditor  # changes ``record``; its events join the mail's log
    box: MailboxConfig  # the ticket's mailbox: its name, its agent_mail policy
    block: CommandBlock  # the command lines and the text after them
    reply_text: str  # the mail's text without quoted history, kept when commands fail
    to_note: bool  # sent to ``[maild] note_address``: kept internal whatever it says
    errors: list[str] = field(default_factory=list)  # for the agent: why nothing was done
    done: CommandsDone = field(default_factory=CommandsDone)
    pending: PendingCommands | None = None
    withheld: Withheld | None = None
    kind: MessageKind = MessageKind.NOTE  # AGENT once the answer was relayed

    @classmethod
    def read(
        cls,
        context: IntakeContext,
        agent: Agent,
        record: TicketRecord,
        box: MailboxConfig,
        *,
        to_note: bool,
    ) -> AgentReply:
        """The agent's mail on ``record``, before anything is carried out."""
        block = parse_commands(context.parsed.new_text)
        return cls(
            agent=agent,
            record=record,
            editor=_editor(context, record, f"agent:{agent.address}"),
            box=box,
            block=block,
            reply_text=context.parsed.reply_text,
            to_note=to_note,
            errors=[error.message for error in block.errors],
        )

    @property
    def actor(self) -> str:
        return self.editor.actor

    @property
    def relays(self) -> bool:
        """Whether the answer is meant for the customer: ``#note`` and the note address
        always keep it internal; otherwise the mailbox's policy decides, and ``#send``
        relays under ``note``."""
        if self.block.is_note or self.to_note:
            return False
        return self.box.agent_mail == "relay" or self.block.wants_send

    @property
    def answer(self) -> str:
        """What the mail says to the customer: canned texts, then the body."""
        return "\n\n".join([*self.done.canned, self.block.body.strip("\n")]).strip("\n")

    @property
    def text(self) -> str:
        """What is stored: the answer; a withheld answer as written; on failed commands
        the whole text, command lines included, so the agent's note shows what failed."""
        if self.withheld is not None:
            return self.withheld.text
        if self.errors:
            return self.reply_text
        return self.answer

    @property
    def answers_customer(self) -> bool:
        """Whether the answer goes on to the relay: the commands stand, the guard let it
        pass, it was not merged away, and there is text meant for the customer."""
        return (
            not self.errors
            and self.withheld is None
            and self.done.merged_into is None
            and self.relays
            and bool(self.answer.strip())
        )

    @property
    def stored_on(self) -> TicketRecord:
        """The ticket the mail is stored on: after ``#merge``, the one merged into."""
        return self.done.merged_into or self.record

    @property
    def claims(self) -> bool:
        """An answer that reached the customer claims an unassigned ticket for its agent,
        unless the mail's own commands said who owns it."""
        return (
            self.kind == MessageKind.AGENT
            and self.record.assignee is None
            and not any(command.name in ASSIGNING for command in self.block.commands)
        )

    def keep_commands(self) -> None:
        """The commands stand: write the ticket, send the notices they held (they show the
        ticket after all of them), release the savepoint."""
        pending, self.pending = self.pending, None
        assert pending is not None
        self.editor.save()
        pending.notices.release()
        pending.savepoint.commit()

    def undo_commands(self, context: IntakeContext) -> None:
        """The commands do not stand: roll them back with their events and notices, and
        go on with the ticket as it was."""
        pending, self.pending = self.pending, None
        assert pending is not None
        pending.savepoint.rollback()
        pending.notices.drop()
        context.events.discard_from(pending.mark)
        self.record = load_ticket(context.connection, self.record.id)
        self.editor = _editor(context, self.record, self.actor)
        self.done = CommandsDone(errors=self.done.errors)


def _editor(context: IntakeContext, record: TicketRecord, actor: str) -> TicketEditor:
    """An editor of ``record`` whose events join the mail's, in order."""
    return TicketEditor(context.connection, record, context.now, actor, events=context.events)
