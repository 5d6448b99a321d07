"""Bring one subscription to the desired Defender for AI state: the imperative shell around `decide`."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable

from enforcer.core.decision import decide
from enforcer.core.errors import EnforcementError, extension_failure_message
from enforcer.core.models import ErrorKind, Mode, Outcome, OutcomeKind, SubscriptionInfo, Trigger, utc_now_iso
from enforcer.core.scope import exclusion_by_id, exclusion_by_metadata
from enforcer.core.settings import Settings
from enforcer.core.text import is_guid
from enforcer.usecases.ports import PricingGateway

logger = logging.getLogger(__name__)

# Subscription metadata (name, state, tags) is cached this long: bursts of events on one subscription
# cost one read, and the sweep's inventory refreshes it. An exempt tag added later is honoured within this time.
DIRECTORY_TTL_SECONDS = 300.0


class SubscriptionDirectory:
    """A small TTL cache of subscription metadata in front of ARM; thread-safe."""

    def __init__(
        self,
        arm: PricingGateway,
        ttl_seconds: float = DIRECTORY_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._arm = arm
        self._ttl = ttl_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[float, SubscriptionInfo]] = {}

    def cached(self, subscription_id: str) -> SubscriptionInfo | None:
        with self._lock:
            entry = self._entries.get(subscription_id.lower())
        if entry is None or self._clock() - entry[0] > self._ttl:
            return None
        return entry[1]

    def remember(self, infos: Iterable[SubscriptionInfo]) -> None:
        now = self._clock()
        with self._lock:
            for info in infos:
                self._entries[info.subscription_id.lower()] = (now, info)

    def get(self, subscription_id: str, calls: Counter[str]) -> SubscriptionInfo:
        info = self.cached(subscription_id)
        if info is None:
            calls["subscriptions.get"] += 1
            info = self._arm.get_subscription(subscription_id)
            self.remember([info])
        return info


class SubscriptionLocks:
    """One lock per subscription: this process never overlaps two updates of one subscription's plan."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}

    def __call__(self, subscription_id: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(subscription_id.lower(), threading.Lock())


class Enforcer:
    """Enforces the desired state on one subscription at a time and returns an Outcome; never raises for ARM errors."""

    def __init__(self, settings: Settings, arm: PricingGateway, directory: SubscriptionDirectory | None = None) -> None:
        self.settings = settings
        self.arm = arm
        self.directory = directory or SubscriptionDirectory(arm)
        self._locks = SubscriptionLocks()

    def enforce(
        self,
        subscription_id: str,
        trigger: Trigger,
        *,
        info: SubscriptionInfo | None = None,
        new_subscription: bool = False,
    ) -> Outcome:
        """GET the pricing, decide, and (in enforce mode) PUT the merged pricing.

        `info` is subscription metadata the caller already has (the sweep's inventory); without it,
        metadata is read only when a write is about to happen (exempt tag and read-only state).
        """
        started = time.perf_counter()
        calls: Counter[str] = Counter()
        sub = subscription_id.strip().lower()
        outcome = Outcome(
            subscription_id=sub,
            outcome=OutcomeKind.COMPLIANT,
            trigger=trigger,
            mode=self.settings.mode,
            new_subscription=new_subscription,
            started_at=utc_now_iso(),
        )
        if info is not None:
            self.directory.remember([info])
        else:
            info = self.directory.cached(sub)
        try:
            self._enforce(outcome, info, calls)
        except EnforcementError as error:
            outcome.outcome = OutcomeKind.FAILED
            outcome.error = error.message
            outcome.error_kind = error.kind
        outcome.arm_calls = dict(calls)
        outcome.duration_ms = (time.perf_counter() - started) * 1000
        logger.info(
            "subscription=%s outcome=%s trigger=%s:%s changes=%d arm_calls=%s",
            sub,
            outcome.outcome.value,
            trigger.kind,
            trigger.id,
            len(outcome.changes),
            outcome.arm_calls,
        )
        return outcome

    def _enforce(self, outcome: Outcome, info: SubscriptionInfo | None, calls: Counter[str]) -> None:
        sub = outcome.subscription_id
        if not is_guid(sub):
            raise EnforcementError(ErrorKind.SUBSCRIPTION_NOT_FOUND, f"{sub[:80]!r} is not a subscription id (GUID).")
        reason = exclusion_by_id(sub, self.settings)
        if reason is None and info is not None:
            outcome.subscription_name = info.display_name
            reason = exclusion_by_metadata(info.tags, info.state, self.settings)
        if reason is not None:
            outcome.outcome = OutcomeKind.EXCLUDED
            outcome.reason = reason
            return

        with self._locks(sub):
            calls["pricings.get"] += 1
            observed = self.arm.get_pricing(sub)
            outcome.before = observed
            remediation = decide(observed, self.settings.desired)
            if remediation is None:
                outcome.after = observed
                return
            outcome.changes = list(remediation.changes)

            # About to write: make sure the subscription is not exempt or read-only.
            if info is None:
                info = self.directory.get(sub, calls)
                outcome.subscription_name = info.display_name
                reason = exclusion_by_metadata(info.tags, info.state, self.settings)
                if reason is not None:
                    outcome.outcome = OutcomeKind.EXCLUDED
                    outcome.reason = reason
                    outcome.after = observed
                    return

            if self.settings.mode is Mode.AUDIT:
                outcome.outcome = OutcomeKind.WOULD_REMEDIATE
                outcome.after = remediation.target
                return

            calls["pricings.put"] += 1
            result = self.arm.put_pricing(sub, remediation.target)
            outcome.after = result
            failures = [(e.name, e.status_message or "no message") for e in result.extensions if e.failed]
            if failures:
                outcome.outcome = OutcomeKind.PARTIALLY_FAILED
                outcome.error = extension_failure_message(sub, failures)
                outcome.error_kind = ErrorKind.EXTENSION_FAILED
            else:
                outcome.outcome = OutcomeKind.REMEDIATED
