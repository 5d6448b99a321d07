"""A change to the desired-state document is itself an event (issue 20): what changed, and whom it affects.

Pure. The sweep keeps the last document it enforced as a marker in the runs table (`snapshot`); the first sweep
after a change compares (`document_change`), sends one card (`change_card`) and says in its digest that the change
caused what it does (`change_note`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from enforcer.core.cards import notice_card
from enforcer.core.desired_state import Document, Level, Selector
from enforcer.core.models import SubscriptionInfo

MARKER: Final = "desired-state"


def _selector_data(selector: Selector) -> dict[str, Any]:
    return {
        "kind": int(selector.kind),
        "subscriptions": sorted(selector.subscriptions),
        "key": selector.key,
        "value": selector.value,
    }


def _selector(data: dict[str, Any]) -> Selector:
    return Selector(
        Level(int(data["kind"])),
        frozenset(str(s) for s in data.get("subscriptions") or ()),
        str(data.get("key") or ""),
        None if data.get("value") is None else str(data["value"]),
    )


def snapshot(document: Document, recorded_at: str = "") -> str:
    """The marker's value: the hash and each rule's selector and values (enough to count whom a removed rule hit),
    and when it was recorded (so that each change from it is a change of its own: see `announcement_key`)."""
    rules = {r.name: {"match": _selector_data(r.selector), "sets": dict(r.values)} for r in document.rules}
    return json.dumps({"hash": document.hash, "rules": rules, "recorded_at": recorded_at}, sort_keys=True)


def _marker_data(previous: str | None) -> dict[str, Any]:
    """The marker's JSON object; {} when there is none or it cannot be read (counted as "no document before")."""
    try:
        old = json.loads(previous) if previous else {}
    except ValueError:
        return {}
    return old if isinstance(old, dict) else {}


def announcement_key(previous: str | None, change: DocumentChange) -> str:
    """The key that makes one change's card one card: every sweep that reads the same marker and finds the same
    change gets the same key, and the same change made again later (A to B, back to A, then B again) gets another,
    because the marker it starts from was recorded at another time."""
    recorded_at = str(_marker_data(previous).get("recorded_at") or "-")
    return f"desired-state {change.old_hash or 'none'}@{recorded_at} -> {change.new_hash or 'none'}"


@dataclass(frozen=True)
class RuleChange:
    name: str
    change: str  # "added" | "removed" | "altered"
    selector: Selector


@dataclass(frozen=True)
class DocumentChange:
    old_hash: str
    new_hash: str
    rules: tuple[RuleChange, ...]


def document_change(previous: str | None, document: Document) -> DocumentChange | None:
    """What changed since the marker `previous` (None: never recorded); None when nothing did. An unreadable marker
    counts as "no document before", so the change is reported rather than missed."""
    old = _marker_data(previous)
    old_hash = str(old.get("hash") or "")
    if old_hash == document.hash:
        return None
    old_rules: dict[str, Any] = old.get("rules") or {}
    new = json.loads(snapshot(document))["rules"]
    changes = [RuleChange(n, "added", _selector(new[n]["match"])) for n in new if n not in old_rules]
    changes += [RuleChange(n, "removed", _selector(old_rules[n]["match"])) for n in old_rules if n not in new]
    changes += [
        RuleChange(n, "altered", _selector(new[n]["match"])) for n in new if n in old_rules and old_rules[n] != new[n]
    ]
    return DocumentChange(old_hash, document.hash, tuple(changes))


def affected(selector: Selector, infos: Iterable[SubscriptionInfo]) -> int | None:
    """How many of these subscriptions the selector matches (None for account-tag rules: counted per account)."""
    if selector.kind is Level.ACCOUNT_TAG:
        return None
    if selector.kind is Level.SUBSCRIPTION:
        return sum(1 for i in infos if i.subscription_id.lower() in selector.subscriptions)
    if selector.kind is Level.TAG:
        return sum(1 for i in infos if selector.matches_tags(i.tags))
    return sum(1 for i in infos if selector.key in (g.lower() for g in i.management_groups))


def _lines(change: DocumentChange, infos: Sequence[SubscriptionInfo]) -> list[str]:
    lines = []
    for rule in change.rules:
        count = affected(rule.selector, infos)
        whom = "AI accounts by tag" if count is None else f"{count} subscription(s)"
        lines.append(f"{rule.change}: {rule.name} ({rule.selector.describe()}; {whom})")
    return lines or ["no rule changed (the default or comments did)"]


def change_note(change: DocumentChange) -> str:
    """The digest note of the sweep that enforces the change."""
    return (
        f"desired-state document changed ({change.old_hash or 'none'} -> {change.new_hash or 'none'}): "
        f"this sweep enforces it ({len(change.rules)} rule change(s))"
    )


def change_card(change: DocumentChange, infos: Sequence[SubscriptionInfo]) -> dict[str, Any]:
    return notice_card(
        "Desired-state document changed",
        _lines(change, infos),
        [
            ("Before", change.old_hash or "(no document)"),
            ("Now", change.new_hash or "(no document)"),
            ("Next", "this sweep enforces the new desired state everywhere; its digest follows"),
        ],
    )
