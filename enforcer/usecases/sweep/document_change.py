"""The first sweep after the desired-state document changed: one card, the new marker, a note for the digest."""

from __future__ import annotations

import logging

from enforcer.core.claims import Claim
from enforcer.core.desired_state_changes import (
    MARKER,
    DocumentChange,
    announcement_key,
    change_card,
    change_note,
    document_change,
    snapshot,
)
from enforcer.core.models import utc_now_iso
from enforcer.usecases.doctor import CardPoster
from enforcer.usecases.services import Services
from enforcer.usecases.sweep.model import Plan

logger = logging.getLogger(__name__)

# The claim's second key part (claims are keyed by event and subscription): a change belongs to no subscription.
_CLAIM_SCOPE = "desired-state"


def announce_document_change(services: Services, plan: Plan) -> None:
    """Compare the document with the marker of the last one enforced; on a change, post one card (rules added,
    removed, altered and how many subscriptions each affects), record the new marker and note it for the digest.

    Two sweeps that meet the same change (the timer's and a `sweep` from the CLI) claim it in the store, as
    duplicate events do: one posts the card and records the marker, the other only notes the change. When the
    store cannot take the claim, the card is posted anyway (at least once, like every card)."""
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
    plan.notes.append(change_note(change))
    logger.warning("%s", change_note(change))
    claim = _claim(services, announcement_key(previous, change))
    if claim is not None and not claim.acquired:
        logger.info("desired-state change %s is announced by another sweep", change.new_hash)
        return
    _announce(services, plan, change)
    try:
        audit.set_marker(MARKER, snapshot(document, utc_now_iso()))
    except Exception as error:  # the next sweep announces it again: at least once, like every card
        logger.warning("desired-state marker not written (%s)", error)
        if claim is not None and services.claims is not None:
            services.claims.release(claim)
        return
    if claim is not None and services.claims is not None:
        services.claims.complete(claim, "announced")


def _claim(services: Services, key: str) -> Claim | None:
    """This sweep's claim on announcing the change; None when there are no claims or the store would not take it."""
    if services.claims is None:
        return None
    try:
        return services.claims.claim(key, _CLAIM_SCOPE)
    except Exception as error:
        logger.warning("desired-state change not claimed (%s); the card is posted anyway", error)
        return None


def _announce(services: Services, plan: Plan, change: DocumentChange) -> None:
    infos = [i for i in plan.infos.values() if i is not None]
    notifier: object = services.notifier
    if isinstance(notifier, CardPoster):
        notifier.post(
            change_card(change, infos), f"desired state {change.new_hash}", kind="desired_state", important=True
        )
