"""Bring one subscription to the desired Defender for AI state: the imperative shell around `decide`.

Over 300 lines because the write is verified where it is made: after each PUT the decision runs again on what
Azure answered, with at most one follow-up PUT to converge, and each way a write can fall short (failed
component, unknown extension name, not converged) is named here, next to the PUT it judges.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout

from enforcer.core.ancestry import MANAGEMENT_GROUPS_CALL, with_ancestry
from enforcer.core.decision import decide
from enforcer.core.desired_state import (
    ANCESTRY_UNKNOWN,
    Document,
    Resolution,
    ResolveConflict,
    ScopeMode,
    ancestry_unknown,
    deciding_rule,
    resolve,
    restrict_to,
)
from enforcer.core.errors import EnforcementError, extension_failure_message, mark_failed, unknown_extension_message
from enforcer.core.models import (
    ComponentSetting,
    DesiredState,
    ErrorKind,
    FieldChange,
    Mode,
    Outcome,
    OutcomeKind,
    PricingState,
    SubscriptionInfo,
    Trigger,
    utc_now_iso,
)
from enforcer.core.scope import exclusion_by_id, exclusion_by_metadata
from enforcer.core.settings import Settings, component_setting_names
from enforcer.core.text import is_guid
from enforcer.usecases.ports import ManagementGroupIndex, PricingGateway

logger = logging.getLogger(__name__)

# Subscription metadata (name, state, tags) is cached this long: bursts of events on one subscription
# cost one read, and the sweep's inventory refreshes it. An exempt tag added later is honoured within this time.
DIRECTORY_TTL_SECONDS = 300.0
# A subscription missing from the remembered management-group tree (created since) triggers a new read of it, at
# most this often.
TREE_REREAD_SECONDS = 60.0
# How long a caller waits for another caller's read of the same subscription's metadata when it has no deadline of
# its own: Event Grid's 30 s answer time (an event's callers pass their deadline).
DIRECTORY_WAIT_SECONDS = 30.0


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
        # Management groups of subscriptions read one by one (issue 20): from the last read of the whole tree, kept
        # for the TTL and shared by every caller, so events cost at most one tree read per TTL, never one each.
        self._tree_index: ManagementGroupIndex | None = None
        self._tree_wanted: Callable[[], bool] = lambda: False
        self._tree: tuple[float, Mapping[str, tuple[str, ...]]] | None = None
        # Reads under way, one per subscription: concurrent callers (an event's plan and account) share one GET.
        self._reading: dict[str, Future[SubscriptionInfo]] = {}

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

    def get(self, subscription_id: str, calls: Counter[str], deadline: float | None = None) -> SubscriptionInfo:
        """The cached metadata, else one GET shared by every caller that asks while it is under way (single
        flight): a caller that finds a read under way waits for it, at most `deadline` seconds (or
        DIRECTORY_WAIT_SECONDS), and gets its answer or its error. Only the reader counts the call."""
        info = self.cached(subscription_id)
        if info is not None:
            return info
        key = subscription_id.lower()
        with self._lock:
            reading = self._reading.get(key)
            leads = reading is None
            if reading is None:
                reading = self._reading[key] = Future()
        if not leads:
            return self._wait(subscription_id, reading, DIRECTORY_WAIT_SECONDS if deadline is None else deadline)
        try:
            calls["subscriptions.get"] += 1
            info = self._arm.get_subscription(subscription_id, deadline=deadline)
            info = with_ancestry(info, self._ancestry(info.subscription_id, calls, deadline))
            self.remember([info])
        except BaseException as error:
            reading.set_exception(error)
            raise
        finally:
            with self._lock:
                self._reading.pop(key, None)
        reading.set_result(info)
        return info

    def use_tree(self, index: ManagementGroupIndex | None, wanted: Callable[[], bool]) -> None:
        """Where management groups come from for a subscription read here, and whether rules need them now."""
        self._tree_index, self._tree_wanted = index, wanted

    def remember_tree(self, ancestry: Mapping[str, tuple[str, ...]]) -> None:
        """The sweep's read of the tree, reused by the reads that follow within the TTL."""
        with self._lock:
            self._tree = (self._clock(), dict(ancestry))

    def _ancestry(
        self, subscription_id: str, calls: Counter[str], deadline: float | None
    ) -> Mapping[str, tuple[str, ...]]:
        """The tree's subscription -> ancestry: the remembered read while it is within the TTL and names this
        subscription (or is under a minute old: a subscription not in the tree is not re-read for on every event),
        else one new read. A failure leaves the ancestry unknown."""
        if self._tree_index is None or not self._tree_wanted():
            return {}
        with self._lock:
            tree = self._tree
        if tree is not None:
            age = self._clock() - tree[0]
            if (age <= self._ttl and subscription_id in tree[1]) or age <= TREE_REREAD_SECONDS:
                return tree[1]
        try:
            ancestry = self._tree_index.ancestry(deadline=deadline)
        except EnforcementError as error:
            logger.warning("management groups unknown: the management-group tree could not be read: %s", error.message)
            return {}
        calls[MANAGEMENT_GROUPS_CALL] += ancestry.requests
        self.remember_tree(ancestry.by_subscription)
        return ancestry.by_subscription

    @staticmethod
    def _wait(subscription_id: str, reading: Future[SubscriptionInfo], seconds: float) -> SubscriptionInfo:
        try:
            return reading.result(timeout=seconds)
        except FutureTimeout:
            raise EnforcementError(
                ErrorKind.THROTTLED,
                f"Reading the metadata of subscription {subscription_id} took longer than {seconds:.0f} s (another "
                "caller's read of it was still under way). Fix: none needed if ARM was slow for a moment (the next "
                "event or sweep retries); if it persists, check ARM throttling in the function's logs.",
            ) from None


class SubscriptionLocks:
    """One lock per subscription: this process never overlaps two updates of one subscription's plan."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}

    def __call__(self, subscription_id: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(subscription_id.lower(), threading.Lock())


class Deadline:
    """Seconds left for retrying throttling: per call (None: the gateway's default) or for a whole enforcement.

    `per_call` caps each call when the deadline is a run's (the sweep's budget): a call gets min(its own deadline,
    what is left of the run), so the budget holds even while a call waits on Retry-After.
    """

    def __init__(self, seconds: float | None, *, per_call: float | None = None) -> None:
        self._until = None if seconds is None else time.monotonic() + seconds
        self._per_call = per_call

    def remaining(self) -> float | None:
        if self._until is None:
            return None
        left = max(0.1, self._until - time.monotonic())
        return left if self._per_call is None else min(self._per_call, left)


def _bool_text(value: bool) -> str:
    return "True" if value else "False"


def _state_text(pricing: PricingState, name: str) -> str:
    ext = pricing.extension(name)
    return "absent" if ext is None else _bool_text(ext.enabled)


class Enforcer:
    """Enforces the desired state on one subscription at a time and returns an Outcome; never raises for ARM errors."""

    def __init__(
        self,
        settings: Settings,
        arm: PricingGateway,
        directory: SubscriptionDirectory | None = None,
        document: Document | None = None,
    ) -> None:
        self.settings = settings
        self.arm = arm
        self.directory = directory or SubscriptionDirectory(arm)
        self._locks = SubscriptionLocks()
        # The desired-state document (issue 20); None or one without a hash: the settings apply everywhere.
        self.document = document if document is not None and document.hash else None

    def with_settings(self, settings: Settings) -> Enforcer:
        """This enforcer deciding with other settings (those the daily catalogue left a component out of). It shares
        the per-subscription locks, so its plan updates never overlap this one's (a 409), and the metadata reads."""
        sibling = Enforcer(settings, self.arm, self.directory, self.document)
        sibling._locks = self._locks
        return sibling

    def enforce(
        self,
        subscription_id: str,
        trigger: Trigger,
        *,
        info: SubscriptionInfo | None = None,
        new_subscription: bool = False,
        budget_seconds: float | None = None,
    ) -> Outcome:
        """GET the pricing, decide, and (in enforce mode) PUT the merged pricing.

        `info` is subscription metadata the caller already has (the sweep's inventory); without it,
        metadata is read only when a write is about to happen (exempt tag and read-only state).
        `budget_seconds`: what is left of the caller's run; no call retries past it.
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
        # An event must be answered within Event Grid's 30 s: its whole enforcement shares one retry deadline.
        if trigger.kind == "event":
            deadline = Deadline(self.settings.event_retry_deadline_seconds)
        elif budget_seconds is not None:
            deadline = Deadline(budget_seconds, per_call=self.settings.arm_retry_deadline_seconds)
        else:
            deadline = Deadline(None)
        try:
            self._enforce(outcome, info, calls, deadline)
        except EnforcementError as error:
            mark_failed(outcome, error)
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

    def _enforce(
        self, outcome: Outcome, info: SubscriptionInfo | None, calls: Counter[str], deadline: Deadline
    ) -> None:
        sub = outcome.subscription_id
        if not is_guid(sub):
            raise EnforcementError(ErrorKind.SUBSCRIPTION_NOT_FOUND, f"{sub[:80]!r} is not a subscription id (GUID).")
        reason = exclusion_by_id(sub, self.settings)
        if reason is None and info is not None:
            outcome.subscription_name = info.display_name
            reason = exclusion_by_metadata(info.tags, info.state, self.settings)
        if reason is None and info is None and self.document is not None:
            # Rules match on tags and ancestry: a document needs the facts before the decision, not only before a write.
            info = self.directory.get(sub, calls, deadline.remaining())
            outcome.subscription_name = info.display_name
            reason = exclusion_by_metadata(info.tags, info.state, self.settings)
        if reason is not None:
            outcome.outcome = OutcomeKind.EXCLUDED
            outcome.reason = reason
            return
        desired, mode = self.settings.desired, self.settings.mode
        resolution = self._resolve(outcome, info)
        if resolution is not None:
            if resolution.mode is ScopeMode.EXEMPT:
                outcome.outcome = OutcomeKind.EXCLUDED
                outcome.reason = f"exempt by desired-state rule {outcome.rule}"
                return
            desired, mode = self._scoped(outcome, resolution, info)

        with self._locks(sub):
            calls["pricings.get"] += 1
            observed = self.arm.get_pricing(sub, deadline=deadline.remaining())
            outcome.before = observed
            remediation = decide(observed, desired)
            if remediation is None:
                outcome.after = observed
                return
            outcome.changes = list(remediation.changes)
            if resolution is not None and self.document is not None:
                outcome.rule = deciding_rule(resolution, self.document, tuple(c.field for c in remediation.changes))

            # About to write: make sure the subscription is not exempt or read-only.
            if info is None:
                info = self.directory.get(sub, calls, deadline.remaining())
                outcome.subscription_name = info.display_name
                reason = exclusion_by_metadata(info.tags, info.state, self.settings)
                if reason is not None:
                    outcome.outcome = OutcomeKind.EXCLUDED
                    outcome.reason = reason
                    outcome.after = observed
                    return

            if mode is Mode.AUDIT:
                outcome.outcome = OutcomeKind.WOULD_REMEDIATE
                outcome.after = remediation.target
                return

            self._write_and_verify(outcome, observed, remediation.target, calls, deadline, desired)

    def _resolve(self, outcome: Outcome, info: SubscriptionInfo | None) -> Resolution | None:
        """The subscription's resolution under the document (None without one); names the rule on the outcome."""
        if self.document is None or info is None:
            return None
        outcome.desired_state_hash = self.document.hash
        try:
            resolution = resolve(info, self.document)
        except ResolveConflict as error:
            outcome.rule = " vs ".join(error.rules)
            raise EnforcementError(ErrorKind.DESIRED_STATE_CONFLICT, str(error)) from error
        outcome.rule = deciding_rule(resolution, self.document)
        return resolution

    def _scoped(
        self, outcome: Outcome, resolution: Resolution, info: SubscriptionInfo | None
    ) -> tuple[DesiredState, Mode]:
        """The desired state and mode the resolution asks for, within what the settings allow: ENFORCER_MODE=audit
        never writes, and components the sweep's daily catalogue left out stay out."""
        assert self.document is not None
        desired = restrict_to(
            resolution.desired_state(self.document), {c.key for c in self.settings.desired.components}
        )
        mode = resolution.plan_mode(self.settings.mode)
        if info is not None and ancestry_unknown(self.document, info) and mode is Mode.ENFORCE:
            mode = Mode.AUDIT
            outcome.reason = ANCESTRY_UNKNOWN
        outcome.mode = mode
        return desired, mode

    def _write_and_verify(
        self,
        outcome: Outcome,
        observed: PricingState,
        target: PricingState,
        calls: Counter[str],
        deadline: Deadline,
        desired: DesiredState,
    ) -> None:
        """PUT, then decide again on what Azure answered; at most one follow-up PUT to converge.

        The follow-up is sent only when a second PUT can fix something: extensions no component names that
        Azure turned on by itself, under ENFORCER_UNLISTED_COMPONENTS=off. Anything that still differs after
        it is reported, never recorded as `remediated`.
        """
        sub = outcome.subscription_id
        calls["pricings.put"] += 1
        try:
            result = self.arm.put_pricing(sub, target, deadline=deadline.remaining())
        except EnforcementError as error:
            if error.kind is ErrorKind.UNKNOWN_EXTENSION:
                raise self._unknown_extension_error(sub, observed, target, error.message, desired) from error
            raise
        first = result
        follow_up = decide(result, desired)
        fixable = follow_up is not None and any(
            c.field.startswith("extensions.") and not desired.is_listed(c.field.removeprefix("extensions."))
            for c in follow_up.changes
        )
        if follow_up is not None and fixable and not any(e.failed for e in result.extensions):
            calls["pricings.put"] += 1
            result = self.arm.put_pricing(sub, follow_up.target, deadline=deadline.remaining())
        outcome.after = result
        outcome.changes = self._truthful_changes(outcome.changes, observed, target, first, result)

        failures = [(e.name, e.status_message or "no message") for e in result.extensions if e.failed]
        if failures:
            outcome.outcome = OutcomeKind.PARTIALLY_FAILED
            outcome.error = extension_failure_message(sub, failures)
            outcome.error_kind = ErrorKind.EXTENSION_FAILED
            return
        missing = self._missing_components(result, desired)
        if missing:
            missing_fields = {f"extensions.{name}".lower() for _, name in missing}
            applied = [c for c in outcome.changes if c.field.lower() not in missing_fields]
            outcome.outcome = OutcomeKind.PARTIALLY_FAILED if applied else OutcomeKind.FAILED
            outcome.error = unknown_extension_message(
                sub, [self._names(key, name) for key, name in missing], [e.name for e in result.extensions]
            )
            outcome.error_kind = ErrorKind.UNKNOWN_EXTENSION
            return
        remaining = decide(result, desired)
        if remaining is not None:
            differing = "; ".join(f"{c.field}: wanted {c.after}, Azure has {c.before}" for c in remaining.changes)
            outcome.outcome = OutcomeKind.PARTIALLY_FAILED
            outcome.error = (
                f"Azure's answer to the PUT on subscription {sub} still differs from the desired state: {differing}. "
                "Fix: none needed if it was transient (the next sweep retries); if it persists, check the plan in "
                "the portal and the component settings."
            )
            outcome.error_kind = ErrorKind.NOT_CONVERGED
            return
        outcome.outcome = OutcomeKind.REMEDIATED

    def _missing_components(self, result: PricingState, desired: DesiredState) -> list[tuple[str, str]]:
        """Configured (managed) components whose extension name Azure's answer at Standard leaves out."""
        if result.tier != "Standard":
            return []
        return [
            (c.key, c.extension_name)
            for c in desired.components
            if c.setting is not ComponentSetting.UNMANAGED and result.extension(c.extension_name) is None
        ]

    @staticmethod
    def _names(key: str, extension_name: str) -> tuple[str, str, str]:
        setting, extension_setting = component_setting_names(key)
        return extension_name, setting, extension_setting

    def _unknown_extension_error(
        self, sub: str, observed: PricingState, target: PricingState, azure_said: str, desired: DesiredState
    ) -> EnforcementError:
        """A 400 for an extension name: name the configured ones Azure does not list, and the settings to fix."""
        candidates = [
            (c.key, c.extension_name)
            for c in desired.components
            if target.extension(c.extension_name) is not None and observed.extension(c.extension_name) is None
        ]
        named = [(k, n) for k, n in candidates if n.lower() in azure_said.lower()]
        unknown = named or candidates
        message = unknown_extension_message(
            sub, [self._names(k, n) for k, n in unknown], [e.name for e in observed.extensions], azure_said
        )
        return EnforcementError(ErrorKind.UNKNOWN_EXTENSION, message + " Nothing was changed.")

    @staticmethod
    def _truthful_changes(
        intended: list[FieldChange],
        observed: PricingState,
        target: PricingState,
        first: PricingState,
        final: PricingState,
    ) -> list[FieldChange]:
        """The intended changes, plus every extension Azure changed by itself (marked as such)."""
        changes: list[FieldChange] = []
        for change in intended:
            if change.field == "pricingTier":
                actual = final.tier
            else:
                actual = _state_text(final, change.field.removeprefix("extensions."))
            if actual != change.after.split(" ")[0]:
                note = f"{actual} (asked for {change.after}; not applied)"
                changes.append(FieldChange(change.field, change.before, note))
            else:
                changes.append(change)
        seen = {c.field.lower() for c in changes}
        names = [e.name for e in first.extensions] + [e.name for e in final.extensions]
        for name in dict.fromkeys(names):
            field = f"extensions.{name}"
            before = _state_text(observed, name)
            if field.lower() in seen:
                continue
            sent = target.extension(name)
            by_azure = first.extension(name)
            if sent is None and by_azure is not None and _state_text(first, name) != before:
                after = _state_text(final, name)
                if after == _state_text(first, name):
                    text = f"{after} (turned on by Azure)" if by_azure.enabled else f"{after} (set by Azure)"
                else:
                    how = "on" if by_azure.enabled else "off"
                    text = f"{after} (Azure turned it {how}; set back by a follow-up PUT)"
                changes.append(FieldChange(field, before, text))
                seen.add(field.lower())
            elif _state_text(final, name) != before and _state_text(final, name) != _state_text(target, name):
                changes.append(FieldChange(field, before, f"{_state_text(final, name)} (set by Azure)"))
                seen.add(field.lower())
        return changes
