"""The chains as data (``maild.chains``): what runs, in which order, and which chain the
driver picks for a mail."""

from __future__ import annotations

from maild.chains import intake_chains
from maild.pipeline.delivery import Outcome
from tests.agents.mails import agent_mail
from tests.mails import customer_mail
from tests.pipeline.conftest import ALICE, Desk


def names(steps: tuple) -> list[str]:
    return [step.name for step in steps]


def test_the_chains_read_top_to_bottom(desk: Desk) -> None:
    assert names(desk.chains.first) == [
        "deduplicate",
        "classify",
        "identify-agent",
        "bounce",
        "thread",
        "follow-merged",
    ]
    assert names(desk.chains.customer) == [
        "history-agents",
        "note-address",
        "survey-rating",
        "follow-up-closed",
        "limit-new-tickets",
        "open-ticket",
        "join-thread",
        "accept-cc",
        "status",
        "store",
        "record-parents",
        "index-text",
        "acknowledge",
        "rules",
        "notify-agents",
        "settle-history",
        "announce",
        "record-events",
    ]
    assert names(desk.chains.agent) == [
        "agent-ticket",
        "commands",
        "withheld-guard",
        "relay",
        "claim-ticket",
        "store-agent-mail",
        "index-text",
        "join-agent",
        "rules-agent-replied",
        "record-events",
    ]


def test_the_driver_runs_the_agent_chain_for_a_trusted_agent_only(desk: Desk) -> None:
    desk.deliver(customer_mail(message_id="<first@customer.example>"))
    to = f"support+{desk.ticket().token}@example.com"
    mail = agent_mail("#priority high\nHello Ada", to=to, auth=None)
    forged = desk.deliver(mail, to=(to,), mail_from=ALICE, source="smtp")
    assert forged.outcome == Outcome.REPLY and desk.ticket().priority == "medium"
    assert desk.messages()[-1].kind == "customer"  # a stranger's mail: no command ran

    trusted = desk.deliver(
        agent_mail("#priority high\nHi", to=to, auth=None), to=(to,), mail_from=ALICE, source="lmtp"
    )
    assert (trusted.outcome, trusted.ticket_number) == (Outcome.REPLY, 1000)
    assert desk.ticket().priority == "high" and desk.messages()[-1].kind == "agent"


def test_without_a_notifier_there_is_no_agent_chain(desk: Desk) -> None:
    chains = intake_chains(desk.config, desk.mailboxes, desk.renderer)
    assert chains.agent == () and "notify-agents" not in names(chains.customer)
