"""The drift sweep: re-check every subscription in scope, repair drift, and record the run (plan, execute, run).

1. Inventory: the subscriptions API lists every subscription the identity can see; ENFORCER_SUBSCRIPTIONS,
   ENFORCER_EXCLUDE_SUBSCRIPTIONS, the exempt tag and read-only states (Disabled/Deleted) decide the scope.
   Ids missing from the stored inventory are new: they are enforced first and reported as new.
2. Fast path: Azure Resource Graph answers the AI plan's pricing for up to 1,000 subscriptions per query.
   Rows that are compliant are recorded as such without an ARM call; rows that need a change and
   subscriptions without a row are candidates. Resource Graph can lag, so each candidate goes through
   `Enforcer.enforce`, whose ARM GET confirms it before any PUT. A batch whose query fails falls back to
   direct GETs, and the run summary says so.
3. Limits: bounded concurrency (ENFORCER_SWEEP_CONCURRENCY); one subscription is handled once per sweep and
   the Enforcer's per-subscription lock keeps writes apart; throttling is azure-core's Retry-After handling.
   Subscriptions are handled in a stable (sorted) order; when the time budget is spent no new work starts,
   work in flight finishes, and the run records the last id it finished so the next sweep starts after it.
4. Every decision is written to the audit store (in concurrent chunks), then the run summary, then one
   digest card when anything changed or failed.
"""

from enforcer.usecases.sweep.model import COMPLIANT_PER_GRAPH, DRY_RUN_KIND, SWEEP_KIND, SweepError, SweepResult
from enforcer.usecases.sweep.run import run_sweep, sweep

__all__ = ["COMPLIANT_PER_GRAPH", "DRY_RUN_KIND", "SWEEP_KIND", "SweepError", "SweepResult", "run_sweep", "sweep"]
