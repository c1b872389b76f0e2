"""Carrying out an agent's command lines, each through the ticket editor as an event.

The caller (:class:`maild.agents.steps.run_commands.RunCommands`) runs them inside a
SAVEPOINT and rolls it back when any fails, so a mail's commands take effect together or not
at all, and the agent hears which line failed. The notices they cause ("assigned to you")
go through the notifier the caller gives, which holds them until every command ran.
``#note``/``#send`` decide what happens to the text and change nothing here; ``#canned``
produces text; ``#merge`` runs last (after it the ticket is closed).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from maild.agents.canned import CannedError, CannedResponses
from maild.agents.merge import MergeError, merge_target, merge_tickets
from maild.automation.actions import TicketWork, assign_ticket
from maild.config import Config
from maild.pipeline.context import IntakeContext
from maild.pipeline.mailboxes import MailboxDirectory
from maild.ticketing.editor import TicketEditor
from maild.ticketing.notify import Notifier
from maild.ticketing.record import TicketRecord
from outbound.templating import TemplateRenderer
from parsing.commands import Command, tag_changes
from parsing.commands import merge_target as merge_number
from parsing.ticketref import format_ticket_tag
from rules.config import Agent, AssignSpec
from storage import tickets, watchers, workflow
from storage.models import ParticipantRole, TicketStatus

log = logging.getLogger(__name__)


class CommandFailed(Exception):
    """One command line could not be carried out; the message is meant for the agent."""


@dataclass
class CommandsDone:
    errors: list[str] = field(default_factory=list)
    canned: list[str] = field(default_factory=list)
    status_set: bool = False
    merged_into: TicketRecord | None = None


@dataclass
class CommandRunner:
    """Everything the commands need; one per agent mail."""

    context: IntakeContext
    editor: TicketEditor
    agent: Agent
    config: Config
    mailboxes: MailboxDirectory
    notifier: Notifier
    renderer: TemplateRenderer
    canned: CannedResponses

    @property
    def record(self) -> TicketRecord:
        return self.editor.record

    def run(self, commands: tuple[Command, ...]) -> CommandsDone:
        done = CommandsDone()
        ordered = [c for c in commands if c.name != "merge"] + [
            c for c in commands if c.name == "merge"
        ]
        for command in ordered:
            handler = getattr(self, f"_{command.name}", None)
            try:
                if handler is None:
                    raise CommandFailed(f"#{command.name} is not available by mail")
                handler(command, done)
            except (CommandFailed, CannedError, MergeError) as error:
                done.errors.append(f"{command.line!r}: {error}")
        return done

    # -- the commands ----------------------------------------------------------------

    def _note(self, command: Command, done: CommandsDone) -> None:
        """Decides what happens to the text; nothing to change."""

    _send = _note

    def _assign(self, command: Command, done: CommandsDone) -> None:
        target = command.args[0]
        policy = self.context.policy
        if target == "me":
            spec = AssignSpec(agent=self.agent.address)
        elif target.startswith("team:"):
            team = target.removeprefix("team:")
            if team not in policy.teams_by_name and not any(
                team in agent.teams for agent in policy.agents
            ):
                raise CommandFailed(f"there is no team {team!r}")
            spec = AssignSpec(team=team)
        else:
            agent = policy.agent_for(target)
            if agent is None:
                raise CommandFailed(f"{target} is not an agent")
            spec = AssignSpec(agent=agent.address)
        work = TicketWork(self.context.connection, policy, self.notifier, self.context.now)
        assign_ticket(work, self.editor, spec, actor=self.editor.actor)

    def _unassign(self, command: Command, done: CommandsDone) -> None:
        self.editor.assign(None)

    def _status(self, command: Command, done: CommandsDone) -> None:
        self.editor.set_status(TicketStatus(command.args[0]))
        done.status_set = True

    def _priority(self, command: Command, done: CommandsDone) -> None:
        priorities = self.config.maild.priorities
        if command.args[0] not in priorities:
            raise CommandFailed(f"unknown priority; use one of: {', '.join(priorities)}")
        self.editor.set_priority(command.args[0])

    def _category(self, command: Command, done: CommandsDone) -> None:
        self.editor.set_category(command.args[0])

    def _tag(self, command: Command, done: CommandsDone) -> None:
        added, removed = tag_changes(command)
        in_order = [arg[1:] for arg in command.args]  # as the agent wrote them
        self.editor.change_tags(
            [tag for tag in in_order if tag in added], [tag for tag in in_order if tag in removed]
        )

    def _cc(self, command: Command, done: CommandsDone) -> None:
        action, address = command.args
        address = address.lower()
        connection, ticket_id = self.context.connection, self.record.id
        if action == "add":
            if self.context.policy.agent_for(address) or self.mailboxes.is_ours(address):
                raise CommandFailed(f"{address} is an agent or support address, not a customer")
            if address in tickets.participant_addresses(connection, ticket_id):
                return
            tickets.insert_participants(connection, ticket_id, [(address, "", ParticipantRole.CC)])
            self.editor.record_event("participant.added", address=address)
            return
        if address == self.record.requester.lower():
            raise CommandFailed("the requester cannot be removed")
        if not workflow.remove_cc(connection, ticket_id, address):
            raise CommandFailed(f"{address} is not a Cc of this ticket")
        self.editor.record_event("participant.removed", address=address)

    def _watch(self, command: Command, done: CommandsDone) -> None:
        """The agents named (``me``: the sender) get every notification of the ticket."""
        for address in self._watcher_addresses(command):
            if self.context.policy.agent_for(address) is None:
                raise CommandFailed(f"{address} is not an agent; only agents can watch a ticket")
            if watchers.add_watcher(
                self.context.connection, self.record.id, address, self.context.now
            ):
                self.editor.record_event("watcher.added", address=address)

    def _unwatch(self, command: Command, done: CommandsDone) -> None:
        """The agents named (``me``: the sender) stop watching; one who did not watch is
        nothing to do."""
        for address in self._watcher_addresses(command):
            if watchers.remove_watcher(self.context.connection, self.record.id, address):
                self.editor.record_event("watcher.removed", address=address)
            elif self.context.policy.agent_for(address) is None:
                raise CommandFailed(f"{address} is not an agent watching this ticket")

    def _watcher_addresses(self, command: Command) -> list[str]:
        """The addresses a ``#watch`` line names: an agent's alias as the agent's address."""
        found = []
        for target in command.args:
            address = self.agent.address if target == "me" else target.lower()
            agent = self.context.policy.agent_for(address)
            found.append(agent.address if agent is not None else address)
        return found

    def _merge(self, command: Command, done: CommandsDone) -> None:
        if done.errors:
            return  # nothing is kept anyway; do not look further
        target = merge_target(self.context.connection, self.record, merge_number(command))
        merge_tickets(
            self.context,
            self.editor,
            target,
            config=self.config,
            renderer=self.renderer,
            policy=self.context.policy,
            agent_name=self.agent.name or self.agent.address,
        )
        done.merged_into = target

    def _canned(self, command: Command, done: CommandsDone) -> None:
        done.canned.append(self.canned.render(command.args[0], self.canned_variables()))
        self.editor.record_event("canned.inserted", name=command.args[0])

    def canned_variables(self) -> dict[str, Any]:
        record = self.record
        return {
            "customer_name": record.requester_name or record.requester,
            "ticket_number": record.number,
            "ticket_tag": format_ticket_tag(self.config.maild.ticket_prefix, record.number),
            "agent_name": self.agent.name or self.agent.address,
        }
