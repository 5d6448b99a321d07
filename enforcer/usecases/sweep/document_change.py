"""The first sweep after the desired-state document changed: one card, the new marker, a note for the digest."""

from __future__ import annotations

import logging

from enforcer.core.desired_state_changes import MARKER, change_card, change_note, document_change, snapshot
from enforcer.usecases.doctor import CardPoster
from enforcer.usecases.services import Services
from enforcer.usecases.sweep.model import Plan

logger = logging.getLogger(__name__)


def announce_document_change(services: Services, plan: Plan) -> None:
    """Compare the document with the marker of the last one enforced; on a change, post one card (rules added,
    removed, altered and how many subscriptions each affects), record the new marker and note it for the digest.
    Two sweeps racing at the change may each send the card (at least once, like every card)."""
    document, audit = services.desired_state, services.audit
    if document is None or audit is None:
        return
    try:
        previous = audit.marker(MARKER)
    except Exception as error:  # the marker is a notice, not a precondition: the sweep enforces anyway
        logger.warning("desired-state marker not read (%s); the change card waits for the next sweep", error)
        return
    change = document_change(previous, document)
    if change is None:
        return
    infos = [i for i in plan.infos.values() if i is not None]
    notifier: object = services.notifier
    if isinstance(notifier, CardPoster):
        notifier.post(
            change_card(change, infos), f"desired state {change.new_hash}", kind="desired_state", important=True
        )
    try:
        audit.set_marker(MARKER, snapshot(document))
    except Exception as error:  # the next sweep announces it again: at least once, like every card
        logger.warning("desired-state marker not written (%s)", error)
    plan.notes.append(change_note(change))
    logger.warning("%s", change_note(change))
