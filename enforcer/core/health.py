"""Is the enforcer working? A pure verdict from what the runs table says, the schedule and the time now.

`python -m enforcer health` and a monitoring probe use it: the enforcer is a function app in the customer's
tenant, and a timer that stopped firing, a lost role or a broken deployment must not look like a quiet,
compliant fleet. Everything here is pure: the caller reads the store and passes `now` (an injected clock).
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from enforcer.core.models import OutcomeKind, RunSummary

# A sweep is overdue after this many schedule intervals (one missed run can be a slow worker; three is not).
MISSED_INTERVALS: Final = 3
# A Teams card still waiting in the outbox after this long means notifications are not getting through.
OUTBOX_MAX_AGE: Final = timedelta(hours=1)

# NCRONTAB: {second} {minute} {hour} {day} {month} {day-of-week}
_FIELD_RANGES: Final = ((0, 59), (0, 59), (0, 23))


def _expand(field_text: str, low: int, high: int) -> list[int]:
    """The values one cron field (`*`, `5`, `1,2`, `1-5`, `*/15`, `10-50/20`) allows; ValueError otherwise."""
    values: set[int] = set()
    for part in field_text.split(","):
        base, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if step < 1:
            raise ValueError(f"step {step_text!r} must be at least 1")
        if base == "*":
            start, stop = low, high
        elif "-" in base:
            first, last = base.split("-", 1)
            start, stop = int(first), int(last)
        else:
            start = int(base)
            stop = high if step_text else start
        if not low <= start <= stop <= high:
            raise ValueError(f"{part!r} is outside {low}-{high}")
        values.update(range(start, stop + 1, step))
    return sorted(values)


def schedule_interval(schedule: str) -> timedelta:
    """The longest gap between two runs of a six-field NCRONTAB schedule (seconds, minutes and hours).

    The day, month and day-of-week fields must be `*`: a sweep that runs only on some days has no steady
    interval, and health would have to guess. Raises ValueError for what it cannot read.
    """
    return timedelta(seconds=max(schedule_gaps(schedule)))


def schedule_gaps(schedule: str) -> list[int]:
    """Seconds between consecutive runs of the schedule over one day (as `schedule_interval` reads it)."""
    fields_ = schedule.split()
    if len(fields_) != 6:
        raise ValueError(f"{schedule!r} is not a six-field NCRONTAB expression ({{second}} {{minute}} {{hour}} ...)")
    if any(f != "*" for f in fields_[3:]):
        raise ValueError(f"{schedule!r}: only schedules that run every day are supported (day fields must be *)")
    seconds, minutes, hours = (_expand(f, lo, hi) for f, (lo, hi) in zip(fields_[:3], _FIELD_RANGES, strict=True))
    firings = sorted(h * 3600 + m * 60 + s for h in hours for m in minutes for s in seconds)
    gaps = [b - a for a, b in itertools.pairwise(firings)]
    gaps.append(firings[0] + 86400 - firings[-1])  # from the last run of a day to the first of the next
    return gaps


def parse_time(iso: str) -> datetime | None:
    if not iso:
        return None
    try:
        moment = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class OutboxDepth:
    """Cards waiting to be posted to Teams: how many, and since when the oldest has waited."""

    pending: int = 0
    oldest_enqueued_at: str | None = None  # ISO 8601 UTC


@dataclass(frozen=True)
class HealthInput:
    """What the store says; `outbox` None means there is no outbox (nothing to check)."""

    last_sweep: RunSummary | None
    last_event: RunSummary | None = None
    outbox: OutboxDepth | None = None
    schema_version: str | None = None
    last_doctor: RunSummary | None = None  # the daily cheap checks (usecases/doctor.py)


@dataclass(frozen=True)
class Problem:
    what: str  # plainly, what is wrong
    todo: str  # what to do about it


@dataclass
class Health:
    healthy: bool
    checked_at: str
    max_sweep_age_seconds: float
    last_sweep: dict[str, Any] | None = None
    last_sweep_age_seconds: float | None = None
    last_failure: dict[str, Any] | None = None
    outbox: dict[str, Any] | None = None
    schema_version: str | None = None
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    last_doctor: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "healthy": self.healthy,
            "checked_at": self.checked_at,
            "max_sweep_age_seconds": self.max_sweep_age_seconds,
            "last_sweep": self.last_sweep,
            "last_sweep_age_seconds": self.last_sweep_age_seconds,
            "last_failure": self.last_failure,
            "outbox": self.outbox,
            "schema_version": self.schema_version,
            # Why it is unhealthy, in one line, for a probe that reads one field (the first problem).
            "reason": self.problems[0].what if self.problems else None,
            "problems": [{"what": p.what, "todo": p.todo} for p in self.problems],
            "warnings": list(self.warnings),
            "last_doctor": self.last_doctor,
        }


def _failures(summary: RunSummary) -> int:
    return sum(summary.counts.get(k.value, 0) for k in OutcomeKind if k.is_failure)


def _handled(summary: RunSummary) -> int:
    return sum(summary.counts.values())


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _minutes(delta: timedelta | float) -> str:
    seconds = delta.total_seconds() if isinstance(delta, timedelta) else delta
    return f"{seconds / 60:.0f} min" if seconds < 5400 else f"{seconds / 3600:.1f} h"


def _sweep_brief(summary: RunSummary) -> dict[str, Any]:
    return {
        "run_id": summary.run_id,
        "started_at": summary.started_at,
        "duration_ms": round(summary.duration_ms, 1),
        "complete": summary.complete,
        "counts": dict(summary.counts),
        "failures": _failures(summary),
    }


STORE_TODO: Final = (
    "check ENFORCER_STORAGE and ENFORCER_RUNS_TABLE, that the store answers, and that this identity may read the "
    "table (Storage Table Data Reader)"
)


def unreadable(reason: str, *, now: datetime, max_sweep_age: timedelta) -> Health:
    """The verdict when the runs table cannot be read (or the store is not configured): unhealthy, and why."""
    return Health(
        healthy=False,
        checked_at=_iso(now),
        max_sweep_age_seconds=max_sweep_age.total_seconds(),
        problems=[Problem(reason, STORE_TODO)],
    )


def assess(facts: HealthInput, *, now: datetime, max_sweep_age: timedelta) -> Health:
    """The verdict: unhealthy when no sweep finished within `max_sweep_age`, the last sweep could not start,
    or a Teams card has waited in the outbox longer than an hour. Failures of single subscriptions are
    reported (they have their own cards and audit records) but do not make the enforcer unhealthy."""
    health = Health(
        healthy=True,
        checked_at=_iso(now),
        max_sweep_age_seconds=max_sweep_age.total_seconds(),
        schema_version=facts.schema_version,
    )
    sweep = facts.last_sweep
    if sweep is None:
        health.problems.append(
            Problem(
                "no sweep has ever been recorded in the runs table",
                "check that the drift_sweep function is deployed and enabled, that ENFORCER_STORAGE and "
                "ENFORCER_RUNS_TABLE name the store the app writes to, and the app's logs in Application Insights",
            )
        )
    else:
        health.last_sweep = _sweep_brief(sweep)
        started = parse_time(sweep.started_at)
        if started is None:
            health.problems.append(
                Problem(
                    f"the last sweep ({sweep.run_id}) has no readable start time ({sweep.started_at!r})",
                    "run a sweep (`python -m enforcer sweep`) so that a new summary is recorded",
                )
            )
        else:
            finished = started + timedelta(milliseconds=sweep.duration_ms)
            age = now - finished
            health.last_sweep_age_seconds = round(age.total_seconds(), 1)
            if age > max_sweep_age:
                health.problems.append(
                    Problem(
                        f"the last sweep finished {_minutes(age)} ago ({_iso(finished)}), longer than "
                        f"{_minutes(max_sweep_age)}: enforcement has stopped",
                        "check that the function app is running and drift_sweep is enabled, the app's identity "
                        "still has Reader and the pricing role, the storage account is reachable, and the "
                        "exceptions in Application Insights",
                    )
                )
        if not sweep.complete and _handled(sweep) == 0:
            note = sweep.notes[0] if sweep.notes else "no subscription was handled"
            health.problems.append(
                Problem(
                    f"the last sweep ({sweep.run_id}) could not start: {note}",
                    "check the identity's Reader role on the subscriptions (or management group) in scope and "
                    "ENFORCER_ARM_ENDPOINT",
                )
            )
        elif not sweep.complete:
            health.warnings.append(
                f"the last sweep ran out of its time budget after {_handled(sweep)} subscription(s); the next "
                "one continues (raise ENFORCER_SWEEP_TIME_BUDGET_SECONDS or ENFORCER_SWEEP_CONCURRENCY if this "
                "persists)"
            )
    for run in (sweep, facts.last_event):
        if run is not None and _failures(run) and health.last_failure is None:
            health.last_failure = {"run_id": run.run_id, "kind": run.kind, "started_at": run.started_at}
            health.last_failure["failures"] = _failures(run)
            health.warnings.append(
                f"{_failures(run)} subscription(s) failed in {run.kind} run {run.run_id}; "
                "see `python -m enforcer status` for each error and what to do"
            )
    if facts.outbox is not None:
        health.outbox = {"pending": facts.outbox.pending, "oldest_enqueued_at": facts.outbox.oldest_enqueued_at}
        oldest = parse_time(facts.outbox.oldest_enqueued_at or "")
        if facts.outbox.pending and oldest is not None and now - oldest > OUTBOX_MAX_AGE:
            health.problems.append(
                Problem(
                    f"{facts.outbox.pending} Teams card(s) pending, the oldest for {_minutes(now - oldest)}",
                    "check ENFORCER_TEAMS_WEBHOOK_URL (the Workflows flow may be off or its URL rotated)",
                )
            )
    health.last_doctor = _doctor_brief(facts.last_doctor, now)
    if health.last_doctor is not None and health.last_doctor["status"] == "fail":
        health.warnings.append(
            f"the daily doctor checks failed: {health.last_doctor['summary']}; run `python -m enforcer doctor`"
        )
    health.healthy = not health.problems
    return health


def _doctor_brief(summary: RunSummary | None, now: datetime) -> dict[str, Any] | None:
    """The last daily doctor result: its one-line summary (`fail (extension catalogue=fail)`) and its age.
    A failed check warns; it does not make the enforcer unhealthy (the sweep still runs)."""
    if summary is None:
        return None
    started = parse_time(summary.started_at)
    line = summary.notes[0] if summary.notes else ""
    return {
        "status": line.split(" ", 1)[0] or "unknown",
        "summary": line,
        "checked_at": summary.started_at,
        "age_seconds": (now - started).total_seconds() if started is not None else None,
    }


def render_health(health: Health, *, as_json: bool) -> str:
    if as_json:
        return json.dumps(health.to_dict(), indent=2)
    lines = [f"{'healthy' if health.healthy else 'UNHEALTHY'} (checked at {health.checked_at})"]
    if health.last_sweep is not None:
        age = health.last_sweep_age_seconds
        lines.append(
            f"last sweep: {health.last_sweep['run_id']} started {health.last_sweep['started_at']}"
            + (f", finished {_minutes(age)} ago" if age is not None else "")
            + f" (allowed: {_minutes(health.max_sweep_age_seconds)}), "
            + ("complete" if health.last_sweep["complete"] else "incomplete")
        )
    if health.last_failure is not None:
        lines.append(
            f"last failure: {health.last_failure['failures']} in {health.last_failure['kind']} run "
            f"{health.last_failure['run_id']} ({health.last_failure['started_at']})"
        )
    lines.append(
        "outbox: none"
        if health.outbox is None
        else f"outbox: {health.outbox['pending']} card(s) pending, oldest since {health.outbox['oldest_enqueued_at']}"
    )
    lines.append(f"schema version: {health.schema_version or 'not recorded'}")
    if health.last_doctor is not None:
        age = health.last_doctor["age_seconds"]
        lines.append(
            f"daily doctor checks: {health.last_doctor['summary']}"
            + (f", {_minutes(age)} ago" if age is not None else "")
        )
    for problem in health.problems:
        lines.append(f"problem: {problem.what}")
        lines.append(f"  what to do: {problem.todo}")
    lines.extend(f"warning: {w}" for w in health.warnings)
    return "\n".join(lines)
