"""The emulator's management-group tree (issue 20; never deployed): what rules on management groups match on.

- Tests seed it: `emulator.management_groups.add(parent, child)` then `.place(subscription, group)`. A subscription
  never placed sits directly under the tenant root group, as a new subscription does in Azure (Learn, "Organize
  your resources with management groups": the root group holds subscriptions by default).
- Resource Graph rows of `resourcecontainers` carry `managementGroupAncestorsChain`, an array of
  `{name, displayName}` from the immediate parent to the root (Learn, "Azure Resource Graph sample queries for
  management groups" reads `[0]` as the subscription's own group). `ancestors_chain` builds it.
- `POST /providers/Microsoft.Management/getEntities` (the Entities API, any of its api-versions): every group and
  subscription with `type`, `name`, `properties.parent.id`, `parentNameChain` and `parentDisplayNameChain` (root
  first), shapes from azure-rest-api-specs (Microsoft.Management EntityInfo). Our reading, not published: the page
  size (`page_size`, 1,000 by default) and an integer `$skiptoken` in `nextLink`; the root group's display name
  "Tenant Root Group"; every entity visible to the caller.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any, Final
from urllib.parse import quote

from localdev.emulator.state import DEFAULT_TENANT_ID

KIND: Final = "management.entities"
ROUTES: Final[tuple[tuple[str, re.Pattern[str], str], ...]] = (
    ("POST", re.compile(r"^/providers/Microsoft\.Management/getEntities/?$", re.IGNORECASE), KIND),
)
GROUP_TYPE: Final = "Microsoft.Management/managementGroups"
SUBSCRIPTION_TYPE: Final = "/subscriptions"
ROOT_DISPLAY_NAME: Final = "Tenant Root Group"


def group_id(name: str) -> str:
    return f"/providers/Microsoft.Management/managementGroups/{name}"


class ManagementGroupTree:
    """Groups (name -> parent, display name) under one root named by the tenant id, and where subscriptions sit."""

    def __init__(self, root: str = DEFAULT_TENANT_ID, page_size: int = 1000) -> None:
        self.root = root
        self.page_size = page_size
        self._lock = threading.Lock()
        self._parent: dict[str, str | None] = {root: None}
        self._display: dict[str, str] = {root: ROOT_DISPLAY_NAME}
        self._placed: dict[str, str] = {}
        # Set by tests: the caller may not read the tree (the server answers 403 AuthorizationFailed).
        self.forbidden = False

    def add(self, parent: str, child: str, display_name: str | None = None) -> None:
        """A group `child` under `parent` (the root or a group added before)."""
        with self._lock:
            if parent not in self._parent:
                raise KeyError(f"no management group {parent!r}: add it first")
            if child in self._parent:
                raise ValueError(f"management group {child!r} exists already")
            self._parent[child] = parent
            self._display[child] = display_name or child

    def place(self, subscription_id: str, group: str) -> None:
        """Move the subscription under `group`."""
        with self._lock:
            if group not in self._parent:
                raise KeyError(f"no management group {group!r}: add it first")
            self._placed[subscription_id.lower()] = group

    def ancestry(self, subscription_id: str) -> list[str]:
        """The subscription's groups, nearest first, root last."""
        with self._lock:
            return self._chain(self._placed.get(subscription_id.lower(), self.root))

    def ancestors_chain(self, subscription_id: str) -> list[dict[str, str]]:
        """Resource Graph's managementGroupAncestorsChain for the subscription (nearest first)."""
        with self._lock:
            chain = self._chain(self._placed.get(subscription_id.lower(), self.root))
            return [{"name": name, "displayName": self._display[name]} for name in chain]

    def _chain(self, group: str) -> list[str]:
        chain: list[str] = []
        current: str | None = group
        while current is not None:
            chain.append(current)
            current = self._parent[current]
        return chain

    def entities(self, subscriptions: Iterable[tuple[str, str]]) -> list[dict[str, Any]]:
        """Every group, then every (subscription id, display name), as the Entities API lists them."""
        with self._lock:
            rows = [self._entity(name, GROUP_TYPE, self._display[name], self._parent[name]) for name in self._parent]
            for sub, display in subscriptions:
                parent = self._placed.get(sub.lower(), self.root)
                rows.append(self._entity(sub, SUBSCRIPTION_TYPE, display, parent))
        return rows

    def _entity(self, name: str, kind: str, display: str, parent: str | None) -> dict[str, Any]:
        above = list(reversed(self._chain(parent))) if parent is not None else []
        entity_id = group_id(name) if kind == GROUP_TYPE else f"/subscriptions/{name}"
        return {
            "id": entity_id,
            "type": kind,
            "name": name,
            "properties": {
                "tenantId": self.root,
                "displayName": display,
                "parent": {"id": group_id(parent)} if parent is not None else None,
                "permissions": "view",
                "parentNameChain": above,
                "parentDisplayNameChain": [self._display[n] for n in above],
            },
        }

    def serve(
        self, query: Mapping[str, list[str]], subscriptions: Iterable[tuple[str, str]], base_url: str
    ) -> tuple[int, dict[str, Any]]:
        """One page of the Entities API; (status, body)."""
        token = next((values[0] for key, values in query.items() if key.lower() == "$skiptoken" and values), "0")
        if not token.isdigit():
            return 400, {"error": {"code": "InvalidSkipToken", "message": "The $skiptoken is malformed."}}
        offset = int(token)
        rows = self.entities(subscriptions)
        window = rows[offset : offset + self.page_size]
        body: dict[str, Any] = {"value": window, "count": len(rows)}
        if offset + len(window) < len(rows):
            version = next((v[0] for k, v in query.items() if k.lower() == "api-version" and v), "")
            body["nextLink"] = (
                f"{base_url}/providers/Microsoft.Management/getEntities?api-version={quote(version)}"
                f"&%24skiptoken={offset + len(window)}"
            )
        return 200, body


# `localdev emulator --management-groups`: a small tree for the demo, root > corp > {prod, dev} and root > sandbox.
DEMO_SANDBOX: Final = "mg-sandbox"


def seed_demo_tree(tree: ManagementGroupTree, subscription_ids: Iterable[str]) -> dict[str, str]:
    """The demo tree, with the subscriptions dealt in turn to prod, dev, sandbox and the root; sub -> its group."""
    tree.add(tree.root, "mg-corp", "Corp")
    tree.add("mg-corp", "mg-prod", "Production")
    tree.add("mg-corp", "mg-dev", "Dev")
    tree.add(tree.root, DEMO_SANDBOX, "Sandbox")
    homes = ("mg-prod", "mg-dev", DEMO_SANDBOX, tree.root)
    placed: dict[str, str] = {}
    for index, sub in enumerate(subscription_ids):
        group = homes[index % len(homes)]
        if group != tree.root:
            tree.place(sub, group)
        placed[sub] = group
    return placed
