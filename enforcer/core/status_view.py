"""`python -m enforcer status`: the latest outcome per subscription, failures first (pure rendering)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

from enforcer.core.models import OutcomeKind

if TYPE_CHECKING:
    from enforcer.adapters.audit_store import AuditRecord

# What needs attention first: failures, then changes, then the quiet outcomes.
OUTCOME_ORDER: Final[tuple[OutcomeKind, ...]] = (
    OutcomeKind.FAILED,
    OutcomeKind.PARTIALLY_FAILED,
    OutcomeKind.REMEDIATED,
    OutcomeKind.WOULD_REMEDIATE,
    OutcomeKind.EXCLUDED,
    OutcomeKind.COMPLIANT,
    OutcomeKind.REJECTED,
    OutcomeKind.IGNORED,
)


def attention_rank(outcome: str) -> int:
    """0 for the most urgent outcome kind; unknown kinds (from a newer writer) sort last."""
    try:
        return OUTCOME_ORDER.index(OutcomeKind(outcome))
    except ValueError:
        return len(OUTCOME_ORDER)


def failures_first(records: Sequence[AuditRecord]) -> list[AuditRecord]:
    """Failures, then changes, then the rest; by subscription name (then id) within each kind."""
    return sorted(
        records,
        key=lambda r: (attention_rank(r.outcome), (r.subscription_name or "").lower(), r.subscription_id),
    )


def _state_text(state: dict[str, object] | None) -> str:
    if not state:
        return "-"
    extensions = state.get("extensions") or {}
    parts = [str(state.get("tier", "?"))]
    if isinstance(extensions, dict):
        parts += [f"{name}={'on' if enabled else 'off'}" for name, enabled in extensions.items()]
    return " ".join(parts)


def _detail(record: AuditRecord) -> str:
    if record.error:
        return record.error.splitlines()[0] if record.error.strip() else record.error
    if record.reason:
        return record.reason
    changes = record.change_list()
    if changes:
        return "; ".join(f"{c.field} {c.before}->{c.after}" for c in changes)
    return ""


def render_status(records: Sequence[AuditRecord], as_json: bool) -> str:
    """A text table (or a JSON array) of these records, failures first."""
    ordered = failures_first(records)
    if as_json:
        return json.dumps([r.to_dict() for r in ordered], indent=2, ensure_ascii=False)
    if not ordered:
        return "No audit records yet."
    header = ("OUTCOME", "SUBSCRIPTION", "ID", "WHEN", "BEFORE -> AFTER", "DETAIL")
    rows = [
        (
            r.outcome,
            r.subscription_name or "-",
            r.subscription_id,
            r.started_at or r.recorded_at,
            f"{_state_text(r.before_dict())} -> {_state_text(r.after_dict())}",
            _detail(r) + (f" [notification: {r.notification}]" if r.notification else ""),
        )
        for r in ordered
    ]
    # Free text goes last, so the other columns stay aligned.
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header) - 1)]
    lines = [
        "  ".join([*(cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])), row[-1]]).rstrip()
        for row in (header, *rows)
    ]
    failing = sum(1 for r in ordered if r.outcome in (OutcomeKind.FAILED.value, OutcomeKind.PARTIALLY_FAILED.value))
    lines += ["", f"{len(ordered)} subscription(s), {failing} failing."]
    return "\n".join(lines)
