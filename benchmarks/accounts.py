"""`make bench` (d), issue 19: the account pass on a warm, recorded fleet, and account-setting reads per day.

Two figures, on the emulator fleet of benchmarks/__main__.py with the audit store on Azurite:

- the sweep with the account pass (--accounts accounts, every one recorded as verified `Enabled` by the sweep
  before) next to the same sweep without accounts, both on the compliant fleet: target <= 1.2x;
- a simulated day at the 5-minute schedule: 288 account passes with the clock advanced 5 minutes each time, every
  pass's outcomes recorded as the sweep records them (with the simulated time), and a few accounts switched to
  `Disabled` by "someone else" (a PUT through the API) during the day. The GETs the emulator served are counted:
  target <= the number of accounts plus the changes.

Nothing is asserted; the figures are printed with their targets.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

TARGET_RATIO = 1.2
SWEEPS_PER_DAY = 288
SCHEDULE_MINUTES = 5


def account_day_child(
    conn: Connection, url: str, concurrency: int, storage: str, subs: list[str], changes: int
) -> None:
    """The simulated day in a fresh process (see the module docstring); sends the figures back."""
    from datetime import UTC, datetime, timedelta

    from enforcer.adapters.audit_store import AuditStore
    from enforcer.composition import build_services
    from enforcer.core.models import Mode, Outcome, OutcomeKind, Trigger, utc_iso
    from enforcer.core.settings import Settings
    from enforcer.usecases.account_listing import list_accounts
    from enforcer.usecases.protect_accounts import account_pass

    settings = Settings.from_env(
        {
            "ENFORCER_ARM_ENDPOINT": url,
            "ENFORCER_SWEEP_CONCURRENCY": str(concurrency),
            "ENFORCER_ACCOUNT_PROTECTION": "on",
            "ENFORCER_STORAGE": storage,
            "ENFORCER_AUDIT_TABLE": "BenchAudit",
            "ENFORCER_RUNS_TABLE": "BenchRuns",
        }
    )
    audit = AuditStore.from_settings(settings)
    assert audit is not None
    services = build_services(settings, audit=audit)
    assert services.accounts is not None
    plan = [
        Outcome(subscription_id=s, outcome=OutcomeKind.COMPLIANT, trigger=Trigger("sweep", "day"), mode=Mode.ENFORCE)
        for s in subs
    ]
    start = datetime.now(UTC)
    targets = [a.resource_id for a in list_accounts(services, settings, subs).accounts]
    rng = random.Random(7)
    # The accounts someone else switches off during the day, and the sweep (1 .. 288) before which they do.
    switched = {
        step: rid
        for step, rid in zip(
            rng.sample(range(1, SWEEPS_PER_DAY + 1), changes), rng.sample(targets, changes), strict=True
        )
    }
    conn.send("ready")
    assert conn.recv() == "go"  # the parent resets the emulator's counters first
    walls: list[float] = []
    outcomes = 0
    for step in range(1, SWEEPS_PER_DAY + 1):
        now = start + timedelta(minutes=SCHEDULE_MINUTES * step)
        if step in switched:
            services.accounts.put_setting(switched[step], "Disabled")
        began = time.perf_counter()
        result = account_pass(services, settings, Trigger("sweep", f"day-{step}"), plan, now=now)
        for outcome in result.outcomes:  # recorded at the simulated time, as the sweep would have recorded it
            outcome.started_at = utc_iso(now)
        audit.record_current(result.outcomes)
        walls.append(time.perf_counter() - began)
        outcomes += len(result.outcomes)
    services.close()
    walls.sort()
    conn.send(
        {
            "accounts": len(targets),
            "changes": changes,
            "decided": outcomes,
            "median_pass": walls[len(walls) // 2],
            "max_pass": walls[-1],
        }
    )


def run(
    ask: Callable[[str], Any],
    in_child: Callable[..., dict[str, Any]],
    print_sweep: Callable[[str, dict[str, Any], dict[str, int]], None],
    url: str,
    concurrency: int,
    storage: str,
    accounts: int,
) -> None:
    """Print (d) on the warm, recorded fleet and the simulated day; the fleet is compliant when this starts."""
    import multiprocessing as mp

    from benchmarks.workers import sweep_child

    ask("reset")
    recording = in_child(sweep_child, url, concurrency, storage, True, True)
    print_sweep(
        f"(d1) sweep with the account pass and the audit store: records {accounts} accounts", recording, ask("calls")
    )
    ask("reset")
    without = in_child(sweep_child, url, concurrency, storage, True, False)
    print_sweep("(d-) the same sweep without the account pass (compliant fleet, audit store)", without, ask("calls"))
    ask("reset")
    warm = in_child(sweep_child, url, concurrency, storage, True, True)
    print_sweep(f"(d) sweep with the account pass, {accounts} accounts recorded as verified (warm)", warm, ask("calls"))
    ratio = warm["wall"] / without["wall"]
    print(
        f"    target: <= {TARGET_RATIO:g}x the sweep without accounts: {warm['wall']:.2f} s vs {without['wall']:.2f} s "
        f"= {ratio:.2f}x - {'met' if ratio <= TARGET_RATIO else 'NOT met'}"
    )

    subs: list[str] = ask("account_subs")
    parent, child = mp.Pipe()
    process = mp.get_context("spawn").Process(
        target=account_day_child, args=(child, url, concurrency, storage, subs, max(1, accounts // 100))
    )
    process.start()
    assert parent.recv() == "ready"
    ask("reset")
    parent.send("go")
    day: dict[str, Any] = parent.recv()
    process.join()
    calls = ask("calls")
    gets = calls.get("cognitive.defenderforai.get", 0)
    budget = day["accounts"] + day["changes"]
    print(
        f"account-setting reads in a simulated day ({SWEEPS_PER_DAY} account passes {SCHEDULE_MINUTES} min apart, "
        f"clock advanced; {day['changes']} account(s) switched to Disabled by someone else during the day):"
    )
    print(
        f"    {gets} setting GETs served by the emulator ({day['decided']} account decisions); target <= accounts + "
        f"changes = {day['accounts']} + {day['changes']} = {budget} - {'met' if gets <= budget else 'NOT met'} "
        f"(without an audit store: {day['accounts'] * SWEEPS_PER_DAY:,}); account pass median "
        f"{day['median_pass']:.2f} s, max {day['max_pass']:.2f} s"
    )
