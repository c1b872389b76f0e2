"""Outbound mail: templates, composition, transports and the outbox worker.

``templating`` renders the built-in Jinja templates (or an admin's overrides) with customer
text as variables only; ``compose`` turns an ``OutgoingMail`` into RFC 5322 bytes with
threading headers, RFC 3834 ``Auto-Submitted`` and tokened Message-IDs; ``transport`` sends
bytes to an SMTP relay or a folder; ``outbox`` queues them transactionally and sends them
later with retries, backoff and a dead letter.

May import ``storage`` only (never ``maild``, ``parsing`` or ``rules``); ``templating``,
``compose`` and ``transport`` import nothing of the project. No clock is read in logic: the
worker is given ``now``.
"""
