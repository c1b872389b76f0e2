"""The steps of intake that need nothing but the pipeline: one module per step.

Each step is one small class with a ``name`` and a ``__call__(context)`` (Mailman's
handlers). A new behaviour is a new step, not a new branch in a long function. The steps
run in the order of the chains that :mod:`maild.chains` builds, each job in its own
SAVEPOINT; a final outcome (a duplicate, a message for quarantine, a job a step finished
itself) is an exception the driver (:mod:`maild.pipeline.driver`) catches in one place.

Steps that need the agents' or the rules' code live beside that code
(:mod:`maild.agents.steps`, :mod:`maild.automation.steps`): this package imports neither.
"""

from __future__ import annotations

from typing import Protocol

from maild.pipeline.context import IntakeContext


class Step(Protocol):
    name: str

    def __call__(self, context: IntakeContext) -> None: ...
