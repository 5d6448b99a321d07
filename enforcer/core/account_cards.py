"""Teams card parts for one AI account's decision (Outcome.resource_id set): its own card and its digest line.

Kept apart from core/cards.py, which calls in here for account outcomes (passing its label, trigger text and split
error, and fitting the result to the size limit); the same 1.4 elements. Like there, every text from outside (names,
ids, reasons, errors, the trigger) is Markdown-escaped here, at the point it enters the card.
"""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import quote

from enforcer.core.accounts import parse_account_id
from enforcer.core.models import Outcome, OutcomeKind
from enforcer.core.text import clip, escape_control
from enforcer.core.text import escape_markdown as md

_MAX_ERROR_CHARS: Final = 3000
_MAX_DIGEST_LINE: Final = 300
_COLORS: Final = {
    OutcomeKind.FAILED: "Attention",
    OutcomeKind.PARTIALLY_FAILED: "Warning",
    OutcomeKind.REMEDIATED: "Good",
    OutcomeKind.WOULD_REMEDIATE: "Warning",
}


def account_portal_link(resource_id: str) -> str:
    """The account's page in the Azure portal."""
    return "https://portal.azure.com/#resource" + quote(resource_id, safe="/-_.()")


def account_name(outcome: Outcome) -> str:
    """The account's name as card Markdown. An id that cannot be read as an account id (reported "not readable") is
    shown whole, its control characters escaped."""
    account = parse_account_id(outcome.resource_id or "")
    return md(
        account.name if account is not None else clip(escape_control(outcome.resource_id or "(unknown account)"), 100)
    )


def _report_only(outcome: Outcome) -> bool:
    return "ENFORCER_ACCOUNT_PROTECTION=report" in (outcome.reason or "")


def account_title(outcome: Outcome, kind_label: str) -> str:
    name = account_name(outcome)
    kind = outcome.outcome
    if kind is OutcomeKind.REMEDIATED:
        return f"Defender for AI enabled on AI account {name}"
    if kind is OutcomeKind.WOULD_REMEDIATE:
        if _report_only(outcome):
            return f"Report: Defender for AI is {md(outcome.account_before or 'not enabled')} on AI account {name}"
        return f"Audit mode: Defender for AI would be enabled on AI account {name}"
    if kind is OutcomeKind.FAILED:
        return f"Enabling Defender for AI failed on AI account {name}"
    return f"{kind_label}: AI account {name}"


def _text(text: str, **style: Any) -> dict[str, Any]:
    return {"type": "TextBlock", "text": text, "wrap": True, **style}


def account_card_parts(
    outcome: Outcome,
    kind_label: str,
    trigger_text: str,
    error: tuple[str, str | None] | None,
    rule_facts: list[tuple[str, str]],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(body, actions) of an account's card; `error` is core/cards.split_error of the outcome's error and
    `rule_facts` the desired-state rule as core/cards shows it (already card Markdown)."""
    kind = outcome.outcome
    facts = [
        ("AI account", account_name(outcome)),
        ("Resource ID", md(clip(escape_control(outcome.resource_id or ""), 300))),
        ("Subscription", md(outcome.subscription_name or outcome.subscription_id)),
        ("Outcome", "Reported (not changed)" if _report_only(outcome) and kind.is_change else kind_label),
        ("Defender for AI before", md(outcome.account_before or "unknown")),
        ("Defender for AI after", md(outcome.account_after or "unknown")),
        ("Mode", outcome.mode.value),
        ("Trigger", md(trigger_text)),
    ]
    if outcome.started_at:
        facts.append(("Time (UTC)", md(outcome.started_at)))
    if outcome.reason:
        facts.append(("Reason", md(clip(outcome.reason, 500))))
    facts += rule_facts
    body: list[dict[str, Any]] = [
        _text(account_title(outcome, kind_label), weight="Bolder", size="Medium", color=_COLORS.get(kind, "Default")),
        {"type": "FactSet", "facts": [{"title": t, "value": v} for t, v in facts]},
    ]
    if error is not None:
        error_text, fix = error
        body.append(_text("Error" if fix else "Error and suggested fix", weight="Bolder", color="Attention"))
        body.append(_text(md(clip(error_text, _MAX_ERROR_CHARS))))
        if fix:
            body.append(_text("Suggested fix", weight="Bolder", spacing="Medium"))
            body.append(_text(md(clip(fix, _MAX_ERROR_CHARS))))
    actions: list[dict[str, Any]] = []
    if outcome.resource_id and len(outcome.resource_id) <= 400:
        link = account_portal_link(outcome.resource_id)
        actions.append({"type": "Action.OpenUrl", "title": "Open AI account", "url": link})
    return body, actions


def account_digest_line(outcome: Outcome, kind_label: str, error_first_line: str) -> str:
    head = f"**{kind_label}** · AI account {account_name(outcome)} ({md(outcome.subscription_id)})"
    if outcome.error:
        detail = error_first_line
    elif outcome.changes:
        detail = "; ".join(f"{c.field} {c.before} → {c.after}" for c in outcome.changes)
        if _report_only(outcome):
            detail += " (reported, not changed)"
    else:
        detail = outcome.reason or ""
    return clip(f"{head}: {md(detail)}" if detail else head, _MAX_DIGEST_LINE)
