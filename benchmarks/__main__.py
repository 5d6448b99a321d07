"""`make bench`: the drift sweep against a naive GET-per-subscription loop, on one emulated fleet.

The ARM emulator runs in a process of its own (its request handling does not share the benchmark's GIL),
seeded with N subscriptions, a share of them drifted, and a fixed latency on every ARM call. Each measured
run is a fresh process, so its peak RSS is its own:

  (a)  the sweep, no audit store                  - the ARM work alone, comparable with (b)
  (a') the sweep, audit store on Azurite          - the same, plus one audit record per subscription
  (a'') a second sweep on the now compliant fleet - steady state: no writes
  (b)  the naive loop: one pricings GET per subscription, in order, one at a time

Figures are printed, with the targets from the issue; nothing is asserted.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import resource
import sys
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

TARGET_SPEEDUP = 30.0
TARGET_WALL_SECONDS = 30.0
TARGET_RSS_MB = 200.0


# -- child processes ---------------------------------------------------------------------------------


def _emulator_host(conn: Connection, n: int, drift: float, seed: int, latency_ms: float) -> None:
    """Run the emulator and answer the parent's commands: url, ids, calls, reset, redrift, stop."""
    from enforcer.emulator import Emulator, FaultConfig
    from enforcer.emulator.fleet import COMPLIANT, build_fleet

    emulator = Emulator(FaultConfig(latency_ms=latency_ms)).start()
    emulator.seed_fleet(n, drift, seed)
    ids = sorted(s.member.subscription_id for s in build_fleet(n, drift, seed))
    conn.send(emulator.url)
    while True:
        command = conn.recv()
        if command == "ids":
            conn.send(ids)
        elif command == "calls":
            conn.send(dict(emulator.calls))
        elif command == "reset":
            emulator.reset_calls()
            conn.send(None)
        elif command == "redrift":
            # The same drift as seeded, so that every sweep variant has the same work to do.
            drifted = [s for s in build_fleet(n, drift, seed) if s.member.drift_kind != COMPLIANT]
            for seeded in drifted:
                emulator.set_pricing(seeded.member.subscription_id, "AI", seeded.ai_pricing)
            conn.send(len(drifted))
        else:
            conn.send(None)
            break
    emulator.stop()


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _sweep_child(conn: Connection, url: str, concurrency: int, storage: str | None) -> None:
    from enforcer.audit import AuditStore
    from enforcer.settings import Settings
    from enforcer.sweep import sweep
    from enforcer.wiring import build_services

    env = {"ENFORCER_ARM_ENDPOINT": url, "ENFORCER_SWEEP_CONCURRENCY": str(concurrency)}
    if storage:
        env.update(ENFORCER_STORAGE=storage, ENFORCER_AUDIT_TABLE="BenchAudit", ENFORCER_RUNS_TABLE="BenchRuns")
    settings = Settings.from_env(env)
    audit = AuditStore.from_settings(settings)
    services = build_services(settings, audit=audit)
    started = time.perf_counter()
    result = sweep(services)
    wall = time.perf_counter() - started
    services.close()
    conn.send(
        {
            "wall": wall,
            "rss_mb": _peak_rss_mb(),
            "summary": result.summary.to_dict(),
            "timings": result.timings,
        }
    )


def _naive_child(conn: Connection, url: str, ids: list[str]) -> None:
    from enforcer.arm import ArmGateway

    with ArmGateway(url) as arm:
        started = time.perf_counter()
        for sub in ids:
            arm.get_pricing(sub)
        wall = time.perf_counter() - started
    conn.send({"wall": wall, "rss_mb": _peak_rss_mb()})


def _in_child(target: Callable[..., None], *args: Any) -> dict[str, Any]:
    parent, child = mp.Pipe()
    process = mp.get_context("spawn").Process(target=target, args=(child, *args))
    process.start()
    answer: dict[str, Any] = parent.recv()
    process.join()
    return answer


# -- report ------------------------------------------------------------------------------------------


def _machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    memory = ""
    try:
        with open("/proc/meminfo", encoding="utf-8") as info:
            kib = int(next(line.split()[1] for line in info if line.startswith("MemTotal")))
            memory = f", {kib / 1024 / 1024:.1f} GiB RAM"
    except (OSError, StopIteration, ValueError):
        pass
    return (
        f"{cpu}, {os.cpu_count()} CPU(s){memory}; {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}"
    )


def _calls_text(calls: dict[str, int]) -> str:
    return ", ".join(f"{kind}={count}" for kind, count in sorted(calls.items())) or "none"


def _verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def _print_sweep(label: str, run: dict[str, Any], calls: dict[str, int]) -> None:
    summary = run["summary"]
    phases = ", ".join(f"{phase} {seconds:.1f} s" for phase, seconds in run["timings"].items())
    print(f"{label}")
    print(f"    wall {run['wall']:.1f} s ({phases}); peak RSS {run['rss_mb']:.0f} MB")
    print(f"    ARM calls received by the emulator: {_calls_text(calls)}")
    print(f"    outcomes: {_calls_text(summary['counts'])}; complete={summary['complete']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscriptions", type=int, default=10_000, help="fleet size (default 10000)")
    parser.add_argument("--drift", type=float, default=0.01, help="share drifted (default 0.01)")
    parser.add_argument("--latency-ms", type=float, default=50.0, help="latency of every ARM call (default 50)")
    parser.add_argument("--concurrency", type=int, default=16, help="ENFORCER_SWEEP_CONCURRENCY (default 16)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--naive-sample",
        type=int,
        default=0,
        metavar="N",
        help="time only N GETs of the naive loop and extrapolate (default: run it over the whole fleet)",
    )
    parser.add_argument("--no-azurite", action="store_true", help="skip the run with the audit store on Azurite")
    args = parser.parse_args(argv)

    n = args.subscriptions
    print(f"machine: {_machine()}")
    print(
        f"fleet: {n} subscriptions, {args.drift:.0%} drifted, {args.latency_ms:g} ms per ARM call "
        f"(emulator in its own process); sweep concurrency {args.concurrency}"
    )
    sys.stdout.flush()

    host, host_end = mp.Pipe()
    emulator = mp.get_context("spawn").Process(
        target=_emulator_host, args=(host_end, n, args.drift, args.seed, args.latency_ms)
    )
    emulator.start()
    url: str = host.recv()

    def ask(command: str) -> Any:
        host.send(command)
        return host.recv()

    try:
        ask("reset")
        sweep_a = _in_child(_sweep_child, url, args.concurrency, None)
        calls_a = ask("calls")
        print()
        _print_sweep("(a) sweep, no audit store", sweep_a, calls_a)
        sys.stdout.flush()

        if not args.no_azurite:
            _sweep_with_azurite(ask, url, args.concurrency)

        ask("reset")
        steady = _in_child(_sweep_child, url, args.concurrency, None)
        _print_sweep("(a'') second sweep, fleet already compliant (no audit store)", steady, ask("calls"))
        sys.stdout.flush()

        ids: list[str] = ask("ids")
        sample = ids[: args.naive_sample] if 0 < args.naive_sample < n else ids
        ask("reset")
        naive = _in_child(_naive_child, url, sample)
        naive_calls = ask("calls")
        naive_wall = naive["wall"] * n / len(sample)
        how = "measured" if len(sample) == n else f"EXTRAPOLATED from {len(sample)} GETs ({naive['wall']:.1f} s)"
        print("(b) naive loop: one pricings GET per subscription, sequential (no listing, no audit)")
        print(f"    wall {naive_wall:.1f} s ({how}); peak RSS {naive['rss_mb']:.0f} MB")
        print(f"    ARM calls received by the emulator: {_calls_text(naive_calls)}")
    finally:
        ask("stop")
        emulator.join()

    speedup = naive_wall / sweep_a["wall"]
    print()
    print(f"speed-up b/a: {speedup:.0f}x" + ("" if len(sample) == n else " (b extrapolated)"))
    print("targets for (a):")
    print(f"    >= {TARGET_SPEEDUP:.0f}x faster than (b): {speedup:.0f}x - {_verdict(speedup >= TARGET_SPEEDUP)}")
    print(
        f"    <= {TARGET_WALL_SECONDS:.0f} s wall: {sweep_a['wall']:.1f} s - "
        f"{_verdict(sweep_a['wall'] <= TARGET_WALL_SECONDS)}"
    )
    print(
        f"    <= {TARGET_RSS_MB:.0f} MB peak RSS: {sweep_a['rss_mb']:.0f} MB - "
        f"{_verdict(sweep_a['rss_mb'] <= TARGET_RSS_MB)}"
    )
    return 0


def _sweep_with_azurite(ask: Callable[[str], Any], url: str, concurrency: int) -> None:
    from enforcer.devtools.azurite import AzuriteError, AzuriteProcess

    try:
        azurite = AzuriteProcess().start()
    except AzuriteError as error:
        print(f"(a') sweep with the audit store: skipped, Azurite did not start ({error})")
        return
    try:
        ask("redrift")
        ask("reset")
        run = _in_child(_sweep_child, url, concurrency, azurite.connection_string)
        _print_sweep("(a') sweep, audit store on Azurite (same drift restored)", run, ask("calls"))
        records = run["timings"].get("records", 0.0)
        written = sum(run["summary"]["counts"].values())
        if records:
            print(f"    audit: {written} records in {records:.1f} s ({written / records:.0f} records/s)")
        sys.stdout.flush()
    finally:
        azurite.stop()


if __name__ == "__main__":
    sys.exit(main())
