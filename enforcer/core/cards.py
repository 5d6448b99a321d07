"""Teams Adaptive Cards for outcomes and run digests (pure: dicts in, dicts out). Just over 300 lines: every card
kind, and the escaping of every untrusted value placed in them, in one file.

Schema version 1.4: Teams renders up to 1.5 in channels, but the Workflows action "Post card in a chat or
channel" shows anything above 1.4 as "this card couldn't be displayed" (microsoft/AdaptiveCards#8965,
MicrosoftDocs/msteams-docs#9801), so the cards use 1.4 elements only (TextBlock, FactSet, Container,
Action.OpenUrl). Every message is kept under Teams' 28 KB limit: lists end with "… and N more".

Teams renders Markdown in TextBlock and FactSet text, so every value that comes from outside (a subscription's
name, an event's fields, Azure's error text) goes through `md` (backslash escapes): it shows as typed and
never becomes a link.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Sequence
from typing import Any, Final
from urllib.parse import quote

from enforcer.core.account_cards import account_card_parts, account_digest_line
from enforcer.core.drift_cards import digest_actor, drift_line
from enforcer.core.models import OUTCOME_ORDER, Outcome, OutcomeKind, PricingState, RunSummary, Trigger, attention_rank
from enforcer.core.text import clip as clip_text
from enforcer.core.text import escape_markdown as md

ADAPTIVE_CARD_VERSION: Final = "1.4"
ADAPTIVE_CARD_SCHEMA: Final = "http://adaptivecards.io/schemas/adaptive-card.json"
ADAPTIVE_CARD_CONTENT_TYPE: Final = "application/vnd.microsoft.card.adaptive"
# Teams refuses messages over 28 KB; keep 1 KB of margin for what the connector adds.
MAX_MESSAGE_BYTES: Final = 28 * 1024
MESSAGE_BUDGET_BYTES: Final = MAX_MESSAGE_BYTES - 1024

PORTAL_ENVIRONMENT_SETTINGS: Final = (
    "https://portal.azure.com/#view/Microsoft_Azure_Security/SecurityMenuBlade/~/EnvironmentSettings"
)

_MAX_ERROR_CHARS: Final = 3000
_MAX_CHANGES: Final = 20
_MAX_DIGEST_LINE: Final = 300
_MAX_NOTES: Final = 5
_MAX_ID_CHARS: Final = 100
_FIX_MARKER: Final = re.compile(r"(?i)\b(?:suggested fix|how to fix|to fix this|fix)\s*:\s*")

_LABELS: Final = {
    OutcomeKind.FAILED: "Failed",
    OutcomeKind.PARTIALLY_FAILED: "Partially failed",
    OutcomeKind.REMEDIATED: "Remediated",
    OutcomeKind.WOULD_REMEDIATE: "Would remediate (audit mode)",
    OutcomeKind.EXCLUDED: "Excluded",
    OutcomeKind.COMPLIANT: "Compliant",
    OutcomeKind.REJECTED: "Rejected",
    OutcomeKind.IGNORED: "Ignored",
    OutcomeKind.WIRED: "Events wired",
    OutcomeKind.WOULD_WIRE: "Events would be wired (report)",
    OutcomeKind.ALREADY_WIRED: "Events already wired",
    OutcomeKind.WIRING_FAILED: "Event wiring failed",
    OutcomeKind.CONFLICT: "Tug of war: not restored by events",
}
_COLORS: Final = {
    OutcomeKind.CONFLICT: "Attention",
    OutcomeKind.WIRING_FAILED: "Attention",
    OutcomeKind.WIRED: "Good",
    OutcomeKind.WOULD_WIRE: "Warning",
    OutcomeKind.FAILED: "Attention",
    OutcomeKind.PARTIALLY_FAILED: "Warning",
    OutcomeKind.REMEDIATED: "Good",
    OutcomeKind.WOULD_REMEDIATE: "Warning",
}


def portal_link(subscription_id: str) -> str:
    """The Defender for Cloud "Defender plans" page (Environment settings) of one subscription."""
    return (
        "https://portal.azure.com/#view/Microsoft_Azure_Security/PolicyMenuBlade/~/pricingTier/subscriptionId/"
        + quote(subscription_id, safe="-")
    )


def serialize_message(message: dict[str, Any]) -> bytes:
    """The exact bytes posted to Teams (and measured against the size limit)."""
    return json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def teams_message(card: dict[str, Any]) -> dict[str, Any]:
    """The envelope accepted by both a Workflows webhook trigger and a legacy incoming webhook."""
    return {
        "type": "message",
        "attachments": [{"contentType": ADAPTIVE_CARD_CONTENT_TYPE, "contentUrl": None, "content": card}],
    }


def message_size(card: dict[str, Any]) -> int:
    return len(serialize_message(teams_message(card)))


def clip(text: str, limit: int) -> str:
    """Card text: surrounding white space dropped, then cut like every other text (`enforcer.core.text.clip`)."""
    return clip_text(text.strip(), limit)


def label(kind: OutcomeKind) -> str:
    return _LABELS.get(kind, kind.value)


def describe_trigger(trigger: Trigger) -> str:
    if trigger.kind == "event":
        return f"Event Grid event {trigger.type or '(no type)'} ({trigger.id})"
    if trigger.kind == "sweep":
        return f"Drift sweep {trigger.id}"
    if trigger.kind == "cli":
        return f"CLI run {trigger.id}"
    return f"{trigger.kind} {trigger.id}".strip()


def describe_state(state: PricingState | None) -> str:
    if state is None:
        return "unknown"
    extensions = ", ".join(f"{e.name} {'on' if e.enabled else 'off'}" for e in state.extensions)
    return f"{state.tier}" + (f" ({extensions})" if extensions else "")


def split_error(error: str) -> tuple[str, str | None]:
    """(error, suggested fix): the fix is the text after a "Fix:" / "Suggested fix:" marker, if any."""
    match = _FIX_MARKER.search(error)
    if not match or match.start() == 0:
        return error.strip(), None
    return error[: match.start()].strip(), error[match.end() :].strip() or None


def _text(text: str, **style: Any) -> dict[str, Any]:
    return {"type": "TextBlock", "text": text, "wrap": True, **style}


def _facts(pairs: Sequence[tuple[str, str]]) -> dict[str, Any]:
    return {"type": "FactSet", "facts": [{"title": t, "value": v} for t, v in pairs]}


def _card(body: list[dict[str, Any]], actions: list[dict[str, Any]]) -> dict[str, Any]:
    card: dict[str, Any] = {
        "type": "AdaptiveCard",
        "$schema": ADAPTIVE_CARD_SCHEMA,
        "version": ADAPTIVE_CARD_VERSION,
        "msteams": {"width": "Full"},
        "body": body,
    }
    if actions:
        card["actions"] = actions
    return card


def _open_url(title: str, url: str) -> dict[str, Any]:
    return {"type": "Action.OpenUrl", "title": title, "url": url}


def _title(outcome: Outcome) -> str:
    name = md(outcome.subscription_name or outcome.subscription_id)
    kind = outcome.outcome
    if kind is OutcomeKind.REMEDIATED:
        return f"Defender for AI enforced on {name}"
    if kind is OutcomeKind.WOULD_REMEDIATE:
        return f"Audit mode: Defender for AI would be enforced on {name}"
    if kind is OutcomeKind.FAILED:
        return f"Defender for AI enforcement failed on {name}"
    if kind is OutcomeKind.PARTIALLY_FAILED:
        return f"Defender for AI enforced on {name}, with errors"
    if kind is OutcomeKind.CONFLICT:
        return f"Tug of war over Defender for AI on {name}"
    return f"{label(kind)}: {name}"


def _rule_facts(outcome: Outcome) -> list[tuple[str, str]]:
    """The desired-state rule that decided, and the document's version, when a document is in use."""
    if outcome.rule is None:
        return []
    return [("Desired-state rule", md(clip(f"{outcome.rule} (document {outcome.desired_state_hash})", 300)))]


def outcome_card(outcome: Outcome) -> dict[str, Any]:
    """One card for one outcome: who, what triggered it, what changed (before → after), the error and fix."""
    attribution = drift_line(outcome)
    if outcome.is_account:
        parts = split_error(outcome.error) if outcome.error else None
        account_body, account_actions = account_card_parts(
            outcome, label(outcome.outcome), describe_trigger(outcome.trigger), parts, _rule_facts(outcome)
        )
        if attribution is not None:
            account_body.insert(1, _text(attribution))
        return fit_card(_card(account_body, account_actions))
    kind = outcome.outcome
    body: list[dict[str, Any]] = [
        _text(_title(outcome), weight="Bolder", size="Medium", color=_COLORS.get(kind, "Default")),
    ]
    if attribution is not None:
        body.append(_text(attribution))
    facts = [
        ("Subscription", md(outcome.subscription_name) if outcome.subscription_name else "(name unknown)"),
        ("Subscription ID", md(clip(outcome.subscription_id, _MAX_ID_CHARS))),
        ("Outcome", label(kind)),
        ("Mode", outcome.mode.value),
        ("Trigger", md(describe_trigger(outcome.trigger))),
    ]
    if outcome.started_at:
        facts.append(("Time (UTC)", md(outcome.started_at)))
    if outcome.new_subscription:
        facts.append(("New subscription", "yes"))
    if outcome.reason:
        facts.append(("Reason", md(clip(outcome.reason, 500))))
    facts += _rule_facts(outcome)
    body.append(_facts(facts))

    if outcome.before is not None or outcome.after is not None:
        body.append(_text("State", weight="Bolder", spacing="Medium"))
        body.append(
            _facts([("Before", md(describe_state(outcome.before))), ("After", md(describe_state(outcome.after)))])
        )
    if outcome.changes:
        shown = outcome.changes[:_MAX_CHANGES]
        heading = "Changes" if kind is not OutcomeKind.WOULD_REMEDIATE else "Changes it would make"
        body.append(_text(heading, weight="Bolder", spacing="Medium"))
        body.append(_facts([(md(clip(c.field, 100)), md(clip(f"{c.before} → {c.after}", 200))) for c in shown]))
        if len(outcome.changes) > len(shown):
            body.append(_text(f"… and {len(outcome.changes) - len(shown)} more", isSubtle=True))
    if outcome.error:
        error, fix = split_error(outcome.error)
        kind_note = f" ({outcome.error_kind.value})" if outcome.error_kind else ""
        # Without a "Fix:" marker the advice is part of the error text (the classifier writes it there).
        heading = "Error" if fix else "Error and suggested fix"
        body.append(_text(f"{heading}{kind_note}", weight="Bolder", color="Attention", spacing="Medium"))
        body.append(_text(md(clip(error, _MAX_ERROR_CHARS))))
        if fix:
            body.append(_text("Suggested fix", weight="Bolder", spacing="Medium"))
            body.append(_text(md(clip(fix, _MAX_ERROR_CHARS))))
    # An id that long is not a subscription id (a rejected event's garbage): no link to build from it.
    link_ok = 0 < len(outcome.subscription_id) <= _MAX_ID_CHARS
    actions = [_open_url("Open Defender plans", portal_link(outcome.subscription_id))] if link_ok else []
    return fit_card(_card(body, actions))


def _digest_line(outcome: Outcome) -> str:
    if outcome.is_account:
        first = split_error(outcome.error)[0].splitlines()[0] if outcome.error and outcome.error.strip() else ""
        return account_digest_line(outcome, label(outcome.outcome), first)
    name = outcome.subscription_name or outcome.subscription_id
    head = f"**{label(outcome.outcome)}** · {md(name)} ({md(outcome.subscription_id)})"
    if outcome.error:
        detail = split_error(outcome.error)[0].splitlines()[0] if outcome.error.strip() else ""
    elif outcome.changes:
        detail = "; ".join(f"{c.field} {c.before} → {c.after}" for c in outcome.changes)
    else:
        detail = outcome.reason or ""
    if outcome.rule is not None:
        detail = f"{detail} (rule {outcome.rule})".lstrip()
    return clip(f"{head}: {md(detail)}" if detail else head, _MAX_DIGEST_LINE)


def needs_digest(outcomes: Sequence[Outcome]) -> bool:
    return any(o.outcome.is_change or o.outcome.is_failure for o in outcomes)


def digest_card(summary: RunSummary, outcomes: Sequence[Outcome]) -> dict[str, Any]:
    """One card per run: counts by outcome, then the changed and failed subscriptions, worst first."""
    counts = dict(summary.counts)
    if not counts:
        for o in outcomes:
            counts[o.outcome.value] = counts.get(o.outcome.value, 0) + 1
    failures = sum(counts.get(k.value, 0) for k in OutcomeKind if k.is_failure)
    kind_name = {"sweep": "drift sweep", "event": "event batch", "cli": "CLI run"}.get(summary.kind, summary.kind)
    header = f"Defender for AI enforcement: {md(kind_name)} {md(summary.run_id)}"
    body: list[dict[str, Any]] = [
        _text(header, weight="Bolder", size="Medium", color="Attention" if failures else "Default"),
    ]
    facts = [(label(k), str(counts[k.value])) for k in OUTCOME_ORDER if counts.get(k.value)]
    facts += [(md(k), str(v)) for k, v in counts.items() if k not in {o.value for o in OutcomeKind}]
    facts += [("Mode", summary.mode.value), ("Started (UTC)", md(summary.started_at or "-"))]
    facts.append(("Duration", f"{summary.duration_ms / 1000:.1f} s"))
    if summary.new_subscriptions:
        facts.append(("New subscriptions", str(summary.new_subscriptions)))
    if not summary.complete:
        facts.append(
            (
                "Complete",
                "no: the next run continues" + (" after " + md(summary.resume_after) if summary.resume_after else ""),
            )
        )
    body.append(_facts(facts))
    for note in summary.notes[:_MAX_NOTES]:
        body.append(_text(md(clip(note, _MAX_DIGEST_LINE)), isSubtle=True))
    if len(summary.notes) > _MAX_NOTES:
        body.append(_text(f"… and {len(summary.notes) - _MAX_NOTES} more notes", isSubtle=True))

    attention = sorted(
        (o for o in outcomes if o.outcome.needs_attention),
        key=lambda o: (attention_rank(o.outcome.value), (o.subscription_name or "").lower(), o.subscription_id),
    )
    lines = [_digest_line(o) + digest_actor(o) for o in attention]
    actions = [_open_url("Open Defender for Cloud environment settings", PORTAL_ENVIRONMENT_SETTINGS)]

    def build(shown: int) -> dict[str, Any]:
        items = [_text(line, spacing="Small") for line in lines[:shown]]
        if shown < len(lines):
            items.append(_text(f"… and {len(lines) - shown} more (see `python -m enforcer status`)", isSubtle=True))
        section = [_text("Needs attention", weight="Bolder", spacing="Medium"), *items] if lines else []
        return _card([*body, *section], actions)

    # The largest number of lines that fits (size grows with the number shown).
    low, high = 0, len(lines)
    while low < high:
        middle = (low + high + 1) // 2
        if message_size(build(middle)) <= MESSAGE_BUDGET_BYTES:
            low = middle
        else:
            high = middle - 1
    return fit_card(build(low))


_TEXT_KEYS: Final = ("text", "value", "title")


def _clip_strings(node: Any, limit: int) -> Any:
    if isinstance(node, dict):
        return {
            k: clip(v, limit) if k in _TEXT_KEYS and isinstance(v, str) else _clip_strings(v, limit)
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_clip_strings(item, limit) for item in node]
    return node


def fit_card(card: dict[str, Any]) -> dict[str, Any]:
    """The card itself if its message fits the budget; otherwise a copy with shorter texts, then fewer
    body elements, so that any input (a huge error, a very long name) still yields a postable message."""
    if message_size(card) <= MESSAGE_BUDGET_BYTES:
        return card
    for limit in (2000, 1000, 500, 200, 100):
        clipped = _clip_strings(card, limit)
        if message_size(clipped) <= MESSAGE_BUDGET_BYTES:
            return dict(clipped)
    trimmed = copy.deepcopy(_clip_strings(card, 100))
    body: list[dict[str, Any]] = trimmed["body"]
    kept = list(body)
    while len(kept) > 1:
        kept.pop()
        trimmed["body"] = [*kept, _text(f"… and {len(body) - len(kept)} more", isSubtle=True)]
        if message_size(trimmed) <= MESSAGE_BUDGET_BYTES:
            break
    return dict(trimmed)


def notice_card(title: str, lines: Sequence[str], facts: Sequence[tuple[str, str]] = ()) -> dict[str, Any]:
    """A card that is not about one decision (doctor's test card, the daily catalogue notice). `lines` and
    `facts` are escaped here: they may hold names Azure returned."""
    body = [_text(md(title), weight="Bolder", size="Medium")]
    body += [_text(md(line)) for line in lines]
    if facts:
        body.append(_facts([(md(t), md(v)) for t, v in facts]))
    return fit_card(_card(body, []))
