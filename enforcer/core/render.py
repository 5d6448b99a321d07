"""Rendering outcomes and audit records for people (tables) and machines (JSON), and the CLI's exit codes."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from typing import Any

from enforcer.core.actors import actor_text
from enforcer.core.models import OUTCOME_ORDER, Outcome, OutcomeKind, PricingState, attention_rank
from enforcer.core.records import AuditRecord
from enforcer.core.text import clip, escape_control

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


def exit_code(outcomes: Sequence[Outcome]) -> int:
    return EXIT_FAILED if any(o.outcome.is_failure for o in outcomes) else EXIT_OK


def outcomes_json(outcomes: Sequence[Outcome]) -> str:
    return json.dumps([o.to_dict() for o in outcomes], indent=2)


def state_text(state: PricingState | None) -> str:
    """`Standard AIPromptEvidence=on AIModelScanner=off`, or `-` when unknown."""
    if state is None:
        return "-"
    return " ".join([state.tier, *(f"{e.name}={'on' if e.enabled else 'off'}" for e in state.extensions)])


def outcomes_table(outcomes: Sequence[Outcome], *, show_state: bool = False) -> str:
    """A readable table: one row per subscription, then the changes or the error under it."""
    rows = sorted(outcomes, key=lambda o: (attention_rank(o.outcome), o.subscription_id))
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
        if o.resource_id:  # an AI account's decision: name the account
            detail = f"{o.resource_id}: {detail}" if detail else o.resource_id
        # Names, reasons and errors come from outside: control characters (newlines, terminal escapes) shown as
        # `\n`, `\x1b`, so one row stays one line and cannot restyle or clear the terminal.
        name = clip(escape_control(o.subscription_name or ""), 18)
        if o.actor is not None:
            detail = f"{detail} [changed by {actor_text(o.actor)}]".lstrip()
        if o.rule is not None:  # issue 20: which desired-state rule decided
            detail = f"{detail} [rule: {o.rule}]".lstrip()
        lines.append(
            f"{escape_control(o.subscription_id):36}  {name:18}  {o.outcome.value:16}  {escape_control(detail)}"
        )
        if show_state and (o.before or o.after):
            lines.append(f"{'':36}  {'':18}  {'':16}  before: {escape_control(state_text(o.before))}")
            lines.append(f"{'':36}  {'':18}  {'':16}  after:  {escape_control(state_text(o.after))}")
    return "\n".join(lines)


def summary_line(outcomes: Sequence[Outcome], noun: str = "subscription") -> str:
    """`3 subscription(s): 1 failed, 2 compliant`; `noun` is what each outcome stands for (`event` for events)."""
    counts = Counter(o.outcome.value for o in outcomes)
    parts = [f"{counts[k.value]} {k.value}" for k in OUTCOME_ORDER if counts[k.value]]
    accounts = sum(1 for o in outcomes if o.resource_id)
    what = f"{len(outcomes)} {noun}(s)"
    if accounts:
        what = f"{len(outcomes) - accounts} {noun}(s) and {accounts} AI account(s)"
    return f"{what}: " + (", ".join(parts) if parts else "nothing to do")


# -- `status`: the latest record per subscription, failures first ---------------------------------------


def failures_first(records: Sequence[AuditRecord]) -> list[AuditRecord]:
    """Failures, then changes, then the rest; by subscription name (then id) within each kind."""
    return sorted(
        records,
        key=lambda r: (attention_rank(r.outcome), (r.subscription_name or "").lower(), r.subscription_id),
    )


def _pricing(data: dict[str, Any] | None) -> PricingState | None:
    return None if data is None else PricingState.from_dict(data)


def _detail(record: AuditRecord) -> str:
    if record.error:
        return record.error.splitlines()[0] if record.error.strip() else record.error
    if record.reason:
        return record.reason + _rule_suffix(record.rule)
    changes = record.change_list()
    if changes:
        return "; ".join(f"{c.field} {c.before}->{c.after}" for c in changes) + _rule_suffix(record.rule)
    return _rule_suffix(record.rule).lstrip()


def _rule_suffix(rule: str | None) -> str:
    """` [rule: <name>]` when a desired-state document decided (issue 20), else nothing."""
    return f" [rule: {rule}]" if rule is not None else ""


def _last_change(record: AuditRecord) -> str:
    """`<time> by <trigger>`, and who caused the drift it repaired when that is known (escaped: claims are text)."""
    actor = record.actor_value()
    caused = f", caused by {actor_text(actor)}" if actor is not None else ""
    if not record.last_changed:
        return f"-{caused}" if caused else "-"
    return f"{record.last_changed} by {record.last_change_trigger}{caused}"


def render_status(records: Sequence[AuditRecord], as_json: bool) -> str:
    """A text table (or a JSON array) of these records, failures first."""
    ordered = failures_first(records)
    if as_json:
        data = [r.to_dict() for r in ordered]
        text = json.dumps(data, indent=2, ensure_ascii=False)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # an unpaired surrogate from the store: \ud800 escapes keep the JSON printable
            text = json.dumps(data, indent=2)
        return text
    if not ordered:
        return "No audit records yet."
    header = ("OUTCOME", "SUBSCRIPTION", "ID", "VERIFIED", "LAST CHANGE", "BEFORE -> AFTER", "DETAIL")
    rows = [
        (
            r.outcome,
            r.subscription_name or "-",
            r.subscription_id,
            r.last_verified or r.started_at or r.recorded_at,
            _last_change(r),
            f"{state_text(_pricing(r.before_dict()))} -> {state_text(_pricing(r.after_dict()))}",
            _detail(r) + (f" [notification: {r.notification}]" if r.notification else ""),
        )
        for r in ordered
    ]
    cells = [[escape_control(cell) for cell in row] for row in rows]  # text from the store stays one line
    # Free text goes last, so the other columns stay aligned.
    widths = [max(len(row[i]) for row in (header, *cells)) for i in range(len(header) - 1)]
    lines = [
        "  ".join([*(cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])), row[-1]]).rstrip()
        for row in (header, *cells)
    ]
    failing = sum(1 for r in ordered if r.outcome in {k.value for k in OutcomeKind if k.is_failure})
    lines += ["", f"{len(ordered)} subscription(s), {failing} failing."]
    return "\n".join(lines)
