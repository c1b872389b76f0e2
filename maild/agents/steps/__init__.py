"""The steps of agents' mail: one module per step, like :mod:`maild.pipeline.steps`.

:class:`~maild.agents.steps.identify_agent.IdentifyAgent` runs for every mail (who sent it);
the others form the agent chain that :mod:`maild.chains` runs for a trusted agent's mail
instead of the customer chain, so no customer step (opening a ticket, joining the thread,
reopening, acknowledging, notifying) ever runs for it. They share the mail's
:class:`~maild.agents.reply.AgentReply`.

This package may import :mod:`maild.pipeline` and :mod:`maild.automation`; neither imports
it.
"""
