"""The benchmark's child processes: the emulator host, one sweep, the naive loop (see benchmarks/__main__.py)."""

from __future__ import annotations

import resource
import time
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from localdev.emulator.management_groups import ManagementGroupTree


def emulator_host(
    conn: Connection,
    n: int,
    drift: float,
    seed: int,
    latency_ms: float,
    accounts: int = 0,
    accounts_disabled: float = 0.05,
    management_groups: bool = False,
) -> None:
    """Run the emulator and answer the parent's commands: url, ids, account_subs, calls, reset, redrift, throttle10,
    unthrottle, early, stop. `management_groups`: the fleet is dealt over a tree (see `seed_bench_tree`)."""
    from localdev.emulator import Emulator, FaultConfig
    from localdev.emulator.fleet import COMPLIANT, build_fleet

    emulator = Emulator(FaultConfig(latency_ms=latency_ms)).start()
    emulator.seed_fleet(n, drift, seed)
    ids = sorted(s.member.subscription_id for s in build_fleet(n, drift, seed))
    if management_groups:
        seed_bench_tree(emulator.management_groups, ids)
    # AI accounts spread evenly over the fleet (one subscription in n / accounts holds them), some opted out.
    holders = ids[:: max(1, n // accounts)] if accounts else []
    account_ids = emulator.cognitive.seed(holders, accounts, accounts_disabled, seed) if accounts else []
    disabled = [a for a in account_ids if emulator.cognitive.state(a) == "Disabled"]
    conn.send(emulator.url)
    while True:
        command = conn.recv()
        if command == "ids":
            conn.send(ids)
        elif command == "account_subs":
            conn.send(holders)
        elif command == "calls":
            conn.send(dict(emulator.calls))
        elif command == "reset":
            emulator.reset_calls()
            conn.send(None)
        elif command == "throttle10":
            # 10 % of calls answered 429 with Retry-After: 1 (issue 10).
            emulator.faults = FaultConfig(
                latency_ms=latency_ms, throttle_fraction=0.1, retry_after_seconds=1, seed=seed
            )
            conn.send(None)
        elif command == "unthrottle":
            emulator.faults = FaultConfig(latency_ms=latency_ms)
            conn.send(None)
        elif command == "early":
            conn.send(emulator.early_retries)
        elif command == "redrift":
            # The same drift as seeded, so that every sweep variant has the same work to do.
            drifted = [s for s in build_fleet(n, drift, seed) if s.member.drift_kind != COMPLIANT]
            for seeded in drifted:
                emulator.set_pricing(seeded.member.subscription_id, "AI", seeded.ai_pricing)
            for account in disabled:
                emulator.cognitive.set_state(account, "Disabled")
            conn.send(len(drifted))
        else:
            conn.send(None)
            break
    emulator.stop()


# The bench's tree: business units under the root, each with a prod and a dev group; subscriptions dealt in turn.
BENCH_BUSINESS_UNITS = 5


def bench_groups(unit: int) -> tuple[str, str, str]:
    """(business unit, its prod group, its dev group) names."""
    return f"mg-bu-{unit}", f"mg-bu-{unit}-prod", f"mg-bu-{unit}-dev"


def seed_bench_tree(tree: ManagementGroupTree, subscription_ids: list[str]) -> None:
    leaves: list[str] = []
    for unit in range(BENCH_BUSINESS_UNITS):
        bu, prod, dev = bench_groups(unit)
        tree.add(tree.root, bu)
        tree.add(bu, prod)
        tree.add(bu, dev)
        leaves += [prod, dev]
    for index, sub in enumerate(subscription_ids):
        tree.place(sub, leaves[index % len(leaves)])


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def sweep_child(
    conn: Connection, url: str, concurrency: int, storage: str | None, warm: bool = False, accounts: bool = False
) -> None:
    """One sweep in a fresh process. `warm`: as in a worker whose previous sweep (within the hour) listed the
    subscriptions API, which without an audit store only the process itself remembers. `accounts`: with the
    account pass (issue 13); without it, the subscription sweep alone (issue 11's figures)."""
    from datetime import UTC, datetime

    from enforcer.adapters.audit_store import AuditStore
    from enforcer.composition import build_services
    from enforcer.core.settings import Settings
    from enforcer.usecases.sweep import sweep
    from enforcer.usecases.sweep.model import FULL_LISTING_MARKER

    env = {
        "ENFORCER_ARM_ENDPOINT": url,
        "ENFORCER_SWEEP_CONCURRENCY": str(concurrency),
        "ENFORCER_ACCOUNT_PROTECTION": "on" if accounts else "unmanaged",
    }
    if storage:
        env.update(ENFORCER_STORAGE=storage, ENFORCER_AUDIT_TABLE="BenchAudit", ENFORCER_RUNS_TABLE="BenchRuns")
    settings = Settings.from_env(env)
    audit = AuditStore.from_settings(settings)
    services = build_services(settings, audit=audit)
    if warm:
        services.sweep_memory[FULL_LISTING_MARKER] = datetime.now(UTC).isoformat()
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
            # Table operations sent (transactions, single writes, query pages) and rows written.
            "table_operations": audit.operations if audit is not None else 0,
            "rows_written": audit.rows_written if audit is not None else 0,
            "history_rows": sum(1 for o in result.outcomes if o.outcome.needs_attention or o.new_subscription),
        }
    )


def naive_child(conn: Connection, url: str, ids: list[str]) -> None:
    from enforcer.adapters.arm import ArmGateway

    with ArmGateway(url) as arm:
        started = time.perf_counter()
        for sub in ids:
            arm.get_pricing(sub)
        wall = time.perf_counter() - started
    conn.send({"wall": wall, "rss_mb": _peak_rss_mb()})
