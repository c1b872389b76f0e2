"""The scheduled jobs that keep promises: the SLA sweep (warnings, breaches, escalation),
the ``ticket.idle`` rules and auto-close of resolved tickets. All take the injected clock
and are safe to run twice, or from two instances at once."""

from maild.sla.autoclose import AutoClose, AutoCloseReport
from maild.sla.idle import IdleReport, IdleSweep
from maild.sla.sweep import SlaSweep, SweepReport

__all__ = ["AutoClose", "AutoCloseReport", "IdleReport", "IdleSweep", "SlaSweep", "SweepReport"]
