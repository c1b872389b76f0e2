"""Who sent the mail: an agent, when the trust rule accepts it as theirs (invariant 6)."""

from __future__ import annotations

import logging

from maild.agents.trust import judge
from maild.config import TrustSection
from maild.pipeline.context import IntakeContext

log = logging.getLogger(__name__)


class IdentifyAgent:
    """Sets ``context.agent`` when the sender is an agent (address or alias) and the trust
    rule accepts the mail (:mod:`maild.agents.trust`). Automated mail is never an agent's
    (an out-of-office reply from an agent's address must not run commands or reach a
    customer). A mail that claims an agent's address and fails the rule is a spoofing
    suspect: nobody's, handled as a stranger's mail."""

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
