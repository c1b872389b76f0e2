"""The rules at run time: which rules are in force, and what they do to stored tickets.

Where ``rules/`` (pure decisions) meets the database, inside the caller's transaction:

* :mod:`~maild.automation.policy`: the rules in force, swapped whole when the file changes;
  :mod:`~maild.automation.reload` checks the file and tells the admins of a bad edit;
* :mod:`~maild.automation.apply`: runs the rules on a ticket and applies their actions;
  :mod:`~maild.automation.assignment` and :mod:`~maild.automation.escalation` do the two
  that need the database (workloads, round-robin, tiers); :mod:`~maild.automation.actions`
  is the face agent commands and the SLA sweep use;
* :mod:`~maild.automation.notices`: notifiers that hold notices back or tell nobody;
* :mod:`~maild.automation.steps`: the intake step of customer mail.

May import :mod:`maild.pipeline` (only its steps do); imports neither :mod:`maild.agents`
nor :mod:`maild.runtime`: the agents and the runtime import it.
"""
