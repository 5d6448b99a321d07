"""`make bench`, event wiring: one sweep wires N unwired subscriptions, a second sweep finds them all wired.

The ARM emulator runs in a process of its own (benchmarks/workers.emulator_host), every subscription compliant
(so the plan step is one Resource Graph query and no GET) and none wired, with a fixed latency on every ARM call.
Printed: wall time of each sweep and the ARM calls by kind; nothing is asserted.

  python -m benchmarks.wiring [--subscriptions N] [--latency-ms MS] [--concurrency C]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import time
from typing import Any

from benchmarks.workers import emulator_host

WIRING_KINDS = ("eventgrid.", "resourcegroups.")


def _ask(conn: Any, command: str) -> Any:
    conn.send(command)
    return conn.recv()


def _wiring_calls(calls: dict[str, int]) -> dict[str, int]:
    return {k: v for k, v in sorted(calls.items()) if k.startswith(WIRING_KINDS)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.wiring", description=__doc__.splitlines()[0])
    parser.add_argument("--subscriptions", type=int, default=1000)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args(argv)

    from enforcer.adapters.arm import ArmGateway
    from enforcer.composition import build_services
    from enforcer.core.settings import Settings
    from enforcer.usecases.sweep.run import sweep

    parent, child = mp.Pipe()
    host = mp.get_context("spawn").Process(
        target=emulator_host, args=(child, args.subscriptions, 0.0, 7, args.latency_ms), name="emulator"
    )
    host.start()
    url = parent.recv()
    settings = Settings.from_env(
        {
            "ENFORCER_ARM_ENDPOINT": url,
            "ENFORCER_SWEEP_CONCURRENCY": str(args.concurrency),
            "ENFORCER_EVENT_WIRING": "on",
            "ENFORCER_EVENT_DELIVERY_URL": "https://func-bench.example.net/runtime/webhooks/EventGrid"
            "?functionName=ai_account_created",
            "ENFORCER_EVENT_DELIVERY_KEY": "bench-key",
            "ENFORCER_EVENTS_LOCATION": "westeurope",
        }
    )
    print(
        f"event wiring: {args.subscriptions} subscription(s), none wired, all compliant; "
        f"{args.latency_ms:.0f} ms per ARM call; concurrency {args.concurrency}"
    )
    try:
        for label in ("first sweep (wires every subscription)", "second sweep (steady state)"):
            _ask(parent, "reset")
            services = build_services(settings, arm=ArmGateway(settings.arm_endpoint, pool_size=args.concurrency * 2))
            started = time.perf_counter()
            result = sweep(services)
            wall = time.perf_counter() - started
            services.close()
            counts = {
                k: v for k, v in result.summary.counts.items() if k in ("wired", "already_wired", "wiring_failed")
            }
            calls = _ask(parent, "calls")
            wiring = _wiring_calls(calls)
            print(f"  {label}: {wall:.1f} s wall; outcomes {counts}")
            print(
                f"    wiring ARM calls: {sum(wiring.values())} "
                f"({', '.join(f'{k}={v}' for k, v in wiring.items()) or 'none'}); "
                f"Resource Graph queries (plan + wiring): {calls.get('resourcegraph.resources', 0)}"
            )
    finally:
        _ask(parent, "stop")
        host.join()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
