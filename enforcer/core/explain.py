"""`explain`: why a subscription (and optionally one AI account) is configured the way it is (issue 20).

Pure: built from the facts, the document's resolution, and one read of the current state. The text form fits one
screen; the JSON form carries the same report. Names, tags and rule text come from outside: escaped on output.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from enforcer.core.accounts import AccountProtection, decide_account
from enforcer.core.decision import decide
from enforcer.core.desired_state import (
    ACCOUNT_FIELD,
    ANCESTRY_UNKNOWN,
    FIELDS,
    AccountResolution,
    Document,
    Resolution,
    ScopeMode,
    ancestry_unknown,
    deciding_rule,
)
from enforcer.core.models import Mode, PricingState, SubscriptionInfo
from enforcer.core.render import state_text
from enforcer.core.text import escape_control


@dataclass(frozen=True)
class AccountFacts:
    resource_id: str
    tags: dict[str, str]
    state: str | None  # its defenderForAISettings state, as read


def would_do(
    info: SubscriptionInfo, resolution: Resolution, document: Document, observed: PricingState, global_mode: Mode
) -> list[str]:
    """What the enforcer would do on the plan, in words (the decision the enforcer makes on these facts)."""
    if resolution.mode is ScopeMode.EXEMPT:
        return [f"nothing: exempt by rule {resolution.rule_for('mode')}"]
    remediation = decide(observed, resolution.desired_state(document))
    if remediation is None:
        return ["nothing: the plan is already in the desired state"]
    notes = []
    if resolution.plan_mode(global_mode) is Mode.AUDIT:
        verb = "report (audit mode, no write)"
    elif ancestry_unknown(document, info):
        verb, notes = "report", [ANCESTRY_UNKNOWN]
    else:
        verb = "write"
    return [f"{verb} {c.field}: {c.before} -> {c.after}" for c in remediation.changes] + notes


def explain_report(
    info: SubscriptionInfo,
    resolution: Resolution,
    document: Document,
    observed: PricingState,
    global_mode: Mode,
    account: tuple[AccountFacts, AccountResolution] | None = None,
) -> dict[str, Any]:
    report: dict[str, Any] = {
        "subscription_id": resolution.subscription_id,
        "subscription_name": info.display_name,
        "document": {"source": document.source or "(none: ENFORCER_* settings)", "hash": document.hash},
        "facts": {"tags": dict(info.tags), "management_groups": list(info.management_groups)},
        "matched": [
            {"rule": m.rule.name, "because": m.because, "sets": dict(m.rule.values)} for m in resolution.matched
        ],
        "winners": {f: {"value": resolution.values[f], "rule": resolution.winners[f]} for f in FIELDS},
        "desired": dict(resolution.values),
        "rule": deciding_rule(resolution, document),
        "current": observed.to_dict(),
        "would_do": would_do(info, resolution, document, observed, global_mode),
    }
    if account is not None:
        facts, decided = account
        decision = decide_account(facts.state, decided.protection)
        if decision.change is None:
            action = "nothing: protected" if decided.protection is not AccountProtection.UNMANAGED else "nothing"
        elif decision.write is None or resolution.plan_mode(global_mode) is Mode.AUDIT:
            action = f"report {decision.change.field}: {decision.change.before} -> {decision.change.after}"
        else:
            action = f"write {decision.change.field}: {decision.change.before} -> {decision.change.after}"
        report["account"] = {
            "resource_id": facts.resource_id,
            "tags": dict(facts.tags),
            "matched": [m.rule.name for m in decided.matched],
            "account_protection": {"value": decided.protection.value, "rule": decided.rule},
            "current": facts.state,
            "would_do": action,
        }
    return report


def explain_json(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2)


def explain_text(report: dict[str, Any]) -> str:
    """One screen: facts, matched rules in precedence order, winner per field, current state, what would happen."""
    e = escape_control
    doc = report["document"]
    name = report["subscription_name"] or "(name unknown)"
    lines = [
        f"subscription {e(report['subscription_id'])} ({e(name)})",
        f"document     {e(doc['source'])}" + (f" (hash {doc['hash']})" if doc["hash"] else ""),
        "tags         " + (", ".join(f"{e(k)}={e(v)}" for k, v in report["facts"]["tags"].items()) or "(none)"),
        "ancestry     " + (" > ".join(e(g) for g in report["facts"]["management_groups"]) or "(unknown)"),
        "",
        "matched rules, highest precedence first:",
    ]
    lines += [f"  {i}. {e(m['rule'])}  ({e(m['because'])})" for i, m in enumerate(report["matched"], 1)] or [
        "  (none: the default applies)"
    ]
    lines += ["", f"{'FIELD':30}  {'DESIRED':10}  RULE"]
    for field_name, field_winner in report["winners"].items():
        account_field = field_name == ACCOUNT_FIELD and "account" in report
        won = report["account"]["account_protection"] if account_field else field_winner
        lines.append(f"{field_name:30}  {won['value']:10}  {e(won['rule'])}")
    lines += ["", f"current      {e(state_text(PricingState.from_dict(report['current'])))}", "would do:"]
    lines += [f"  {e(step)}" for step in report["would_do"]]
    if "account" in report:
        account = report["account"]
        lines += [
            "",
            f"account      {e(account['resource_id'])}",
            "  tags       " + (", ".join(f"{e(k)}={e(v)}" for k, v in account["tags"].items()) or "(none)"),
            f"  current    {e(account['current'] or 'unknown')}",
            f"  would do   {e(account['would_do'])}",
        ]
    return "\n".join(lines)
