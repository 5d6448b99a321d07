"""Who made a change: the caller of an ARM write, from an event's `claims` or an Activity Log entry (pure).

Everything here comes from outside (a token's claims copied into an event, an Activity Log's `caller`): it is
untrusted text. It is kept bounded, never parsed as anything but text, and escaped where it is shown
(`escape_markdown` on cards, `escape_control` in logs and tables).

Claim names: Resource Manager copies the caller's token claims into `data.claims` of `ResourceWriteSuccess`
(Microsoft's sample, tests/data/events/resource-write-security-pricing.eventgrid.json): the object id is
`http://schemas.microsoft.com/identity/claims/objectidentifier` (v1 tokens) or `oid` (v2), the user's UPN
`http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn`, the display name `name`, the calling application
`appid` (v1) or `azp` (v2). `idtyp` is `app` for an app-only token (service principal, managed identity); a token
without a UPN and without `idtyp` is treated as an app as well (our reading: app-only tokens carry no UPN).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from enforcer.core.text import clip, escape_control, escape_markdown, is_guid

OBJECT_ID_CLAIMS: Final = ("http://schemas.microsoft.com/identity/claims/objectidentifier", "oid")
UPN_CLAIMS: Final = (
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn",
    "upn",
    "unique_name",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name",
    "preferred_username",
)
NAME_CLAIMS: Final = ("name",)
APP_ID_CLAIMS: Final = ("appid", "azp")
# Bounds on what a claim may put into a record, a card or a log line.
CLAIM_MAX_CHARS: Final = 200

USER: Final = "user"
APP: Final = "app"
UNKNOWN: Final = "unknown"
# Actor.source of an actor the sweep found in the subscription's Activity Log (core/activity_log.py).
ACTIVITY_LOG: Final = "activity log"


_FIELDS: Final = ("object_id", "name", "kind", "at", "unknown_reason", "source")


@dataclass(frozen=True)
class Actor:
    """The caller of one write. `name` is what people read: the UPN (or display name) of a user, the app id of a
    service principal; `object_id` is what the enforcer compares with its own identity."""

    object_id: str = ""
    name: str = ""
    kind: str = UNKNOWN  # "user" | "app" | "unknown"
    at: str = ""  # when they wrote (ISO 8601, as the event or the Activity Log says)
    # Why the actor is unknown (the Activity Log lookup failed, no entry, ...); "" when known.
    unknown_reason: str = ""
    # Where the actor was learned: "" for the event's own claims, ACTIVITY_LOG for the sweep's lookup.
    source: str = ""

    @property
    def known(self) -> bool:
        return bool(self.object_id or self.name)

    def who(self) -> str:
        """Plain (unescaped) text naming the actor: the name, else the object id, else "actor unknown"."""
        if self.name and self.object_id and self.name != self.object_id:
            return f"{self.name} ({self.object_id})"
        return self.name or self.object_id or "actor unknown"

    def to_dict(self) -> dict[str, str]:
        values = {
            "object_id": self.object_id,
            "name": self.name,
            "kind": self.kind,
            "at": self.at,
            "unknown_reason": self.unknown_reason,
            "source": self.source,
        }
        return {k: v for k, v in values.items() if v}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Actor:
        return cls(**{k: _bounded(data.get(k)) for k in _FIELDS})

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str | None) -> Actor | None:
        if not text:
            return None
        try:
            data = json.loads(text)
        except ValueError:
            return None
        return cls.from_dict(data) if isinstance(data, Mapping) else None


def unknown_actor(reason: str, source: str = "") -> Actor:
    return Actor(kind=UNKNOWN, unknown_reason=clip(reason, CLAIM_MAX_CHARS), source=source)


def _bounded(value: object) -> str:
    """A claim value as bounded text; anything that is not a string (a list, a number, null) is dropped."""
    return clip(value.strip(), CLAIM_MAX_CHARS) if isinstance(value, str) else ""


def _first(claims: Mapping[str, Any], names: tuple[str, ...]) -> str:
    for name in names:
        value = _bounded(claims.get(name))
        if value:
            return value
    return ""


def _parse_time(value: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def normalise_time(value: object) -> str:
    """An event's time as the enforcer writes times (ISO 8601 UTC, milliseconds, Z), whichever way the event (the
    Functions host re-encodes it) spelled it; "" when it is not a time."""
    moment = _parse_time(value) if isinstance(value, str) else None
    if moment is None:
        return ""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def actor_from_claims(claims: object, at: str = "") -> Actor:
    """The caller named by an event's `data.claims`; an Actor with kind "unknown" when there are none."""
    at = normalise_time(at)
    if not isinstance(claims, Mapping):
        return unknown_actor("the event carries no claims")
    object_id = _first(claims, OBJECT_ID_CLAIMS)
    object_id = object_id.lower() if is_guid(object_id) else object_id
    upn = _first(claims, UPN_CLAIMS)
    display = _first(claims, NAME_CLAIMS)
    app_id = _first(claims, APP_ID_CLAIMS)
    app_only = _bounded(claims.get("idtyp")).lower() == APP or (not upn and not display and bool(app_id))
    if app_only:
        return Actor(object_id=object_id, name=f"app {app_id}" if app_id else "", kind=APP, at=at)
    if not object_id and not upn and not display:
        return unknown_actor("the event's claims name no caller")
    return Actor(object_id=object_id, name=upn or display, kind=USER, at=at)


def is_own_write(actor: Actor | None, own_object_id: str) -> bool:
    """Whether the write was the enforcer's own: the caller's object id equals the enforcer's (GUIDs, any case)."""
    if actor is None or not own_object_id or not actor.object_id:
        return False
    return actor.object_id.lower() == own_object_id.strip().lower()


def object_id_from_token(token: str) -> str | None:
    """The `oid` claim of a JWT access token (the enforcer's own token: read, not verified; it came from Entra ID
    over TLS to this process). None for anything that is not a JWT with a GUID `oid`."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        data = json.loads(base64.urlsafe_b64decode(payload.encode("ascii")))
    except (ValueError, binascii.Error, UnicodeError):
        return None
    oid = data.get("oid") if isinstance(data, Mapping) else None
    return oid.lower() if isinstance(oid, str) and is_guid(oid) else None


def actor_markdown(actor: Actor) -> str:
    """The actor for a card (Markdown TextBlock): escaped, one line."""
    return escape_markdown(escape_control(actor.who()))


def actor_text(actor: Actor) -> str:
    """The actor for a log line or a table: control characters shown, never interpreted."""
    text = actor.who()
    if actor.unknown_reason:
        text += f" ({actor.unknown_reason})"
    if actor.source:
        text += f" [{actor.source}]"
    return escape_control(text)


def seconds_between(earlier_iso: str, later_iso: str) -> float | None:
    """Seconds from one ISO 8601 time to another; None when either is not a time."""
    first, second = _parse_time(earlier_iso), _parse_time(later_iso)
    if first is None or second is None:
        return None
    return (second - first).total_seconds()
