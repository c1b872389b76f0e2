"""The intake pipeline: where parsing, storage and outbound meet.

Sources (SMTP/LMTP receiver, ``maild ingest``, the IMAP pollers, ``maild import``) hand a
:class:`Delivery` to the :class:`IntakeService`. It parses once, outside any transaction,
and queues one job per addressed mailbox on the :class:`GroupCommitWriter`, which runs the
:class:`~maild.pipeline.driver.Pipeline` for a whole group of jobs in one transaction, each
job in its own SAVEPOINT. A source acknowledges only when its job's future resolves, i.e.
after commit.

The steps are data. The chains (every mail's first steps, then the customer chain or the
agent chain) are tuples built in one place, :mod:`maild.chains`, and handed to the driver.
The steps that need nothing but this package are in :mod:`maild.pipeline.steps`, one module
each; the agents' steps in :mod:`maild.agents.steps`, the rules' step in
:mod:`maild.automation.steps`. This package imports neither ``maild.agents`` nor
``maild.automation`` (nor :mod:`maild.chains`): they import it.
"""

from maild.pipeline.delivery import Delivery, DeliveryResult, Outcome
from maild.pipeline.errors import TemporaryFailure
from maild.pipeline.intake import IntakeService

__all__ = ["Delivery", "DeliveryResult", "IntakeService", "Outcome", "TemporaryFailure"]
