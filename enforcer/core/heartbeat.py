"""The Teams heartbeat: "all N compliant, checked at …" when a sweep changed nothing, at most every few hours.

Digests are posted only when something changed or failed, so an empty channel looks the same whether the fleet
is compliant or the enforcer stopped. The heartbeat makes silence meaningful. Pure: the use case decides when
(from the last heartbeat recorded in the runs table) and sends.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Final

from enforcer.core.cards import ADAPTIVE_CARD_SCHEMA, ADAPTIVE_CARD_VERSION, PORTAL_ENVIRONMENT_SETTINGS, fit_card
from enforcer.core.health import parse_time
from enforcer.core.models import OutcomeKind, RunSummary

# The runs-table partition where each heartbeat sent is recorded (its time is the last heartbeat's).
HEARTBEAT_KIND: Final = "heartbeat"


def is_quiet(summary: RunSummary) -> bool:
    """Nothing changed, nothing failed, and at least one subscription was checked."""
    attention = sum(summary.counts.get(k.value, 0) for k in OutcomeKind if k.needs_attention)
    return attention == 0 and sum(summary.counts.values()) > 0


def heartbeat_due(last: RunSummary | None, now: datetime, hours: int) -> bool:
    """True when heartbeats are on (`hours` > 0) and none was sent in the last `hours`."""
    if hours <= 0:
        return False
    sent = parse_time(last.started_at) if last is not None else None
    return sent is None or now - sent >= timedelta(hours=hours)


def heartbeat_text(summary: RunSummary, checked_at: str) -> str:
    compliant = summary.counts.get(OutcomeKind.COMPLIANT.value, 0)
    excluded = summary.counts.get(OutcomeKind.EXCLUDED.value, 0)
    text = f"All {compliant} subscription(s) compliant, checked at {checked_at}"
    if excluded:
        text += f" ({excluded} excluded)"
    if not summary.complete:
        text += "; the sweep ran out of time and the next one checks the rest"
    return text + "."


def heartbeat_card(summary: RunSummary, text: str) -> dict[str, Any]:
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": "Defender for AI enforcement: heartbeat", "weight": "Bolder", "wrap": True},
        {"type": "TextBlock", "text": text, "wrap": True},
        {"type": "TextBlock", "text": f"Sweep {summary.run_id}, mode {summary.mode.value}", "isSubtle": True},
    ]
    return fit_card(
        {
            "type": "AdaptiveCard",
            "$schema": ADAPTIVE_CARD_SCHEMA,
            "version": ADAPTIVE_CARD_VERSION,
            "msteams": {"width": "Full"},
            "body": body,
            "actions": [
                {
                    "type": "Action.OpenUrl",
                    "title": "Open Defender for Cloud environment settings",
                    "url": PORTAL_ENVIRONMENT_SETTINGS,
                }
            ],
        }
    )
