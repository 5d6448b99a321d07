"""Management-group ancestry: the two shapes Azure gives it in, read into one (nearest parent first, root last).

- Resource Graph, `resourcecontainers`, a subscription's `properties.managementGroupAncestorsChain`: an array of
  `{name, displayName}` from the immediate parent to the tenant root group. Source: Learn, "Azure Resource Graph
  sample queries for management groups" (`mgParent[0].name` is the subscription's own management group), and the
  Management Groups SDK's `managementGroupAncestorsChain` ("from immediate parent to the root").
- The Entities API (`POST /providers/Microsoft.Management/getEntities`), one entity per management group and
  subscription, each with `properties.parentNameChain`: "the parent name chain from the root group to the
  immediate parent" (azure-rest-api-specs, Microsoft.Management EntityInfoProperties), so reversed here.
  A subscription entity has `type` "/subscriptions" and its id as `name` (same spec).

Names are kept as Azure gives them (the tenant root group is named by the tenant id); rules compare them.
Pure: no I/O.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from enforcer.core.models import SubscriptionInfo
from enforcer.core.text import is_guid

SUBSCRIPTION_ENTITY_TYPE = "/subscriptions"
# The run's calls key for Entities API reads (the emulator counts them under the same name).
MANAGEMENT_GROUPS_CALL = "management.entities"


@dataclass(frozen=True)
class Ancestry:
    """Each subscription's management groups (nearest parent first), from one read of the tree, and its cost."""

    by_subscription: dict[str, tuple[str, ...]]
    requests: int


def ancestry_from_chain(chain: object) -> tuple[str, ...]:
    """Resource Graph's managementGroupAncestorsChain (nearest first) as names; () when absent or unreadable."""
    if not isinstance(chain, list):
        return ()
    names: list[str] = []
    for item in chain:
        name = item.get("name") if isinstance(item, Mapping) else None
        if not isinstance(name, str) or not name:
            return ()  # a chain with a hole would let a rule match the wrong level: unknown instead
        names.append(name)
    return tuple(names)


def ancestry_from_entities(entities: Iterable[Any]) -> dict[str, tuple[str, ...]]:
    """Subscription id (lower case) -> ancestry, from Entities API items; management groups and odd items skipped."""
    found: dict[str, tuple[str, ...]] = {}
    for entity in entities:
        if not isinstance(entity, Mapping) or entity.get("type") != SUBSCRIPTION_ENTITY_TYPE:
            continue
        sub = str(entity.get("name") or "").lower()
        properties = entity.get("properties")
        chain = properties.get("parentNameChain") if isinstance(properties, Mapping) else None
        if not is_guid(sub) or not isinstance(chain, list) or not chain:
            continue
        if not all(isinstance(name, str) and name for name in chain):
            continue
        found[sub] = tuple(reversed(chain))
    return found


def without_ancestry(infos: Iterable[SubscriptionInfo | None]) -> list[str]:
    """The subscriptions whose ancestry is not known yet (listed by the subscriptions API, or a row without it)."""
    return [info.subscription_id for info in infos if info is not None and not info.management_groups]


def with_ancestry(info: SubscriptionInfo, ancestry: Mapping[str, tuple[str, ...]]) -> SubscriptionInfo:
    """The info with its ancestry filled from the tree read, when the tree names it and it had none."""
    found = ancestry.get(info.subscription_id)
    if info.management_groups or not found:
        return info
    return dataclasses.replace(info, management_groups=found)
