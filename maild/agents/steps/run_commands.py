"""An agent's command lines, carried out together in a SAVEPOINT, or not at all."""

from __future__ import annotations

from maild.agents.canned import CannedResponses
from maild.agents.commands import CommandRunner
from maild.agents.notices import queue_agent_error
from maild.agents.reply import AgentReply, PendingCommands
from maild.automation.notices import HeldNotifier
from maild.config import Config
from maild.pipeline.context import IntakeContext
from maild.pipeline.mailboxes import MailboxDirectory
from maild.ticketing.notify import Notifier
from outbound.templating import TemplateRenderer


class RunCommands:
    """Runs the mail's command lines (:mod:`maild.agents.commands`) in a SAVEPOINT. When a
    line cannot be read or carried out, all of them are rolled back, the mail is kept as a
    note and the agent hears which line failed. When they all ran, the SAVEPOINT stays open
    for the next step, the guard of the answer, which keeps or drops them: an answer that
    must not be sent leaves the ticket as it was. The notices they cause wait for that too."""

    name = "commands"

    def __init__(
        self,
        config: Config,
        mailboxes: MailboxDirectory,
        renderer: TemplateRenderer,
        notifier: Notifier,
    ) -> None:
        self._config = config
        self._mailboxes = mailboxes
        self._renderer = renderer
        self._notifier = notifier
        self._canned = CannedResponses(config.outbound.canned_dir)

    def __call__(self, context: IntakeContext) -> None:
        reply = context.part(AgentReply)
        if not reply.errors:
            notices = HeldNotifier(self._notifier)
            reply.pending = PendingCommands(
                context.connection.begin_nested(), len(context.events), notices
            )
            reply.done = CommandRunner(
                context=context,
                editor=reply.editor,
                agent=reply.agent,
                config=self._config,
                mailboxes=self._mailboxes,
                notifier=notices,
                renderer=self._renderer,
                canned=self._canned,
            ).run(reply.block.commands)
            if not reply.done.errors:
                return
            reply.undo_commands(context)
            reply.errors = reply.done.errors
        reply.editor.record_event("agent.commands_failed", errors=reply.errors)
        queue_agent_error(
            context,
            config=self._config,
            renderer=self._renderer,
            mailbox=reply.box,
            errors=reply.errors,
            record=reply.record,
        )
