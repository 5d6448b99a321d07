"""Event handler benchmark (issue 4): handler overhead per event beside ARM time, and ARM calls per event kind.

Runs the real handler (`enforcer.usecases.handle_event.handle_event`) on Microsoft's sample payloads against the ARM
emulator (with per-call latency), with and without the audit store on Azurite. ARM time is measured
client-side around every ArmGateway call; overhead = handler wall time - ARM time.
"""

from __future__ import annotations

import contextlib
import copy
import json
import statistics
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from enforcer.adapters.arm import ArmGateway, RetrySettings
from enforcer.composition import build_services
from enforcer.core.events import Route
from enforcer.core.settings import Settings
from enforcer.usecases.handle_event import handle_event
from enforcer.usecases.services import Services
from localdev.emulator import Emulator, FaultConfig
from localdev.emulator.fleet import COMPLIANT_AI_PRICING as COMPLIANT

SAMPLES = Path(__file__).resolve().parents[1] / "tests" / "data" / "events"
SAMPLE_SUBSCRIPTION = "5f2c9a1e-3b7d-4c6a-9e8f-1a2b3c4d5e6f"


class TimedArm(ArmGateway):
    """ArmGateway that adds up the time spent in ARM calls (client side, SDK included)."""

    arm_seconds = 0.0

    def _timed(self, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return call(*args, **kwargs)
        finally:
            self.arm_seconds += time.perf_counter() - started

    def get_pricing(self, subscription_id: str, *, deadline: float | None = None) -> Any:
        return self._timed(super().get_pricing, subscription_id, deadline=deadline)

    def put_pricing(self, subscription_id: str, target: Any, *, deadline: float | None = None) -> Any:
        return self._timed(super().put_pricing, subscription_id, target, deadline=deadline)

    def get_subscription(self, subscription_id: str, *, deadline: float | None = None) -> Any:
        return self._timed(super().get_subscription, subscription_id, deadline=deadline)


def _sample(name: str, subscription_id: str) -> dict[str, Any]:
    (event,) = json.loads((SAMPLES / name).read_text())
    text = json.dumps(event).replace(SAMPLE_SUBSCRIPTION, subscription_id)
    result: dict[str, Any] = json.loads(text)
    result["id"] = str(uuid.uuid4())
    return result


# (label, sample file, how the subscription starts, route)
KINDS = [
    ("AI account write, Free plan", "resource-write-cognitive-account.eventgrid.json", "free", Route.AI_ACCOUNT),
    ("AI account write, compliant", "resource-write-cognitive-account.cloudevents.json", "compliant", Route.AI_ACCOUNT),
    ("storage account write", "resource-write-storage-account.eventgrid.json", "free", Route.AI_ACCOUNT),
    ("someone else's pricings write, Free", "resource-write-security-pricing.eventgrid.json", "free", Route.AI_ACCOUNT),
    ("vending CloudEvent, new sub", "subscription-created-vending.cloudevents.json", "free", Route.SUBSCRIPTION),
    (
        "PolicyStateCreated, Defender for AI",
        "policy-state-created-defender-ai.eventgrid.json",
        "free",
        Route.SUBSCRIPTION,
    ),
    ("duplicate delivery", "resource-write-cognitive-account.eventgrid.json", "duplicate", Route.AI_ACCOUNT),
]


@contextlib.contextmanager
def _services(emulator: Emulator, storage: str | None) -> Iterator[tuple[Services, TimedArm]]:
    env = {"ENFORCER_ARM_ENDPOINT": emulator.url}
    settings = Settings.from_env(env)
    arm = TimedArm(settings.arm_endpoint, retry=RetrySettings(total=3, backoff_factor=0.1, backoff_max=1))
    audit = None
    if storage:
        from enforcer.adapters.audit_store import AuditStore

        suffix = uuid.uuid4().hex[:8]
        audit = AuditStore(storage, audit_table=f"BenchAudit{suffix}", runs_table=f"BenchRuns{suffix}")
    services = build_services(settings, arm=arm, audit=audit)
    try:
        yield services, arm
    finally:
        services.close()


def _run_kind(
    emulator: Emulator, services: Services, arm: TimedArm, kind: tuple[str, str, str, Route], repeats: int, warm: bool
) -> dict[str, Any]:
    label, sample_name, start, route = kind
    totals, arm_times = [], []
    calls: Counter[str] = Counter()
    for _ in range(repeats):
        sub = str(uuid.uuid4())
        emulator.add_subscription(sub, display_name="bench", pricing=COMPLIANT if start == "compliant" else None)
        event = _sample(sample_name, sub)
        if warm:  # as in a running app whose sweep listed the subscriptions
            services.enforcer.directory.remember([services.arm.get_subscription(sub)])
        if start == "duplicate":
            handle_event(copy.deepcopy(event), route, services)
        emulator.reset_calls()
        arm.arm_seconds = 0.0
        started = time.perf_counter()
        handle_event(event, route, services)
        totals.append(time.perf_counter() - started)
        arm_times.append(arm.arm_seconds)
        calls.update(emulator.calls)
    overhead = [t - a for t, a in zip(totals, arm_times, strict=True)]
    return {
        "label": label,
        "total_ms": statistics.median(totals) * 1000,
        "arm_ms": statistics.median(arm_times) * 1000,
        "overhead_ms": statistics.median(overhead) * 1000,
        "calls": {k: v / repeats for k, v in sorted(calls.items())},
    }


def run(latency_ms: float = 50.0, repeats: int = 20, storage: str | None = None) -> None:
    print(f"\n== Event handlers: {repeats} events per kind, ARM latency {latency_ms:.0f} ms per call ==")
    for audit_label, audit_storage in (("no audit store", None), ("audit store on Azurite", storage)):
        if audit_label != "no audit store" and not audit_storage:
            print("(audit store run skipped: Azurite not available)")
            continue
        for warm in (True, False):
            with (
                Emulator(faults=FaultConfig(latency_ms=latency_ms)) as emulator,
                _services(emulator, audit_storage) as (services, arm),
            ):
                directory = "warm subscription cache" if warm else "cold instance"
                print(f"\n-- {audit_label}, {directory} --")
                print(f"{'EVENT KIND':38} {'TOTAL ms':>9} {'ARM ms':>8} {'OVERHEAD ms':>12}  ARM CALLS PER EVENT")
                for kind in KINDS:
                    r = _run_kind(emulator, services, arm, kind, repeats, warm)
                    calls = ", ".join(f"{k} {v:g}" for k, v in r["calls"].items()) or "none"
                    print(f"{r['label']:38} {r['total_ms']:9.1f} {r['arm_ms']:8.1f} {r['overhead_ms']:12.2f}  {calls}")
    print("(medians; overhead = handler wall time minus time inside ARM calls, audit writes included when on)")
