"""Whether mail that claims an agent's address really comes from that agent (invariant 6).

Anyone can write ``From: alice@acme.example``. A mail is the agent's only when the trust
rule accepts it: an ``Authentication-Results`` header from one of ``[trust] authserv_ids``
shows DMARC pass (or aligned DKIM pass) for the From domain, or the mail arrived through a
source the admin listed in ``[trust] sources`` (LMTP from the local MTA, a trusted IMAP
account as ``imap:NAME``). Otherwise the mail is a customer's, and logged as a spoofing
suspect: commands never run from it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from maild.config import TrustSection
from maild.pipeline.context import IntakeContext
from maild.pipeline.delivery import Delivery
from parsing import ParsedMail
from parsing.authresults import authentication_verdict

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TrustVerdict:
    trusted: bool
    reason: str


def source_name(delivery: Delivery) -> str:
    """The delivery's source as ``[trust] sources`` names it (``imap:NAME`` for IMAP)."""
    if delivery.source == "imap" and delivery.account:
        return f"imap:{delivery.account}"
    return delivery.source


def judge(trust: TrustSection, parsed: ParsedMail, delivery: Delivery) -> TrustVerdict:
    """Whether the mail comes from the address in its From header."""
    source = source_name(delivery)
    if source in trust.sources:
        return TrustVerdict(True, f"trusted source {source}")
    if parsed.from_ is None:
        return TrustVerdict(False, "the mail has no From address")
    domain = parsed.from_.key.rpartition("@")[2]
    verdict = authentication_verdict(
        parsed.header_values("Authentication-Results"), domain, trust.authserv_ids
    )
    return TrustVerdict(verdict.trusted, verdict.reason)


class IdentifyAgent:
    """Sets ``context.agent`` when the sender is an agent (address or alias) and the trust
    rule accepts the mail. Automated mail is never an agent's (an out-of-office reply from
    an agent's address must not run commands or reach a customer)."""

    name = "identify-agent"

    def __init__(self, trust: TrustSection) -> None:
        self._trust = trust

    def __call__(self, context: IntakeContext) -> None:
        if context.automated is not None or not context.policy.agents:
            return
        agent = context.policy.agent_for(context.sender)
        if agent is None:
            return
        verdict = judge(self._trust, context.parsed, context.job.delivery)
        if verdict.trusted:
            context.agent = agent
            return
        log.warning(
            "mail claiming agent address %s is not trusted (%s): handled as a customer's",
            context.sender,
            verdict.reason,
        )
        context.suspect = True
        context.record("agent.spoofing_suspect", address=context.sender, reason=verdict.reason)
