"""Rules, assignment and escalation applied to stored tickets: where ``rules/`` (pure
decisions) meets the database, inside the caller's transaction."""
