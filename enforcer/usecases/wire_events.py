"""Event wiring: give each subscription in scope the event subscription for new AI accounts (core/wiring.py).

Two entry points: the sweep's step (`wire_sweep`, one call from usecases/sweep/run.py) and a new-subscription
event (`wire_new_subscription`, from usecases/handle_event.py), which wires within its own invocation. Both
produce wiring outcomes (wired, would_wire, already_wired, wiring_failed) that are recorded like any other.

Cost: Resource Graph lists the `Microsoft.Resources.Subscriptions` topics of 1,000 subscriptions per query; a
subscription with a topic then costs one GET (our event subscription), and only a subscription that needs a
write is listed with ARM first ("confirm before any write": the index can lag).
"""

from __future__ import annotations

import collections
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final

from enforcer.core.errors import EnforcementError, ResourceGraphError
from enforcer.core.models import ErrorKind, Mode, Outcome, OutcomeKind, Trigger, utc_now_iso
from enforcer.core.wiring import (
    RECHECK_WIRED_HOURS,
    SystemTopic,
    WiringAction,
    WiringMode,
    decide,
    recently_verified,
    resources_topic,
)
from enforcer.usecases.ports import EventWiring
from enforcer.usecases.services import Services

logger = logging.getLogger(__name__)

# Call kinds, named as the emulator counts them (so benchmarks compare like with like).
LIST_TOPICS: Final = "eventgrid.systemtopics.list"
GET_SUBSCRIPTION: Final = "eventgrid.eventsubscriptions.get"
PUT_SUBSCRIPTION: Final = "eventgrid.eventsubscriptions.put"
PUT_TOPIC: Final = "eventgrid.systemtopics.put"
RESOURCE_GROUP: Final = "resourcegroups.get_or_put"
# Azure's answer when a topic for the source appeared between our list and our create (another writer).
ONE_TOPIC_PER_SOURCE: Final = "only one system topic is allowed per source"
_NOT_WIRED_ERRORS: Final = frozenset({ErrorKind.SUBSCRIPTION_NOT_FOUND, ErrorKind.SUBSCRIPTION_DISABLED})


@dataclass
class WiringRun:
    outcomes: list[Outcome] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    graph_requests: int = 0


def eligible(outcome: Outcome) -> bool:
    """Wire only subscriptions the plan decision considered in scope: never an excluded (or exempt) one."""
    if (
        outcome.outcome in (OutcomeKind.EXCLUDED, OutcomeKind.IGNORED, OutcomeKind.REJECTED)
        or outcome.outcome.is_wiring
    ):
        return False
    return outcome.error_kind not in _NOT_WIRED_ERRORS


def _writes(services: Services, dry_run: bool) -> bool:
    settings = services.settings
    return settings.wiring.mode is WiringMode.ON and settings.mode is Mode.ENFORCE and not dry_run


def _skip_reason(services: Services) -> str | None:
    """Why wiring does not run at all (None: it runs). `on` without its settings says so instead of failing."""
    config = services.settings.wiring
    if config.mode is WiringMode.OFF:
        return "off"
    if services.wiring is None:
        return "event wiring skipped: no Event Grid gateway configured"
    # `on` without its settings (a laptop, or before the post-deploy step stored the key) skips, also in a dry
    # run, so that the same command reports the same thing; `report` needs none of them.
    if config.mode is WiringMode.ON:
        missing = config.missing_for_writes(bool(services.settings.event_delivery_key))
        if missing:
            return f"event wiring skipped: {', '.join(missing)} not set (ENFORCER_EVENT_WIRING=on needs them)"
    return None


def wire_one(
    gateway: EventWiring,
    services: Services,
    outcome: Outcome,
    trigger: Trigger,
    *,
    writes: bool,
    graph_topics: dict[str, SystemTopic] | None,
) -> Outcome:
    """Decide and (when `writes`) act on one subscription; every error becomes a wiring_failed outcome."""
    config = services.settings.wiring
    sub = outcome.subscription_id
    calls: collections.Counter[str] = collections.Counter()
    started_at, started = utc_now_iso(), time.perf_counter()
    result = Outcome(
        subscription_id=sub,
        outcome=OutcomeKind.ALREADY_WIRED,
        trigger=trigger,
        mode=services.settings.mode,
        subscription_name=outcome.subscription_name,
        new_subscription=outcome.new_subscription,
        started_at=started_at,
    )
    try:
        confirmed = graph_topics is None
        if graph_topics is None:
            calls[LIST_TOPICS] += 1
            topic = resources_topic(sub, gateway.list_topics(sub))
        else:
            topic = graph_topics.get(sub)
        existing = None
        if topic is not None:
            calls[GET_SUBSCRIPTION] += 1
            existing = gateway.get_event_subscription(topic, config.event_subscription_name)
        decision = decide(topic, existing, config)
        if decision.action is not WiringAction.NONE and not confirmed:
            # Resource Graph can lag: confirm the topic with ARM before deciding on a write.
            calls[LIST_TOPICS] += 1
            confirmed_topic = resources_topic(sub, gateway.list_topics(sub))
            if confirmed_topic is None or topic is None or confirmed_topic.id.lower() != topic.id.lower():
                topic, existing = confirmed_topic, None
                if topic is not None:
                    calls[GET_SUBSCRIPTION] += 1
                    existing = gateway.get_event_subscription(topic, config.event_subscription_name)
                decision = decide(topic, existing, config)
        result.reason = decision.reason
        if decision.action is WiringAction.NONE:
            result.outcome = OutcomeKind.ALREADY_WIRED
        elif not writes:
            result.outcome = OutcomeKind.WOULD_WIRE
        else:
            if topic is None:
                calls[RESOURCE_GROUP] += 1
                gateway.ensure_resource_group(sub, config.resource_group, config.location)
                calls[PUT_TOPIC] += 1
                try:
                    topic = gateway.create_topic(sub, config.resource_group, config.topic_name)
                except EnforcementError as error:
                    if ONE_TOPIC_PER_SOURCE not in error.message.lower():
                        raise
                    # Someone created the source's topic meanwhile: use theirs.
                    calls[LIST_TOPICS] += 1
                    topic = resources_topic(sub, gateway.list_topics(sub))
                    if topic is None:
                        raise
            calls[PUT_SUBSCRIPTION] += 1
            gateway.put_event_subscription(topic, config)
            result.outcome = OutcomeKind.WIRED
    except EnforcementError as error:
        result.outcome = OutcomeKind.WIRING_FAILED
        result.error = error.message
        result.error_kind = error.kind
        logger.warning("event wiring failed for subscription %s (%s): %s", sub, error.kind.value, error.message)
    result.duration_ms = (time.perf_counter() - started) * 1000
    result.arm_calls = dict(calls)
    return result


def wire_sweep(
    services: Services,
    outcomes: Sequence[Outcome],
    trigger: Trigger,
    *,
    dry_run: bool = False,
    deadline: float | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> WiringRun:
    """The sweep's wiring step over the subscriptions its plan outcomes name; returns the wiring outcomes."""
    run = WiringRun()
    writes = _writes(services, dry_run)
    skip = _skip_reason(services)
    if skip == "off":
        return run
    if skip is not None:
        logger.info("%s", skip)
        run.notes.append(skip)
        return run
    gateway = services.wiring
    assert gateway is not None  # _skip_reason checked
    todo = list({o.subscription_id: o for o in outcomes if eligible(o)}.values())
    fresh = _verified_recently(services)
    if fresh:
        kept = [o for o in todo if o.subscription_id not in fresh]
        if len(kept) < len(todo):
            run.notes.append(
                f"event wiring: {len(todo) - len(kept)} subscription(s) wired and verified within "
                f"{RECHECK_WIRED_HOURS:g} h, not read again"
            )
        todo = kept
    if not todo:
        return run
    graph_topics: dict[str, SystemTopic] | None = None
    if services.settings.use_resource_graph:
        try:
            graph_topics, run.graph_requests = gateway.resources_topics([o.subscription_id for o in todo])
        except ResourceGraphError as error:
            run.graph_requests = error.requests
            run.notes.append(f"event wiring: Resource Graph unavailable ({error}); listed topics with ARM instead")

    def one(outcome: Outcome) -> Outcome | None:
        if deadline is not None and clock() >= deadline:
            return None
        return wire_one(gateway, services, outcome, trigger, writes=writes, graph_topics=graph_topics)

    workers = max(1, min(services.settings.sweep_concurrency, len(todo)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="wiring") as pool:
        results = list(pool.map(one, todo))
    run.outcomes = [r for r in results if r is not None]
    skipped = len(results) - len(run.outcomes)
    if skipped:
        run.notes.append(f"event wiring: time budget spent, {skipped} subscription(s) left to the next sweep")
    return run


def _verified_recently(services: Services) -> set[str]:
    """From the audit store's wiring index: subscriptions recorded as wired within RECHECK_WIRED_HOURS."""
    if services.audit is None:
        return set()
    try:
        records = services.audit.latest_wiring()
    except Exception as error:  # an optimisation only: without it every subscription is read
        logger.warning("event wiring index unreadable (%s): every subscription is checked", type(error).__name__)
        return set()
    now = datetime.now(UTC)
    return recently_verified(((r.subscription_id, r.outcome, r.started_at) for r in records), now)


def wire_new_subscription(services: Services, outcome: Outcome, trigger: Trigger) -> Outcome | None:
    """A new-subscription event wires at once, in its own invocation (Resource Graph would not know it yet)."""
    if not eligible(outcome):
        return None
    writes = _writes(services, dry_run=False)
    skip = _skip_reason(services)
    if skip is not None:
        if skip != "off":
            logger.info("%s", skip)
        return None
    assert services.wiring is not None
    return wire_one(services.wiring, services, outcome, trigger, writes=writes, graph_topics=None)
