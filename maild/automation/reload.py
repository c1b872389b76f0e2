"""Reloads the rules file while the daemon runs, and tells the admins of a bad edit.

The scheduler calls :func:`check_rules` every ``[scheduler] reload_interval``. A file that
loads replaces the rules for the next message and sweep (:class:`maild.policy.PolicyHolder`);
one that does not is logged there, and here mailed to ``[maild] admins`` once per edit,
through the outbox in a transaction of its own, while the previous rules keep running.
"""

from __future__ import annotations

import logging
from email.utils import make_msgid
from typing import TYPE_CHECKING

from outbound.compose import AddressError, OutgoingMail, compose
from outbound.outbox import enqueue

if TYPE_CHECKING:
    from maild.runtime import Runtime

log = logging.getLogger(__name__)


def check_rules(runtime: Runtime) -> None:
    """Reload the rules when their file changed; report a bad edit to the admins."""
    outcome = runtime.policy.check()
    if outcome.error is None:
        return
    report_rules_error(runtime, outcome.error)


def report_rules_error(runtime: Runtime, error: str) -> None:
    config = runtime.config
    admins = config.maild.admins
    if not admins:
        log.warning("no [maild] admins to tell that the rules file does not load")
        return
    if not config.mailboxes:
        log.warning("no mailbox to send the rules error from")
        return
    sender = config.mailboxes[0]
    now = runtime.clock.now()
    rendered = runtime.renderer.render(
        "rules_error",
        {
            "rules_file": str(config.maild.rules_file),
            "error": error,
            "checked_at": now.strftime("%Y-%m-%d %H:%M UTC"),
        },
    )
    domain = sender.address.partition("@")[2]
    with runtime.write_sessions.begin() as session:
        for admin in admins:
            message_id = make_msgid("maild-admin", domain=domain)
            mail = OutgoingMail(
                from_name=f"maild ({sender.name})",
                from_address=sender.address,
                to=(("", admin),),
                subject="[maild] the rules file does not load; the previous rules stay in force",
                text=rendered.text,
                html=rendered.html,
                message_id=message_id,
                auto_submitted="auto-generated",
                date=now,
            )
            try:
                raw = compose(mail)
            except AddressError as problem:
                log.warning("no rules error mail to %s: %s", admin, problem)
                continue
            enqueue(
                session,
                ticket_id=None,
                kind="admin",
                message_id=message_id,
                mail_from=sender.address,
                recipients=[admin],
                raw=raw,
                now=now,
            )
    log.info("rules error reported to %s", ", ".join(admins))
