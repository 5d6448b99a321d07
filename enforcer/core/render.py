"""Rendering outcomes for people (a table) and for machines (JSON), and the CLI's exit codes."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence

from enforcer.core.models import Outcome, OutcomeKind

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

# Worst first: failures, then changes, then the rest.
SEVERITY = {
    OutcomeKind.FAILED: 0,
    OutcomeKind.PARTIALLY_FAILED: 1,
    OutcomeKind.REJECTED: 2,
    OutcomeKind.REMEDIATED: 3,
    OutcomeKind.WOULD_REMEDIATE: 4,
    OutcomeKind.EXCLUDED: 5,
    OutcomeKind.IGNORED: 6,
    OutcomeKind.COMPLIANT: 7,
}


def exit_code(outcomes: Sequence[Outcome]) -> int:
    return EXIT_FAILED if any(o.outcome.is_failure for o in outcomes) else EXIT_OK


def outcomes_json(outcomes: Sequence[Outcome]) -> str:
    return json.dumps([o.to_dict() for o in outcomes], indent=2)


def _state_text(outcome: Outcome, which: str) -> str:
    state = outcome.before if which == "before" else outcome.after
    if state is None:
        return "-"
    on = [e.name for e in state.extensions if e.enabled]
    return f"{state.tier}" + (f" [{', '.join(on)}]" if on else "")


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def outcomes_table(outcomes: Sequence[Outcome], *, show_state: bool = False) -> str:
    """A readable table: one row per subscription, then the changes or the error under it."""
    rows = sorted(outcomes, key=lambda o: (SEVERITY.get(o.outcome, 9), o.subscription_id))
    header = f"{'SUBSCRIPTION':36}  {'NAME':18}  {'OUTCOME':16}  DETAIL"
    lines = [header, "-" * len(header)]
    for o in rows:
        if o.error:
            detail = o.error
        elif o.reason:
            detail = o.reason
        elif o.changes:
            detail = "; ".join(f"{c.field}: {c.before} -> {c.after}" for c in o.changes)
        else:
            detail = ""
        lines.append(
            f"{o.subscription_id:36}  {_clip(o.subscription_name or '', 18):18}  {o.outcome.value:16}  {detail}"
        )
        if show_state and (o.before or o.after):
            lines.append(f"{'':36}  {'':18}  {'':16}  before: {_state_text(o, 'before')}")
            lines.append(f"{'':36}  {'':18}  {'':16}  after:  {_state_text(o, 'after')}")
    return "\n".join(lines)


def summary_line(outcomes: Sequence[Outcome]) -> str:
    counts = Counter(o.outcome.value for o in outcomes)
    parts = [f"{counts[k.value]} {k.value}" for k in sorted(SEVERITY, key=SEVERITY.__getitem__) if counts[k.value]]
    return f"{len(outcomes)} subscription(s): " + (", ".join(parts) if parts else "nothing to do")
