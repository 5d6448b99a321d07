"""Cards kept from earlier failures (the outbox) are re-sent by every run, oldest first, before its digest."""

from __future__ import annotations

import logging

from enforcer.core.outbox import pending_note
from enforcer.usecases.services import Services

logger = logging.getLogger(__name__)

# Events are frequent: each process looks at the outbox at most this often after an event.
EVENT_FLUSH_INTERVAL_SECONDS = 300.0


def resend_pending(services: Services, notes: list[str]) -> None:
    """Re-send what waits; a note for the digest when cards are still pending after that."""
    if services.notifier is None:
        return
    try:
        pending = services.notifier.flush_outbox()
    except Exception as error:  # a notification problem never fails a run
        logger.warning("Teams outbox not flushed: %s", type(error).__name__)
        return
    if pending:
        notes.append(pending_note(pending))


def resend_pending_cheaply(services: Services) -> None:
    """After an event: at most one look at the outbox per process every few minutes."""
    if services.notifier is None:
        return
    try:
        services.notifier.flush_outbox(min_interval=EVENT_FLUSH_INTERVAL_SECONDS)
    except Exception as error:
        logger.warning("Teams outbox not flushed: %s", type(error).__name__)
