"""The scheduled jobs that keep promises: the SLA sweep (warnings, breaches, escalation)
and auto-close of resolved tickets. Both take the injected clock and are safe to run twice,
or from two instances at once."""

from maild.sla.autoclose import AutoClose, AutoCloseReport
from maild.sla.sweep import SlaSweep, SweepReport

__all__ = ["AutoClose", "AutoCloseReport", "SlaSweep", "SweepReport"]
