"""Whether mail that claims an agent's address really comes from that agent (invariant 6).

Anyone can write ``From: alice@acme.example``. A mail is the agent's only when the trust
rule accepts it: an ``Authentication-Results`` header from one of ``[trust] authserv_ids``
shows DMARC pass (or aligned DKIM pass) for the From domain, or the mail arrived through a
source the admin listed in ``[trust] sources`` (LMTP from the local MTA, a trusted IMAP
account as ``imap:NAME``). Otherwise the mail is a customer's, and logged as a spoofing
suspect: commands never run from it. The intake step that asks is
:class:`maild.agents.steps.identify_agent.IdentifyAgent`.
"""

from __future__ import annotations

from dataclasses import dataclass

from maild.config import TrustSection
from maild.pipeline.delivery import Delivery
from parsing import ParsedMail
from parsing.authresults import authentication_verdict


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
