"""The intake pipeline: where parsing, storage and outbound meet.

Sources (SMTP/LMTP receiver, ``maild ingest``, the IMAP pollers, ``maild import``) hand a
:class:`Delivery` to the :class:`IntakeService`. It parses once, outside any transaction,
and queues one job per addressed mailbox on the :class:`GroupCommitWriter`, which runs the
steps of :class:`Pipeline` for a whole group of jobs in one transaction, each job in its own
SAVEPOINT. A source acknowledges only when its job's future resolves, i.e. after commit.
"""

from maild.pipeline.delivery import Delivery, DeliveryResult, Outcome
from maild.pipeline.errors import TemporaryFailure
from maild.pipeline.intake import IntakeService

__all__ = ["Delivery", "DeliveryResult", "IntakeService", "Outcome", "TemporaryFailure"]
