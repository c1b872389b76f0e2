"""Agents working from their own mail client: who counts as an agent (trust), what their
mail does (relay to the customer, internal note, commands), and ``#merge``/``#canned``.

Joins ``parsing`` (commands, Authentication-Results), ``outbound`` (composition), the
ticket editor and the rules runtime (:mod:`maild.automation`: ``#assign`` and the
``ticket.agent_replied`` rules). Intake runs it through the agent chain of
:mod:`maild.chains`, whose steps are in :mod:`maild.agents.steps`. May import
:mod:`maild.pipeline` and :mod:`maild.automation`; neither imports it.
"""
