"""Which subscriptions the enforcer may touch: a pure rule over settings and subscription metadata."""

from __future__ import annotations

from collections.abc import Mapping

from enforcer.core.settings import Settings

# Subscription states in which ARM refuses writes; such subscriptions are left alone.
READ_ONLY_STATES = frozenset({"disabled", "deleted"})


def exclusion_by_id(subscription_id: str, settings: Settings) -> str | None:
    """Why a subscription is out of scope from settings alone (no ARM call needed), or None."""
    sub = subscription_id.lower()
    if sub in settings.exclude_subscriptions:
        return "listed in ENFORCER_EXCLUDE_SUBSCRIPTIONS"
    if settings.subscriptions is not None and sub not in settings.subscriptions:
        return "not listed in ENFORCER_SUBSCRIPTIONS"
    return None


def exclusion_by_metadata(tags: Mapping[str, str] | None, state: str | None, settings: Settings) -> str | None:
    """Why a subscription is out of scope from its tags and state, or None."""
    if settings.exempt_tag:
        for key, value in (tags or {}).items():
            if key.lower() == settings.exempt_tag.lower():
                reason = (value or "").strip() or "(no reason given)"
                return f"tagged {settings.exempt_tag}: {reason[:200]}"
    if state is not None and state.lower() in READ_ONLY_STATES:
        return f"subscription state is {state} (read-only)"
    return None
