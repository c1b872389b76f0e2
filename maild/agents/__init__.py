"""Agents working from their own mail client: who counts as an agent (trust), what their
mail does (relay to the customer, internal note, commands), and ``#merge``/``#canned``.

Joins ``parsing`` (commands, Authentication-Results), ``outbound`` (composition) and the
ticket editor; the intake pipeline runs it through the steps in :mod:`maild.agents.steps`.
"""
