"""The sweep's pure rules: the order subscriptions are handled in, batching, and what Resource Graph settles."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TypeVar

from enforcer.core.decision import decide
from enforcer.core.desired_state import (
    Document,
    ResolveConflict,
    ScopeMode,
    deciding_rule,
    matching_rules,
    resolve,
    restrict_to,
)
from enforcer.core.models import MAX_SUBSCRIPTIONS_PER_QUERY, DesiredState, PricingState, SubscriptionInfo
from enforcer.core.scope import exclusion_by_id, exclusion_by_metadata
from enforcer.core.settings import Settings

T = TypeVar("T")


def rotate(ids: Sequence[str], resume_after: str | None) -> list[str]:
    """Sorted ids starting after `resume_after` and wrapping around (it need not be in `ids` any more)."""
    ordered = sorted(ids)
    if resume_after is None:
        return ordered
    start = next((i for i, sub in enumerate(ordered) if sub > resume_after), 0)
    return ordered[start:] + ordered[:start]


def chunked(ids: Sequence[T], size: int = MAX_SUBSCRIPTIONS_PER_QUERY) -> Iterator[list[T]]:
    """Consecutive slices of at most `size` items (Resource Graph queries, Table transactions)."""
    for start in range(0, len(ids), size):
        yield list(ids[start : start + size])


def compliant_per_graph(
    ids: Sequence[str], pricings: Mapping[str, PricingState | None], desired: DesiredState
) -> dict[str, PricingState]:
    """The subscriptions whose Resource Graph row needs no change; every other id is a candidate for a GET."""
    compliant: dict[str, PricingState] = {}
    for sub in ids:
        state = pricings.get(sub)
        if state is not None and decide(state, desired) is None:
            compliant[sub] = state
    return compliant


def compliant_per_graph_scoped(
    ids: Sequence[str],
    pricings: Mapping[str, PricingState | None],
    infos: Mapping[str, SubscriptionInfo | None],
    document: Document,
    keys: set[str],
) -> dict[str, tuple[PricingState, str]]:
    """The sweep's "compliant per Resource Graph" under a document: each subscription against its own desired
    state. (state, rule) per compliant id; an exempt, conflicting or fact-less subscription goes to the enforcer.

    A resolution depends only on the rules that matched and the rank each matched at, and a fleet shares a few such
    sets, so each set is resolved once (10,000 subscriptions, a handful of resolutions)."""
    compliant: dict[str, tuple[PricingState, str]] = {}
    targets: dict[tuple[tuple[str, int], ...], tuple[DesiredState, str] | None] = {}
    for sub in ids:
        state, info = pricings.get(sub), infos.get(sub)
        if state is None or info is None:
            continue
        matched = tuple((m.rule.name, m.rank) for m in matching_rules(info, document))
        if matched not in targets:
            targets[matched] = _target(info, document, keys)
        target = targets[matched]
        if target is not None and decide(state, target[0]) is None:
            compliant[sub] = (state, target[1])
    return compliant


def _target(info: SubscriptionInfo, document: Document, keys: set[str]) -> tuple[DesiredState, str] | None:
    """(desired state, deciding rule) for a subscription the sweep may settle from its row; None when exempt or
    conflicting (the enforcer records those)."""
    try:
        resolution = resolve(info, document)
    except ResolveConflict:
        return None
    if resolution.mode is ScopeMode.EXEMPT:
        return None
    return restrict_to(resolution.desired_state(document), keys), deciding_rule(resolution, document)


def resume_point(rest: Sequence[str], started: int, previous: str | None) -> str | None:
    """The last id of the resumable order that this run handled, or the previous point when it handled none."""
    return rest[started - 1] if started > 0 else previous


def exclusion(sub: str, info: SubscriptionInfo | None, settings: Settings) -> str | None:
    """Why a subscription is out of scope, from settings and (when known) its metadata; None when in scope."""
    reason = exclusion_by_id(sub, settings)
    if reason is None and info is not None:
        reason = exclusion_by_metadata(info.tags, info.state, settings)
    return reason
