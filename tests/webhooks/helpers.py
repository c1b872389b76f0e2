"""Reading back the webhook deliveries maild queued, and waiting for them to go out."""

from __future__ import annotations

from sqlalchemy import select

from outbound.webhooks import WebhookReport
from storage.models import WebhookDelivery
from tests.support import DaemonThread


def settle(daemon: DaemonThread) -> WebhookReport:
    """Send every delivery due now and return when each has been answered (or failed)."""
    return daemon.service.flush_webhooks()


def deliveries(daemon: DaemonThread) -> list[WebhookDelivery]:
    with daemon.runtime.sessions() as session:
        return list(session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))
