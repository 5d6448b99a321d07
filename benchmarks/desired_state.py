"""`make bench` (issue 20): a 10,000-subscription sweep with a 50-rule desired-state document against the same
sweep with no document. Target: the document costs at most 1.1x. Printed, never asserted.

The 50 rules: 20 subscription-id rules (4 ids each), 20 tag rules and 10 management-group rules (the 5 business
units of the emulator's tree and their prod groups, where the fleet is dealt), each setting what the default already
sets, so that both sweeps have exactly the same work to do in Azure and the difference is the resolution alone, and
reading the ancestry Resource Graph carries.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.workers import BENCH_BUSINESS_UNITS, bench_groups, emulator_host

TARGET_RATIO = 1.1
# Relative to the app root, as ENFORCER_DESIRED_STATE wants; out/ is neither committed nor deployed.
DOCUMENT = "out/bench-desired-state-50.yaml"
ROOT = Path(__file__).resolve().parents[1]


def _ask(conn: Any, command: str) -> Any:
    conn.send(command)
    return conn.recv()


def fifty_rules(ids: list[str]) -> str:
    lines = ["version: 1", "rules:"]
    for i in range(20):
        chosen = ", ".join(f'"{s}"' for s in ids[i * 4 : i * 4 + 4])
        lines += [f"  - name: subs-{i}", f"    match: {{subscriptions: [{chosen}]}}", "    set: {mode: enforce}"]
    for i in range(20):
        # The fleet's costCenter tags run from cc-100 to cc-999 (localdev/emulator/fleet.py).
        tag = f"costCenter=cc-{100 + i}"
        lines += [f"  - name: cost-center-{i}", f"    match: {{tag: {tag}}}", "    set: {mode: enforce}"]
    for unit in range(BENCH_BUSINESS_UNITS):
        bu, prod, _dev = bench_groups(unit)
        for group in (bu, prod):
            lines += [f"  - name: {group}", f"    match: {{management_group: {group}}}", "    set: {mode: enforce}"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.desired_state", description=__doc__.splitlines()[0])
    parser.add_argument("--subscriptions", type=int, default=10_000)
    parser.add_argument("--drift", type=float, default=0.01)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2, help="sweeps of each kind, alternating; the best counts")
    args = parser.parse_args(argv)

    from enforcer.adapters.arm import ArmGateway
    from enforcer.composition import build_services
    from enforcer.core.settings import Settings
    from enforcer.usecases.sweep.model import FULL_LISTING_MARKER
    from enforcer.usecases.sweep.run import sweep

    parent, child = mp.Pipe()
    host = mp.get_context("spawn").Process(
        target=emulator_host,
        args=(child, args.subscriptions, args.drift, 7, args.latency_ms),
        kwargs={"management_groups": True},
        name="emulator",
    )
    host.start()
    url = parent.recv()
    document = ROOT / DOCUMENT
    document.parent.mkdir(exist_ok=True)
    document.write_text(fifty_rules(_ask(parent, "ids")), encoding="utf-8")
    base = {
        "ENFORCER_ARM_ENDPOINT": url,
        "ENFORCER_SWEEP_CONCURRENCY": str(args.concurrency),
        "ENFORCER_ACCOUNT_PROTECTION": "unmanaged",
    }
    print(
        f"desired state per scope: {args.subscriptions} subscription(s), {args.drift:.0%} drifted, "
        f"{args.latency_ms:.0f} ms per ARM call, concurrency {args.concurrency}; 50-rule document vs none"
    )
    best: dict[str, float] = {}
    try:
        for _ in range(args.rounds):
            for label, extra in (("no document", {}), ("50 rules", {"ENFORCER_DESIRED_STATE": DOCUMENT})):
                _ask(parent, "redrift")
                _ask(parent, "reset")
                settings = Settings.from_env({**base, **extra})
                arm = ArmGateway(settings.arm_endpoint, pool_size=args.concurrency * 2)
                services = build_services(settings, arm=arm)
                # A warm worker (listed the subscriptions API within the hour), as in `make bench` (a).
                services.sweep_memory[FULL_LISTING_MARKER] = datetime.now(UTC).isoformat()
                started = time.perf_counter()
                result = sweep(services)
                wall = time.perf_counter() - started
                services.close()
                calls = _ask(parent, "calls")
                puts = calls.get("pricings.put", 0)
                print(f"  {label:12} {wall:6.2f} s wall; outcomes {result.summary.counts}; pricings.put={puts}")
                if extra:  # the rules really decided: how many outcomes name a rule of each kind
                    named = [o.rule or "" for o in result.outcomes]
                    kinds = {"management group": "mg-bu-", "tag": "cost-center-", "subscription": "subs-"}
                    tally = ", ".join(f"{kind} {sum(prefix in r for r in named)}" for kind, prefix in kinds.items())
                    print(f"  {'':12} outcomes naming a rule on a {tally}")
                best[label] = min(wall, best.get(label, wall))
    finally:
        _ask(parent, "stop")
        host.join()
    ratio = best["50 rules"] / best["no document"]
    verdict = "met" if ratio <= TARGET_RATIO else "NOT met"
    print(
        f"  best of {args.rounds}: no document {best['no document']:.2f} s, 50 rules {best['50 rules']:.2f} s: "
        f"{ratio:.2f}x (target <= {TARGET_RATIO}x: {verdict})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
