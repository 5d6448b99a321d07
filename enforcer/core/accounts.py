"""Per-account Defender for AI: which AI accounts are wanted on, and the pure decision for one account.

An Azure AI / OpenAI / Foundry account (`Microsoft.CognitiveServices/accounts`) has a child resource
`defenderForAISettings/Default` whose `properties.state` is `Enabled` or `Disabled` (azure-rest-api-specs,
Microsoft.CognitiveServices stable 2024-10-01 and later). A subscription whose `pricings/AI` is Standard can still
hold accounts set to `Disabled` (public templates often declare it so); this module decides what to do with them.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from enforcer.core.models import FieldChange, OutcomeKind
from enforcer.core.text import is_guid

ENABLED: Final = "Enabled"
DISABLED: Final = "Disabled"
# The only setting name the API knows for an account (the examples and the SDK use `Default`).
SETTING_NAME: Final = "Default"
STATE_FIELD: Final = "defenderForAISettings.state"
# What the state is called when the GET found no setting (404): the PUT creates it (201 in the contract).
ABSENT: Final = "absent"
ACCOUNT_TYPE: Final = "microsoft.cognitiveservices/accounts"
# Resource ids are case-insensitive; re.ASCII keeps odd unicode from case-folding into a match.
_ACCOUNT_ID: Final = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers/Microsoft\.CognitiveServices/accounts/"
    r"(?P<name>[^/]+)/?$",
    re.IGNORECASE | re.ASCII,
)
# Names ARM accepts for resource groups and accounts (letters, digits, and a few punctuation marks); anything
# else in an event is not an account we should address.
_NAME: Final = re.compile(r"^[A-Za-z0-9_.()\-]{1,90}$")


class AccountProtection(enum.StrEnum):
    """ENFORCER_ACCOUNT_PROTECTION: what the enforcer does with an account whose setting is not `Enabled`."""

    ON = "on"  # set it to Enabled
    REPORT = "report"  # record and notify, never write
    UNMANAGED = "unmanaged"  # do not even read it


@dataclass(frozen=True)
class AccountRef:
    """One AI account: where it lives and what Resource Graph or ARM said about it."""

    subscription_id: str  # lower-case GUID
    resource_group: str
    name: str
    tags: Mapping[str, str] = field(default_factory=dict)
    kind: str | None = None
    location: str | None = None

    @property
    def resource_id(self) -> str:
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.CognitiveServices/accounts/{self.name}"
        )

    @property
    def key(self) -> str:
        """The case-insensitive identity of the account (its resource id, lower-cased)."""
        return self.resource_id.lower()


def parse_account_id(resource_id: str) -> AccountRef | None:
    """The account a resource id names, or None when it is not exactly an account id (e.g. a child resource)."""
    match = _ACCOUNT_ID.match(resource_id.strip())
    if match is None:
        return None
    sub, rg, name = match.group("sub"), match.group("rg"), match.group("name")
    if not is_guid(sub) or not _NAME.match(rg) or not _NAME.match(name):
        return None
    return AccountRef(sub.lower(), rg, name)


def exempt_reason(tags: Mapping[str, str] | None, exempt_tag: str) -> str | None:
    """Why an account is exempt by its own tag (the tag's value is the reason), or None."""
    if not exempt_tag:
        return None
    for key, value in (tags or {}).items():
        if key.lower() == exempt_tag.lower():
            reason = (value or "").strip() or "(no reason given)"
            return f"account tagged {exempt_tag}: {reason[:200]}"
    return None


def canonical_state(state: str | None) -> str:
    """`Enabled`/`Disabled` whatever the casing; None (no setting) as `absent`; anything else kept as is."""
    if state is None:
        return ABSENT
    return {"enabled": ENABLED, "disabled": DISABLED}.get(state.strip().lower(), state)


@dataclass(frozen=True)
class AccountDecision:
    """What to do with one account: the outcome kind, the change (if any), and the state to write (if any)."""

    outcome: OutcomeKind
    change: FieldChange | None = None
    write: str | None = None


def decide_account(observed: str | None, protection: AccountProtection) -> AccountDecision:
    """Only `Enabled` counts as protected; `report` never asks for a write."""
    state = canonical_state(observed)
    if state == ENABLED or protection is AccountProtection.UNMANAGED:
        return AccountDecision(OutcomeKind.COMPLIANT)
    change = FieldChange(STATE_FIELD, state, ENABLED)
    if protection is AccountProtection.REPORT:
        return AccountDecision(OutcomeKind.WOULD_REMEDIATE, change)
    return AccountDecision(OutcomeKind.REMEDIATED, change, write=ENABLED)
