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
from enforcer.core.text import clip, escape_control, is_guid

ENABLED: Final = "Enabled"
DISABLED: Final = "Disabled"
# The only setting name the API knows for an account (the examples and the SDK use `Default`).
SETTING_NAME: Final = "Default"
STATE_FIELD: Final = "defenderForAISettings.state"
# What the state is called when the GET found no setting (404): the PUT creates it (201 in the contract).
ABSENT: Final = "absent"
ACCOUNT_TYPE: Final = "microsoft.cognitiveservices/accounts"
# Why an account cannot be protected when its id cannot be read (also the coverage report's reason).
NOT_READABLE: Final = "not readable"
# Azure's naming rules (Learn, "Naming rules and restrictions for Azure resources", and the Resource Manager API's
# own text): a resource group name is 1-90 characters, "alphanumeric characters (Char.IsLetterOrDigit()) and '-',
# '_', '(', ')' and '.'", not ending in '.'. Char.IsLetterOrDigit is Unicode: letters (Lu Ll Lt Lm Lo) and decimal
# digits (Nd), which is Python's isalpha() or isdecimal(); so `rg-données` and `rg-日本` are valid groups.
RESOURCE_GROUP_MAX: Final = 90
_RESOURCE_GROUP_PUNCTUATION: Final = frozenset("-_.()")
# An account name: the REST spec's parameter (as shipped in azure-mgmt-cognitiveservices 14.1.0): 2-64 characters,
# pattern ^[a-zA-Z0-9][a-zA-Z0-9_.-]*$ (Learn's template reference says the same, without '_' and '.').
_ACCOUNT_NAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{1,63}")
# The literal segments of an account id; compared ASCII-only, so that no Unicode case-folding (e.g. the Kelvin
# sign) can make another segment match.
_ACCOUNT_SEGMENTS: Final = ("subscriptions", None, "resourcegroups", None, "providers", "microsoft.cognitiveservices")
_MAX_SHOWN_ID: Final = 300


def is_resource_group_name(name: str) -> bool:
    """True when `name` follows Azure's rules for a resource group name (Unicode letters and digits included)."""
    return (
        0 < len(name) <= RESOURCE_GROUP_MAX
        and not name.endswith(".")
        and all(c.isalpha() or c.isdecimal() or c in _RESOURCE_GROUP_PUNCTUATION for c in name)
    )


def is_account_name(name: str) -> bool:
    return bool(_ACCOUNT_NAME.fullmatch(name))


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
    """The account a resource id names, or None when it is not exactly an account id by Azure's rules (a child
    resource, another type, a subscription that is not a GUID, a name Azure would refuse). OUR READING (no source
    found): ids from events and Resource Graph carry names as text, not percent-encoded."""
    parts = resource_id.strip().split("/")
    if parts[-1:] == [""]:
        parts.pop()  # one trailing slash
    if len(parts) != 9 or parts[0] != "" or not (parts[7].isascii() and parts[7].lower() == "accounts"):
        return None
    for segment, wanted in zip(parts[1:7], _ACCOUNT_SEGMENTS, strict=True):
        if wanted is not None and not (segment.isascii() and segment.lower() == wanted):
            return None
    sub, rg, name = parts[2], parts[4], parts[8]
    if not is_guid(sub) or not is_resource_group_name(rg) or not is_account_name(name):
        return None
    return AccountRef(sub.lower(), rg, name)


@dataclass(frozen=True)
class UnreadableAccount:
    """An AI account whose resource id the enforcer cannot read as an account id: reported "not readable" (in the
    audit log, the digest and the coverage report), never silently dropped."""

    subscription_id: str  # lower-case GUID of the subscription it was listed or named in
    resource_id: str  # as Azure (or the event) gave it
    name: str = ""

    @property
    def shown_id(self) -> str:
        """The id made safe to show: control characters (newlines, terminal escapes) as `\\n`, `\\x1b`; clipped."""
        return clip(escape_control(self.resource_id), _MAX_SHOWN_ID)

    @property
    def error(self) -> str:
        return (
            f"{NOT_READABLE}: the AI account id '{self.shown_id}' is not an account id by Azure's naming rules "
            "(resource group: 1-90 letters, digits, '-', '_', '.', '(', ')', not ending in '.'; account: 2-64 "
            "ASCII letters, digits, '-', '_', '.'), so its Defender for AI setting was not read or changed. Fix: check "
            "the account in the portal and enable Defender for AI on it by hand; report the id to the enforcer's "
            "maintainers."
        )


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
