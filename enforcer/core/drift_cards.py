"""The attribution line of a card (issue 19): who switched Defender for AI off, when, and how soon it was restored.

"Defender for AI was switched to Free on <subscription> by <who> at <time>; restored <n> s later". Every value
but the numbers comes from outside (claims, names): escaped for Markdown here, so core/cards.py can place the
line as it is.
"""

from __future__ import annotations

from typing import Final

from enforcer.core.actors import Actor, actor_markdown, seconds_between
from enforcer.core.models import FREE, Outcome, OutcomeKind
from enforcer.core.text import clip, escape_control, escape_markdown

_MAX_NAME_CHARS: Final = 120


def _md(text: str) -> str:
    return escape_markdown(escape_control(clip(text, _MAX_NAME_CHARS)))


def _where(outcome: Outcome) -> str:
    if outcome.resource_id:
        return "AI account " + _md(outcome.resource_id.rstrip("/").rsplit("/", 1)[-1])
    return _md(outcome.subscription_name or outcome.subscription_id)


def _what(outcome: Outcome) -> str:
    if outcome.resource_id:
        return f"switched to {_md(outcome.account_before or 'Disabled')}"
    if outcome.before is not None and outcome.before.tier == FREE:
        return f"switched to {FREE}"
    fields = ", ".join(c.field for c in outcome.changes[:5])
    return f"changed ({_md(fields)})" if fields else "changed"


def _who(actor: Actor) -> str:
    """The actor, escaped; an unknown one with the reason."""
    who = actor_markdown(actor)
    if not actor.known and actor.unknown_reason:
        who += f" ({_md(actor.unknown_reason)})"
    return who


def restored_after_seconds(outcome: Outcome, actor: Actor) -> float | None:
    """From their write to the end of the restoring PUT, in seconds (None when their time is unknown)."""
    started = seconds_between(actor.at, outcome.started_at) if actor.at else None
    return None if started is None else max(0.0, started + outcome.duration_ms / 1000)


def drift_line(outcome: Outcome) -> str | None:
    """The attribution sentence for a card (Markdown-escaped), or None when the outcome names no actor."""
    actor = outcome.actor
    if actor is None:
        return None
    who = _who(actor)
    at = f" at {_md(actor.at)}" if actor.at else ""
    head = f"Defender for AI was {_what(outcome)} on {_where(outcome)} by {who}{at}"
    kind = outcome.outcome
    if kind is OutcomeKind.REMEDIATED:
        seconds = restored_after_seconds(outcome, actor)
        return head + (f"; restored {seconds:.0f} s later" if seconds is not None else "; restored")
    if kind is OutcomeKind.CONFLICT:
        return head + "; not restored again by the event path: " + _md(outcome.reason or "")
    if kind is OutcomeKind.WOULD_REMEDIATE:
        return head + "; not restored (audit or report mode)"
    if kind.is_failure:
        return head + "; restoring it failed"
    return head


def digest_actor(outcome: Outcome) -> str:
    """ " · by <who>" for a digest line (Markdown-escaped, bounded), or "" when the outcome names no actor."""
    return "" if outcome.actor is None else f" · by {_who(outcome.actor)}"
