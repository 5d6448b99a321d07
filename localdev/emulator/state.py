"""The emulator's model of ARM: the plan catalogue, pricing replace semantics, and the subscription store.

The pricing functions here are pure (dicts in, dicts out) so they are tested with literals;
`SubscriptionStore` adds the locking the HTTP handlers need.
"""

from __future__ import annotations

import copy
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

STANDARD: Final = "Standard"
FREE: Final = "Free"
SUBSCRIPTION_STATES: Final = ("Enabled", "Warned", "PastDue", "Disabled", "Deleted")
READ_ONLY_STATES: Final = frozenset({"Disabled", "Deleted"})
DEFAULT_TENANT_ID: Final = "72f988bf-0000-4000-8000-00000000e1a7"

# How long a pricing's past versions are kept for Resource Graph lag (longer when the lag asks for more).
HISTORY_SECONDS: Final = 300.0


class PricingValidationError(ValueError):
    """A PUT body ARM would reject with 400; carries the CloudError code and target."""

    def __init__(self, code: str, message: str, target: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.target = target


@dataclass(frozen=True)
class ExtensionSpec:
    name: str
    # What a Standard PUT that leaves the extension out turns it into. True for every extension the
    # examples show except MdeDesignatedSubscription (PutPricingVMsByName_example.json returns it "False").
    enabled_when_omitted: bool = True


@dataclass(frozen=True)
class PlanSpec:
    name: str
    extensions: tuple[ExtensionSpec, ...] = ()
    # subPlan applied by a Standard PUT that names none ("When not specified, full plan is applied").
    default_sub_plan: str | None = None
    deprecated: bool = False
    replaced_by: tuple[str, ...] = ()

    def extension(self, name: str) -> ExtensionSpec | None:
        lowered = name.lower()
        for ext in self.extensions:
            if ext.name.lower() == lowered:
                return ext
        return None


def _plan(name: str, *extensions: str, sub_plan: str | None = None, replaced_by: tuple[str, ...] = ()) -> PlanSpec:
    return PlanSpec(
        name=name,
        extensions=tuple(ExtensionSpec(e, enabled_when_omitted=e != "MdeDesignatedSubscription") for e in extensions),
        default_sub_plan=sub_plan,
        deprecated=bool(replaced_by),
        replaced_by=replaced_by,
    )


AI_EXTENSIONS: Final = ("AIPromptEvidence", "AIPromptSharingWithPurview", "AIModelScanner")

# Order = the order `pricings` list answers in: that of ListPricings_example.json, then AI.
DEFAULT_PLANS: Final[tuple[PlanSpec, ...]] = (
    _plan("VirtualMachines", "MdeDesignatedSubscription", "AgentlessVmScanning", sub_plan="P2"),
    _plan("SqlServers"),
    _plan("AppServices"),
    _plan("StorageAccounts", "OnUploadMalwareScanning", "SensitiveDataDiscovery", sub_plan="DefenderForStorageV2"),
    _plan("SqlServerVirtualMachines"),
    _plan("KubernetesService", replaced_by=("Containers",)),
    _plan("ContainerRegistry", replaced_by=("Containers",)),
    _plan("KeyVaults", sub_plan="PerKeyVault"),
    _plan("Dns", replaced_by=("VirtualMachines",)),
    _plan("Arm", sub_plan="PerSubscription"),
    _plan("OpenSourceRelationalDatabases"),
    _plan(
        "Containers",
        "ContainerRegistriesVulnerabilityAssessments",
        "AgentlessDiscoveryForKubernetes",
        "AgentlessVmScanning",
        "ContainerSensor",
    ),
    _plan(
        "CloudPosture",
        "AgentlessVmScanning",
        "AgentlessDiscoveryForKubernetes",
        "SensitiveDataDiscovery",
        "ContainerRegistriesVulnerabilityAssessments",
        "EntraPermissionsManagement",
    ),
    _plan("Api", sub_plan="P1"),
    _plan("AI", *AI_EXTENSIONS),
)


# A component the enforcer has no setting for, as when Microsoft adds one to the plan. Our reading: like every
# AI extension, a Standard PUT that leaves it out turns it on (PutPricingByName_example.json shows this for the
# extensions of the plans it covers); at Free it is not listed.
FUTURE_AI_EXTENSION: Final = "AIFutureComponent"


def plans_with_future_component(plans: Mapping[str, PlanSpec] | None = None) -> dict[str, PlanSpec]:
    """The catalogue with FUTURE_AI_EXTENSION added to the AI plan (default on when omitted)."""
    catalogue = dict(plans) if plans is not None else default_plans()
    ai = catalogue["AI"]
    catalogue["AI"] = PlanSpec(
        name=ai.name,
        extensions=(*ai.extensions, ExtensionSpec(FUTURE_AI_EXTENSION, enabled_when_omitted=True)),
        default_sub_plan=ai.default_sub_plan,
        deprecated=ai.deprecated,
        replaced_by=ai.replaced_by,
    )
    return catalogue


def default_plans() -> dict[str, PlanSpec]:
    """A fresh, mutable catalogue keyed by plan name (tests may replace an entry)."""
    return {p.name: p for p in DEFAULT_PLANS}


def find_plan(plans: Mapping[str, PlanSpec], name: str) -> PlanSpec | None:
    """Plan names are case-insensitive in ARM paths and filters."""
    found = plans.get(name)
    if found is not None:
        return found
    lowered = name.lower()
    for plan in plans.values():
        if plan.name.lower() == lowered:
            return plan
    return None


def arm_timestamp(moment: datetime | None = None) -> str:
    """ARM's format with 7 fractional digits, e.g. 2023-03-01T12:42:42.1921106Z."""
    moment = moment or datetime.now(UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


def canonical_bool(value: object) -> str | None:
    """ "True"/"False" for any casing of true/false (ARM accepts the policies' lowercase); None otherwise."""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered == "true":
            return "True"
        if lowered == "false":
            return "False"
    return None


def canonical_tier(value: object) -> str | None:
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered == "standard":
            return STANDARD
        if lowered == "free":
            return FREE
    return None


def default_properties(plan: PlanSpec) -> dict[str, Any]:
    """A pricing nobody has written: Free, no extensions listed."""
    props: dict[str, Any] = {"pricingTier": FREE, "freeTrialRemainingTime": "PT0S"}
    if plan.deprecated:
        props["deprecated"] = True
        props["replacedBy"] = list(plan.replaced_by)
    props["enforce"] = "False"
    props["resourcesCoverageStatus"] = "NotCovered"
    return props


def seed_properties(properties: Mapping[str, Any]) -> dict[str, Any]:
    """Stored as given (so a GET returns exactly what the test seeded), with isEnabled and tier canonicalised."""
    props = copy.deepcopy(dict(properties))
    tier = canonical_tier(props.get("pricingTier"))
    if tier is None:
        raise ValueError(f"pricingTier must be Free or Standard, got {props.get('pricingTier')!r}")
    props["pricingTier"] = tier
    if "extensions" in props:
        exts = props["extensions"]
        if not isinstance(exts, list):
            raise ValueError("extensions must be a list")
        for ext in exts:
            enabled = canonical_bool(ext.get("isEnabled"))
            if enabled is None:
                raise ValueError(f"extension {ext.get('name')!r}: isEnabled must be True or False")
            ext["isEnabled"] = enabled
    return props


@dataclass(frozen=True)
class PutResult:
    stored: dict[str, Any]  # what later GETs return (no operationStatus)
    response: dict[str, Any]  # what this PUT returns (operationStatus on extensions it acted on)


def _requested_extensions(plan: PlanSpec, raw: object, drop_unknown: bool = False) -> dict[str, dict[str, Any]]:
    if raw is None:
        return {}
    if not isinstance(raw, list):
        raise PricingValidationError("InvalidInput", "properties.extensions must be an array.", "extensions")
    requested: dict[str, dict[str, Any]] = {}
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise PricingValidationError(
                "InvalidInput", "Each extension must be an object with a 'name'.", "extensions"
            )
        spec = plan.extension(item["name"])
        if spec is None and drop_unknown:
            # Our reading (no published source shows either way): the name is silently left out of the answer.
            continue
        if spec is None:
            known = ", ".join(e.name for e in plan.extensions) or "none"
            raise PricingValidationError(
                "InvalidExtensionName",
                f"The extension '{item['name']}' is not supported for plan '{plan.name}'. "
                f"Supported extensions: {known}.",
                "extensions",
            )
        enabled = canonical_bool(item.get("isEnabled"))
        if enabled is None:
            raise PricingValidationError(
                "InvalidInput",
                f"The extension '{spec.name}' has an invalid isEnabled value {item.get('isEnabled')!r}; "
                "expected 'True' or 'False'.",
                "extensions",
            )
        entry: dict[str, Any] = {"isEnabled": enabled}
        extra = item.get("additionalExtensionProperties")
        if isinstance(extra, dict):
            entry["additionalExtensionProperties"] = copy.deepcopy(extra)
        requested[spec.name] = entry
    return requested


def apply_put(
    plan: PlanSpec,
    previous: Mapping[str, Any],
    body: object,
    now: str,
    failures: Mapping[str, str] | None = None,
    *,
    drop_unknown: bool = False,
) -> PutResult:
    """ARM's PUT on a subscription-level pricing: the body replaces the pricing.

    Read-only fields in the body are ignored. A Standard PUT lists every extension of the plan:
    those in the body as asked, the others as the plan turns them on when omitted
    (PutPricingByName_example.json: a tier-only PUT enables them all). `additionalExtensionProperties`
    not given are kept from the previous state (PutPricingVMsByName_example.json). A Free PUT
    lists no extensions. `failures` (extension name -> message) marks extensions whose enablement
    failed: they keep the asked value but carry operationStatus Failed. An extension name the plan does
    not have is refused with 400 (our reading), or with `drop_unknown` silently left out (also our reading).
    """
    if not isinstance(body, dict):
        raise PricingValidationError("InvalidInput", "The request body must be a JSON object.")
    props_in = body.get("properties")
    if not isinstance(props_in, dict):
        raise PricingValidationError("InvalidInput", "The request body must contain 'properties'.", "properties")
    tier = canonical_tier(props_in.get("pricingTier"))
    if tier is None:
        raise PricingValidationError(
            "InvalidInput",
            f"The pricingTier {props_in.get('pricingTier')!r} is invalid. Possible values: Free, Standard.",
            "pricingTier",
        )
    requested = _requested_extensions(plan, props_in.get("extensions"), drop_unknown)
    enforce = "False"
    if "enforce" in props_in and props_in["enforce"] is not None:
        enforce_value = canonical_bool(props_in["enforce"])
        if enforce_value is None:
            raise PricingValidationError("InvalidInput", "enforce must be 'True' or 'False'.", "enforce")
        enforce = enforce_value

    stored: dict[str, Any] = {"pricingTier": tier}
    sub_plan = props_in.get("subPlan")
    if tier == STANDARD:
        if isinstance(sub_plan, str) and sub_plan:
            stored["subPlan"] = sub_plan
        elif plan.default_sub_plan:
            stored["subPlan"] = plan.default_sub_plan
    stored["freeTrialRemainingTime"] = previous.get("freeTrialRemainingTime") or "PT0S"
    if tier == STANDARD:
        was_standard = previous.get("pricingTier") == STANDARD and previous.get("enablementTime")
        stored["enablementTime"] = previous["enablementTime"] if was_standard else now
    if plan.deprecated:
        stored["deprecated"] = True
        stored["replacedBy"] = list(plan.replaced_by)
    stored["enforce"] = enforce
    stored["resourcesCoverageStatus"] = "FullyCovered" if tier == STANDARD else "NotCovered"

    response = copy.deepcopy(stored)
    if tier == STANDARD and plan.extensions:
        previous_extra = {
            str(e.get("name", "")).lower(): e["additionalExtensionProperties"]
            for e in previous.get("extensions") or []
            if isinstance(e, dict) and isinstance(e.get("additionalExtensionProperties"), dict)
        }
        failures = failures or {}
        stored_exts: list[dict[str, Any]] = []
        response_exts: list[dict[str, Any]] = []
        for spec in plan.extensions:
            asked = requested.get(spec.name)
            enabled = asked["isEnabled"] if asked else ("True" if spec.enabled_when_omitted else "False")
            ext: dict[str, Any] = {"name": spec.name, "isEnabled": enabled}
            extra = (asked or {}).get("additionalExtensionProperties") or previous_extra.get(spec.name.lower())
            if extra:
                ext["additionalExtensionProperties"] = copy.deepcopy(extra)
            stored_exts.append(ext)
            shown = copy.deepcopy(ext)
            failure = failures.get(spec.name)
            if failure is not None:
                shown["operationStatus"] = {"code": "Failed", "message": failure}
            elif enabled == "True":
                shown["operationStatus"] = {"code": "Succeeded", "message": "Successfully enabled extension"}
            elif asked is not None:
                shown["operationStatus"] = {"code": "Succeeded", "message": "Successfully disabled extension"}
            # An extension left out and off by default is not acted on: no operationStatus (as in the example).
            response_exts.append(shown)
        stored["extensions"] = stored_exts
        response["extensions"] = response_exts
    return PutResult(stored=stored, response=response)


def pricing_resource(subscription_id: str, plan_name: str, properties: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": f"/subscriptions/{subscription_id}/providers/Microsoft.Security/pricings/{plan_name}",
        "name": plan_name,
        "type": "Microsoft.Security/pricings",
        "properties": properties,
    }


@dataclass
class SubscriptionRecord:
    subscription_id: str
    display_name: str
    state: str
    tags: dict[str, str]
    tenant_id: str
    registered: bool
    pricings: dict[str, dict[str, Any]] = field(default_factory=dict)
    # When it was added (monotonic); seeded fleets exist "forever". Resource Graph lists it only after its lag.
    created_at: float = float("-inf")
    # plan -> [(monotonic time, properties)] of past versions, oldest first; seeded versions have time -inf.
    history: dict[str, deque[tuple[float, dict[str, Any]]]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def to_arm(self) -> dict[str, Any]:
        """The subscription as `Subscriptions - Get` (api-version 2022-12-01) returns it."""
        body: dict[str, Any] = {
            "id": f"/subscriptions/{self.subscription_id}",
            "authorizationSource": "RoleBased",
            "managedByTenants": [],
            "subscriptionId": self.subscription_id,
            "tenantId": self.tenant_id,
            "displayName": self.display_name,
            "state": self.state,
            "subscriptionPolicies": {
                "locationPlacementId": "Public_2014-09-01",
                "quotaId": "PayAsYouGo_2014-09-01",
                "spendingLimit": "Off",
            },
        }
        if self.tags:
            body["tags"] = dict(self.tags)
        return body

    def properties(self, plan: PlanSpec) -> dict[str, Any]:
        """Caller holds `lock`. The live object: serialise it, do not hand it out."""
        stored = self.pricings.get(plan.name)
        return stored if stored is not None else default_properties(plan)

    def write(self, plan: PlanSpec, properties: dict[str, Any], at: float, keep_seconds: float) -> None:
        """Caller holds `lock`. Records the version being replaced for Resource Graph lag."""
        versions = self.history.setdefault(plan.name, deque())
        if not versions:
            versions.append((float("-inf"), self.properties(plan)))
        versions.append((at, properties))
        self.pricings[plan.name] = properties
        horizon = at - keep_seconds
        # Drop versions that were already superseded before the horizon; keep one to answer for it.
        while len(versions) > 1 and versions[1][0] <= horizon:
            versions.popleft()

    def properties_as_of(self, plan: PlanSpec, moment: float) -> dict[str, Any]:
        """Caller holds `lock`. The version current at `moment` (the oldest kept one if older)."""
        versions = self.history.get(plan.name)
        if not versions:
            return self.properties(plan)
        chosen = versions[0][1]
        for at, props in versions:
            if at <= moment:
                chosen = props
            else:
                break
        return chosen


class SubscriptionStore:
    """Subscriptions by lowercase id, in insertion order; one lock per subscription for its state."""

    def __init__(self) -> None:
        self._records: dict[str, SubscriptionRecord] = {}
        self._order: list[str] = []
        self._lock = threading.Lock()

    def add(self, record: SubscriptionRecord) -> None:
        with self._lock:
            if record.subscription_id in self._records:
                raise ValueError(f"subscription {record.subscription_id} already exists")
            self._records[record.subscription_id] = record
            self._order.append(record.subscription_id)

    def add_many(self, records: Iterable[SubscriptionRecord]) -> None:
        with self._lock:
            batch = list(records)
            duplicates = [r.subscription_id for r in batch if r.subscription_id in self._records]
            if duplicates:
                raise ValueError(f"subscriptions already exist: {', '.join(duplicates[:5])}")
            for record in batch:
                self._records[record.subscription_id] = record
                self._order.append(record.subscription_id)

    def get(self, subscription_id: str) -> SubscriptionRecord | None:
        return self._records.get(subscription_id.lower())

    def page(self, offset: int, size: int) -> tuple[list[SubscriptionRecord], int]:
        """A slice in insertion order and the total count."""
        with self._lock:
            ids = self._order[offset : offset + size]
            total = len(self._order)
            return [self._records[i] for i in ids], total

    def __len__(self) -> int:
        return len(self._order)


def now_monotonic() -> float:
    return time.monotonic()
