"""Admit an event for one subscription at most once: this process's recent pairs, then a claim in the store.

The claim is an atomic insert keyed by (event id, subscription) (enforcer/core/claims.py), made before any ARM
call. It is also the handler's check that the audit store answers before its first write: when the store does
not answer, the claim raises and nothing is changed.
"""

from __future__ import annotations

from dataclasses import dataclass

from enforcer.core.claims import Claim
from enforcer.core.errors import ClaimRefusedError
from enforcer.core.events import EnforceRequest
from enforcer.usecases.services import Services

IN_PROGRESS = "in progress on another delivery"


@dataclass(frozen=True)
class Admission:
    """`previous` is None when this delivery acts; else what the earlier delivery ended with (or is doing)."""

    previous: str | None
    claim: Claim | None = None
    refused: str | None = None  # why the store would not take this event's claim: the event is rejected


def admit(services: Services, request: EnforceRequest) -> Admission:
    event_id, sub = request.event_id, request.subscription_id
    previous = services.recent_events.seen(event_id, sub)
    if previous is not None:
        return Admission(previous)
    claim: Claim | None = None
    if services.claims is not None:
        try:
            claim = services.claims.claim(event_id, sub)
        except ClaimRefusedError as error:
            return Admission(None, refused=f"event cannot be claimed: {error}")
        if not claim.acquired:
            return Admission(claim.outcome or IN_PROGRESS)
    if services.audit is not None:
        # Events handled before claims existed (or whose claim row was removed) are found by their record.
        record = services.audit.find_by_trigger(sub, event_id)
        if record is not None:
            if claim is not None and services.claims is not None:
                services.claims.complete(claim, record.outcome)
            return Admission(record.outcome)
    return Admission(None, claim)


def settle(services: Services, admission: Admission, request: EnforceRequest, outcome: str) -> None:
    """The work is recorded: later duplicates, here or on any instance, are answered with `outcome`."""
    services.recent_events.add(request.event_id, request.subscription_id, outcome)
    if admission.claim is not None and services.claims is not None:
        services.claims.complete(admission.claim, outcome)


def release(services: Services, admission: Admission) -> None:
    """The work failed before it was recorded: give the claim back so the trigger's retry acts."""
    if admission.claim is not None and services.claims is not None:
        services.claims.release(admission.claim)
