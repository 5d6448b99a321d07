"""`make bench` (issue 19): drift restored in seconds, measured through the real event handler.

  (e) foreign disable -> restored: a user switches pricings/AI to Free through the emulator, which raises the
      subscription topic's ResourceWriteSuccess event with the user's claims; the event goes through
      `handle_event_outcomes` with the audit store on Azurite. Handler wall time, ARM calls, and the overhead
      (wall time - ARM calls x the emulator's latency per call) against the issue's targets.
  (f) an AI-account creation event on a Free plan with a Disabled account: the plan and the account both need a
      write. Sequential ARM round trips (from the emulator's request times) and their span against "<= 2 sequential
      round trips" (2 x (latency + 5 ms)), since the plan and the account are handled at once.

A warm instance: the subscription's metadata is cached (as after a sweep) and one event of each kind is handled
before the measured runs. Medians of --repeats runs; nothing is asserted.
"""

from __future__ import annotations

import argparse
import contextlib
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
from enforcer.usecases.handle_event import handle_event_outcomes
from enforcer.usecases.services import Services
from localdev.azurite import AzuriteError, AzuriteProcess
from localdev.emulator import Emulator, FaultConfig
from localdev.emulator.fleet import COMPLIANT_AI_PRICING as COMPLIANT
from localdev.emulator.server import CLIENT_OBJECT_ID
from localdev.emulator.timeline import sequential_round_trips
from localdev.emulator.write_events import Caller

SAMPLES = Path(__file__).resolve().parents[1] / "tests" / "data" / "events"
SAMPLE_SUBSCRIPTION = "5f2c9a1e-3b7d-4c6a-9e8f-1a2b3c4d5e6f"
ACCOUNT_CREATED = "resource-write-cognitive-account.eventgrid.json"
USER = Caller(object_id="0a11ce00-0000-4000-8000-000000000001", upn="alice@contoso.example", name="Alice")

# Issue 19's targets at 50 ms per ARM call.
TARGET_ARM_CALLS = 2
TARGET_OVERHEAD_MS = 50.0
TARGET_ROUND_TRIPS = 2
# What a round trip costs beyond the emulator's latency on this machine (HTTP on loopback, SDK pipeline):
# the "~110 ms" for 2 round trips at 50 ms.
ROUND_TRIP_ALLOWANCE_MS = 5.0


@contextlib.contextmanager
def _services(emulator: Emulator, storage: str) -> Iterator[Services]:
    from enforcer.adapters.audit_store import AuditStore

    # The enforcer's own identity, so the events of its own restoring writes are recognised (not measured here).
    settings = Settings.from_env(
        {"ENFORCER_ARM_ENDPOINT": emulator.url, "ENFORCER_IDENTITY_OBJECT_ID": CLIENT_OBJECT_ID}
    )
    arm = ArmGateway(settings.arm_endpoint, retry=RetrySettings(total=3, backoff_factor=0.1, backoff_max=1))
    suffix = uuid.uuid4().hex[:8]
    audit = AuditStore(storage, audit_table=f"BenchDriftAudit{suffix}", runs_table=f"BenchDriftRuns{suffix}")
    services = build_services(settings, arm=arm, audit=audit)
    try:
        yield services
    finally:
        services.close()


def _warm_subscription(emulator: Emulator, services: Services, pricing: dict[str, Any] | None) -> str:
    """A subscription whose metadata this instance has cached, as after a sweep listed it."""
    sub = str(uuid.uuid4())
    emulator.add_subscription(sub, display_name="bench", pricing=pricing)
    services.enforcer.directory.remember([services.arm.get_subscription(sub)])
    return sub


def _foreign_disable(emulator: Emulator, services: Services) -> dict[str, Any]:
    sub = _warm_subscription(emulator, services, COMPLIANT)
    return emulator.user_write_pricing(sub, {"pricingTier": "Free"}, USER)


def _account_created(emulator: Emulator, services: Services) -> dict[str, Any]:
    sub = _warm_subscription(emulator, services, None)  # Free plan
    emulator.cognitive.add(sub, "rg-ai", "contoso-openai", state="Disabled")
    (event,) = json.loads((SAMPLES / ACCOUNT_CREATED).read_text())
    result: dict[str, Any] = json.loads(json.dumps(event).replace(SAMPLE_SUBSCRIPTION, sub))
    result["id"] = str(uuid.uuid4())
    return result


def _measure(
    emulator: Emulator,
    services: Services,
    make_event: Callable[[Emulator, Services], dict[str, Any]],
    repeats: int,
) -> dict[str, Any]:
    """Median wall time of `handle_event_outcomes` on fresh events (after one unmeasured warm-up), ARM calls per
    event, the outcomes of the last run, the longest chain of ARM calls that did not overlap in time, and the time
    from the first ARM request's arrival to the last one's answer (the emulator's clock)."""
    handle_event_outcomes(make_event(emulator, services), Route.AI_ACCOUNT, services)  # warm-up
    totals: list[float] = []
    chains: list[int] = []
    spans: list[float] = []
    calls: Counter[str] = Counter()
    outcomes: list[str] = []
    for _ in range(repeats):
        event = make_event(emulator, services)
        emulator.write_events.take()
        emulator.reset_calls()
        started = time.perf_counter()
        results = handle_event_outcomes(event, Route.AI_ACCOUNT, services)
        totals.append(time.perf_counter() - started)
        calls.update(emulator.calls)
        requests = emulator.requests
        chains.append(sequential_round_trips(requests))
        spans.append(max(r.ended for r in requests) - min(r.started for r in requests))
        outcomes = [o.outcome.value for o in results]
    return {
        "total_ms": statistics.median(totals) * 1000,
        "calls": {k: v / repeats for k, v in sorted(calls.items())},
        "arm_calls": sum(calls.values()) / repeats,
        "round_trips": statistics.median(chains),
        "arm_span_ms": statistics.median(spans) * 1000,
        "outcomes": outcomes,
    }


def _met(ok: bool) -> str:
    return "met" if ok else "NOT met"


def run(storage: str, latency_ms: float = 50.0, repeats: int = 15) -> None:
    print(
        f"\n== Drift in seconds (issue 19): real handler, ARM latency {latency_ms:.0f} ms per call, audit store "
        f"on Azurite, warm instance, median of {repeats} events =="
    )
    with Emulator(faults=FaultConfig(latency_ms=latency_ms)) as emulator, _services(emulator, storage) as services:
        e = _measure(emulator, services, _foreign_disable, repeats)
        overhead = e["total_ms"] - e["arm_calls"] * latency_ms
        calls = ", ".join(f"{k} {v:g}" for k, v in e["calls"].items())
        print(
            f"(e) foreign disable -> restored: handler {e['total_ms']:.1f} ms, {e['arm_calls']:g} ARM calls ({calls}), "
            f"overhead {overhead:.1f} ms; outcome {', '.join(e['outcomes'])}"
        )
        print(
            f"    target <= {TARGET_ARM_CALLS} ARM calls: {_met(e['arm_calls'] <= TARGET_ARM_CALLS)}; "
            f"target <= {TARGET_OVERHEAD_MS:.0f} ms overhead at {latency_ms:.0f} ms per call: "
            f"{_met(overhead <= TARGET_OVERHEAD_MS)}"
        )
        f = _measure(emulator, services, _account_created, repeats)
        calls = ", ".join(f"{k} {v:g}" for k, v in f["calls"].items())
        bound = TARGET_ROUND_TRIPS * (latency_ms + ROUND_TRIP_ALLOWANCE_MS)
        met = f["round_trips"] <= TARGET_ROUND_TRIPS and f["arm_span_ms"] <= bound
        print(
            f"(f) AI account created, Free plan, Disabled account: handler {f['total_ms']:.1f} ms, "
            f"{f['arm_calls']:g} ARM calls ({calls}) in {f['round_trips']:g} sequential round trips taking "
            f"{f['arm_span_ms']:.1f} ms from the first request to the last answer; outcomes {', '.join(f['outcomes'])}"
        )
        print(
            f"    target <= {TARGET_ROUND_TRIPS} sequential round trips (~{bound:.0f} ms at {latency_ms:.0f} ms per "
            f"call) when both need a write: {_met(met)}; handler time beyond them "
            f"{f['total_ms'] - f['round_trips'] * latency_ms:.1f} ms (the audit store, the SDK)"
        )
    print(
        "(overhead = handler wall time - ARM calls x latency: the SDK, the audit store's claim and records, "
        "the card outbox)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.drift", description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args(argv)
    try:
        azurite = AzuriteProcess().start()
    except AzuriteError as error:
        print(f"(drift benchmark skipped: Azurite not available: {error})")
        return 0
    try:
        run(azurite.connection_string, latency_ms=args.latency_ms, repeats=args.repeats)
    finally:
        azurite.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
