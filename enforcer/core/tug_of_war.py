"""The tug-of-war rule (issue 19), pure: when the event path stops restoring one resource.

Another automation (a pipeline, a policy that sets Free) can undo the enforcer's restore as fast as it is made.
After `limit` event-driven restores of the same subscription plan or AI account within the window, the event path
records `conflict` naming the other actor(s) instead of restoring again, and only the first `conflict` of the
window is carded. The sweep keeps enforcing on its schedule, so the fight is bounded and visible. The count is read
from the audit store's records (usecases/drift_events.py), so every instance sees the same count.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from enforcer.core.actors import Actor, actor_text
from enforcer.core.models import OutcomeKind
from enforcer.core.records import AuditRecord


@dataclass(frozen=True)
class TugOfWar:
    stop: bool  # the event path must not restore this resource now
    restores: int  # event-driven restores of it in the window
    others: tuple[str, ...]  # who undid them (escaped text), newest first
    already_reported: bool  # a `conflict` of this resource is already recorded in the window (no second card)
    reason: str


def window_start(now: datetime, minutes: int) -> str:
    return (now.astimezone(UTC) - timedelta(minutes=minutes)).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _same_resource(record: AuditRecord, resource_id: str | None) -> bool:
    if resource_id is None:
        return not record.resource_id
    return (record.resource_id or "").lower() == resource_id.lower()


def decide(
    records: Sequence[AuditRecord], resource_id: str | None, limit: int, minutes: int, current: Actor | None
) -> TugOfWar:
    """`records`: the subscription's event-made records in the window (any order). `resource_id`: None for the
    plan, else the AI account."""
    mine = [r for r in records if _same_resource(r, resource_id)]
    restores = [r for r in mine if r.outcome == OutcomeKind.REMEDIATED.value]
    already = any(r.outcome == OutcomeKind.CONFLICT.value for r in mine)
    actors: list[str] = []
    for actor in [current, *(r.actor_value() for r in sorted(restores, key=lambda r: r.RowKey))]:
        if actor is not None and actor.known:
            text = actor_text(actor)
            if text not in actors:
                actors.append(text)
    what = f"AI account {resource_id}" if resource_id else "the AI plan"
    stop = len(restores) >= limit
    reason = (
        f"{what} was restored {len(restores)} times by events in the last {minutes} min and changed again by "
        f"{', '.join(actors) or 'an unknown actor'}: the event path leaves it to the sweep for the rest of the window. "
        "Fix: find the pipeline or policy that writes it (the actor above) and stop it, or exempt the resource"
        if stop
        else ""
    )
    return TugOfWar(stop, len(restores), tuple(actors), already, reason)
