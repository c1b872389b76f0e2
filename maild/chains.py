"""The intake chains as data: every step of intake, in the order it runs, in one place.

Like Mailman's ``pipelines/builtin.py``: a reader finds here what happens to a mail, top to
bottom, and a new behaviour is a new step in one of these tuples. The pipeline driver
(:class:`maild.pipeline.driver.Pipeline`) is given the result and runs it; it knows no step
by name.

Why the chains are built here, outside ``maild/pipeline``: the steps live beside the code
they need. ``maild.pipeline.steps`` needs only the pipeline; the rules step
(``maild.automation.steps``) needs the rules runtime, and the agent chain
(``maild.agents.steps``) needs the agents' commands and the rules runtime. The arrows point
one way, each package importing only those to its right::

    maild.chains ─▶ maild.agents ─▶ maild.automation ─▶ maild.pipeline

so nothing the pipeline imports can import a step back. Only :mod:`maild.runtime` (and the
tests) import this module.
"""

from __future__ import annotations

from maild.agents.steps.claim_ticket import ClaimTicket
from maild.agents.steps.find_ticket import FindTicket
from maild.agents.steps.fire_rules import FireAgentReplied
from maild.agents.steps.guard_answer import GuardAnswer
from maild.agents.steps.identify_agent import IdentifyAgent
from maild.agents.steps.join_ticket import JoinAsAgent
from maild.agents.steps.relay import Relay
from maild.agents.steps.run_commands import RunCommands
from maild.agents.steps.store import StoreAgentMail
from maild.automation.rated import rated_rules
from maild.automation.steps.apply_rules import ApplyRules
from maild.config import Config
from maild.csat.reply_step import RatingReply
from maild.kb.holder import KnowledgeBase
from maild.pipeline.acknowledge import Acknowledger
from maild.pipeline.driver import Chains
from maild.pipeline.mailboxes import MailboxDirectory
from maild.pipeline.steps import Step
from maild.pipeline.steps.accept_cc import AcceptCc
from maild.pipeline.steps.acknowledge import Acknowledge
from maild.pipeline.steps.announce import AnnounceMail
from maild.pipeline.steps.bounce import MatchBounce
from maild.pipeline.steps.classify import ClassifyAutomated
from maild.pipeline.steps.deduplicate import Deduplicate
from maild.pipeline.steps.follow_merged import FollowMerged
from maild.pipeline.steps.follow_up_closed import FollowUpClosed
from maild.pipeline.steps.history import HistoryAgents, SettleHistory
from maild.pipeline.steps.index_text import IndexText
from maild.pipeline.steps.join_thread import JoinThread
from maild.pipeline.steps.limit_new_tickets import LimitNewTickets
from maild.pipeline.steps.note_address import RefuseStrangerNotes
from maild.pipeline.steps.notify_agents import NotifyAgents
from maild.pipeline.steps.open_ticket import OpenTicket
from maild.pipeline.steps.record_events import RecordEvents
from maild.pipeline.steps.record_parents import RecordParents
from maild.pipeline.steps.status import UpdateStatus
from maild.pipeline.steps.store import StoreMessage
from maild.pipeline.steps.thread import Thread
from maild.ticketing.notify import Notifier
from outbound.templating import TemplateRenderer


def first_chain(config: Config, mailboxes: MailboxDirectory) -> tuple[Step, ...]:
    """Every mail: is it new, is it automated, who sent it, which ticket it continues."""
    return (
        Deduplicate(),
        ClassifyAutomated(mailboxes),
        IdentifyAgent(config.trust),
        MatchBounce(),
        Thread(),
        FollowMerged(),
    )


def customer_chain(
    config: Config,
    mailboxes: MailboxDirectory,
    renderer: TemplateRenderer,
    notifier: Notifier | None,
    kb: KnowledgeBase | None = None,
) -> tuple[Step, ...]:
    """Mail from anyone but a trusted agent: customers, strangers, automated mail. Without
    a notifier (tests of the storing steps alone) no rules run and nobody is told."""
    telling: tuple[Step, ...] = ()
    if notifier is not None:
        # After the mail's own changes: the rules' changes and notices follow them.
        telling = (ApplyRules(notifier), NotifyAgents(config, notifier))
    return (
        HistoryAgents(),  # imported history only: an old agent's mail is stored as theirs
        RefuseStrangerNotes(config),
        # A rating by reply to our survey: before a closed ticket's follow-up would open.
        RatingReply(rated_rules(notifier) if notifier is not None else None),
        FollowUpClosed(config),
        # Past a sender's hourly share of new tickets: their newest open ticket instead.
        LimitNewTickets(config, renderer),
        OpenTicket(config),
        JoinThread(config, mailboxes),
        AcceptCc(config, mailboxes),
        UpdateStatus(),
        StoreMessage(),
        RecordParents(),
        IndexText(),
        Acknowledge(Acknowledger(config, renderer, kb)),
        *telling,
        SettleHistory(),  # imported history only: its status, first response and SLA
        AnnounceMail(),  # to webhooks: a new ticket or a customer's reply
        RecordEvents(),
    )


def agent_chain(
    config: Config,
    mailboxes: MailboxDirectory,
    renderer: TemplateRenderer,
    notifier: Notifier,
) -> tuple[Step, ...]:
    """Mail from a trusted agent: commands, then the answer to the customer or a note."""
    return (
        FindTicket(config, renderer),
        RunCommands(config, mailboxes, renderer, notifier),
        GuardAnswer(config, renderer),
        Relay(config, mailboxes, renderer),
        ClaimTicket(),
        StoreAgentMail(),
        IndexText(),
        JoinAsAgent(),
        FireAgentReplied(notifier),
        RecordEvents(),
    )


def intake_chains(
    config: Config,
    mailboxes: MailboxDirectory,
    renderer: TemplateRenderer,
    notifier: Notifier | None = None,
    kb: KnowledgeBase | None = None,
) -> Chains:
    """The chains :class:`~maild.pipeline.driver.Pipeline` runs. Without a notifier agents'
    mail takes the customer chain as well (nothing would carry out its commands). ``kb``:
    the knowledge base whose articles the acknowledgement suggests."""
    return Chains(
        first=first_chain(config, mailboxes),
        customer=customer_chain(config, mailboxes, renderer, notifier, kb),
        agent=agent_chain(config, mailboxes, renderer, notifier) if notifier else (),
    )
