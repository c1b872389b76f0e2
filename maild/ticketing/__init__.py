"""Ticket work outside intake's hot path: the full ticket record, the changes agents, rules
and the scheduler make to it (each an audit event), and the notifications they cause."""
