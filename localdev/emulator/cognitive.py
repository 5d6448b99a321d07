"""The emulator's Microsoft.CognitiveServices slice: AI accounts and their `defenderForAISettings`.

Shapes come from the official examples (azure-rest-api-specs, Microsoft.CognitiveServices stable:
GetDefenderForAISetting.json, ListDefenderForAISetting.json, PutDefenderForAISetting.json,
UpdateDefenderForAISetting.json). Where the examples say nothing, the behaviour is OUR READING and marked so:
- an account created without a setting answers GET .../defenderForAISettings/Default with 404 until a PUT
  creates it (the PUT example documents 201 for a create);
- PATCH of a setting that does not exist is 404 (the update example shows only 200);
- Resource Graph's `resources` table shows accounts with no lag (the pricings rows have a configurable lag);
- `Accounts - List` (per subscription) answers pages of `list_page_size` accounts (100 by default) with an absolute
  `nextLink` carrying `$skiptoken`; the real page size is not published, only that the list pages with nextLink.
"""

from __future__ import annotations

import json
import random
import re
import threading
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import unquote

from localdev.emulator.state import arm_timestamp

# The api-versions in whose stable specs defenderForAISettings exists (2024-10-01 is the Put example's; the others
# are the Get/List/Update examples' and azure-mgmt-cognitiveservices 14.1.0's default).
COGNITIVE_API_VERSIONS: Final = frozenset({"2024-10-01", "2025-06-01", "2025-09-01"})
SETTING_TYPE: Final = "Microsoft.CognitiveServices/accounts/defenderForAISettings"
ACCOUNT_TYPE: Final = "Microsoft.CognitiveServices/accounts"
STATES: Final = ("Enabled", "Disabled")

_SUB: Final = r"/subscriptions/(?P<sub>[^/]+)"
_ACCOUNT: Final = (
    _SUB + r"/resourceGroups/(?P<rg>[^/]+)/providers/Microsoft\.CognitiveServices/accounts/(?P<name>[^/]+)"
)
ROUTES: Final[tuple[tuple[str, re.Pattern[str], str], ...]] = (
    (
        "GET",
        re.compile(_SUB + r"/providers/Microsoft\.CognitiveServices/accounts/?$", re.IGNORECASE),
        "cognitive.accounts.list",
    ),
    ("GET", re.compile(_ACCOUNT + r"/?$", re.IGNORECASE), "cognitive.accounts.get"),
    ("GET", re.compile(_ACCOUNT + r"/defenderForAISettings/?$", re.IGNORECASE), "cognitive.defenderforai.list"),
    (
        "GET",
        re.compile(_ACCOUNT + r"/defenderForAISettings/(?P<setting>[^/]+)/?$", re.IGNORECASE),
        "cognitive.defenderforai.get",
    ),
    (
        "PUT",
        re.compile(_ACCOUNT + r"/defenderForAISettings/(?P<setting>[^/]+)/?$", re.IGNORECASE),
        "cognitive.defenderforai.put",
    ),
    (
        "PATCH",
        re.compile(_ACCOUNT + r"/defenderForAISettings/(?P<setting>[^/]+)/?$", re.IGNORECASE),
        "cognitive.defenderforai.patch",
    ),
)
# The emulator's call kind for the accounts query (the pricings query is "resourcegraph.resources").
ARG_KIND: Final = "resourcegraph.resources.accounts"
WRITE_KINDS: Final = frozenset({"cognitive.defenderforai.put", "cognitive.defenderforai.patch"})
# The one Resource Graph query over the `resources` table the sweep sends (adapters/cognitive.py ACCOUNTS_QUERY).
ARG_ACCOUNTS_QUERY: Final = re.compile(
    r"^resources\s*\|\s*where\s+type\s*=~\s*'microsoft\.cognitiveservices/accounts'"
    r"\s*\|\s*project\s+id\s*,\s*name\s*,\s*subscriptionId\s*,\s*resourceGroup\s*,\s*location\s*,\s*kind\s*,\s*tags"
    r"(?P<order>\s*\|\s*order\s+by\s+id(?:\s+(?P<direction>asc|desc))?)?\s*;?\s*$",
    re.IGNORECASE,
)


class CognitiveError(Exception):
    """An ARM error answer; the server turns it into its CloudError body."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass
class AccountRecord:
    subscription_id: str
    resource_group: str
    name: str
    kind: str = "OpenAI"
    location: str = "eastus"
    tags: dict[str, str] = field(default_factory=dict)
    # None: no defenderForAISettings/Default resource yet (OUR READING, see the module docstring).
    state: str | None = "Enabled"
    created_at: str = field(default_factory=arm_timestamp)
    modified_at: str = field(default_factory=arm_timestamp)
    modified_by: str = "emulator@example.com"
    etag: str = field(default_factory=lambda: f'"{uuid.uuid4()}"')

    @property
    def resource_id(self) -> str:
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.CognitiveServices/accounts/{self.name}"
        )

    def to_arm(self) -> dict[str, Any]:
        """The account as `Accounts - Get` returns it (the parts the enforcer reads)."""
        return {
            "id": self.resource_id,
            "name": self.name,
            "type": ACCOUNT_TYPE,
            "kind": self.kind,
            "location": self.location,
            "tags": dict(self.tags),
            "sku": {"name": "S0"},
            "properties": {"provisioningState": "Succeeded", "endpoint": f"https://{self.name}.openai.azure.com/"},
        }

    def setting(self) -> dict[str, Any]:
        """`defenderForAISettings/Default` exactly in the examples' shape."""
        return {
            "name": "Default",
            "id": f"{self.resource_id}/defenderForAISettings/Default",
            "type": SETTING_TYPE,
            "properties": {"state": self.state},
            "systemData": {
                "createdBy": self.modified_by,
                "createdByType": "User",
                "createdAt": self.created_at,
                "lastModifiedBy": self.modified_by,
                "lastModifiedByType": "Application",
                "lastModifiedAt": self.modified_at,
            },
            "etag": self.etag,
        }

    def to_row(self) -> dict[str, Any]:
        """A Resource Graph `resources` row for the projected columns."""
        return {
            "id": self.resource_id,
            "name": self.name,
            "subscriptionId": self.subscription_id,
            "resourceGroup": self.resource_group.lower(),  # Resource Graph lower-cases resourceGroup
            "location": self.location,
            "kind": self.kind,
            "tags": dict(self.tags),
        }


class AccountStore:
    """Accounts by lower-case resource id, thread-safe; per subscription in insertion order."""

    def __init__(self, list_page_size: int = 100) -> None:
        self._lock = threading.Lock()
        self._accounts: dict[str, AccountRecord] = {}
        self._by_sub: dict[str, list[str]] = {}
        # Accounts per page of `Accounts - List` (OUR READING of the size; tests set it small to see paging).
        self.list_page_size = list_page_size

    def add(
        self,
        subscription_id: str,
        resource_group: str,
        name: str,
        *,
        state: str | None = "Enabled",
        tags: Mapping[str, str] | None = None,
        kind: str = "OpenAI",
        location: str = "eastus",
    ) -> str:
        """Add an account; returns its resource id. `state` None: the account has no setting resource yet."""
        if state is not None and state not in STATES:
            raise ValueError(f"state must be one of {STATES} or None, got {state!r}")
        record = AccountRecord(subscription_id.lower(), resource_group, name, kind, location, dict(tags or {}), state)
        key = record.resource_id.lower()
        with self._lock:
            if key not in self._accounts:
                self._by_sub.setdefault(record.subscription_id, []).append(key)
            self._accounts[key] = record
        return record.resource_id

    def seed(
        self, subscription_ids: Iterable[str], n: int, disabled_fraction: float = 0.05, seed: int = 1
    ) -> list[str]:
        """n accounts spread round-robin over the subscriptions; round(n * disabled_fraction) of them Disabled."""
        subs = list(subscription_ids)
        if not subs:
            raise ValueError("need at least one subscription")
        rng = random.Random(seed)
        disabled = set(rng.sample(range(n), round(n * disabled_fraction)))
        ids = []
        for i in range(n):
            ids.append(
                self.add(
                    subs[i % len(subs)],
                    f"rg-ai-{i % 7}",
                    f"ai-{i:05d}",
                    state="Disabled" if i in disabled else "Enabled",
                )
            )
        return ids

    def get(self, resource_id: str) -> AccountRecord | None:
        with self._lock:
            return self._accounts.get(resource_id.lower().rstrip("/"))

    def state(self, resource_id: str) -> str | None:
        record = self.get(resource_id)
        if record is None:
            raise KeyError(f"no account {resource_id}")
        return record.state

    def set_state(self, resource_id: str, state: str | None) -> None:
        """Change an account's setting behind the enforcer's back (drift)."""
        record = self.get(resource_id)
        if record is None:
            raise KeyError(f"no account {resource_id}")
        with self._lock:
            record.state = state
            record.modified_at = arm_timestamp()
            record.modified_by = "someone-else@example.com"

    def in_subscription(self, subscription_id: str) -> list[AccountRecord]:
        with self._lock:
            return [self._accounts[k] for k in self._by_sub.get(subscription_id.lower(), [])]

    def __len__(self) -> int:
        with self._lock:
            return len(self._accounts)

    # ------------------------------------------------------------------ HTTP
    def serve(
        self,
        kind: str,
        method: str,
        path: str,
        query: Mapping[str, list[str]],
        body: bytes,
        *,
        forbidden: str | None,
        base_url: str = "",
    ) -> tuple[int, dict[str, Any]]:
        """(status, body) for one Cognitive Services request whose subscription exists and is readable;
        `base_url` is the emulator's, for the list's absolute nextLink."""
        version = _query_value(query, "api-version")
        if not version:
            raise CognitiveError(
                400,
                "MissingApiVersionParameter",
                "The api-version query parameter (?api-version=) is required for all requests.",
            )
        if version not in COGNITIVE_API_VERSIONS:
            raise CognitiveError(
                400,
                "NoRegisteredProviderFound",
                f"No registered resource provider found for API version '{version}' for type 'accounts'. The ARM "
                f"emulator implements {', '.join(sorted(COGNITIVE_API_VERSIONS))}.",
            )
        pattern = next(p for m, p, k in ROUTES if k == kind and m == method)
        match = pattern.match(path)
        assert match is not None  # the server resolved the route with this pattern
        # Path segments arrive percent-encoded (the SDK quotes a resource group such as `rg-données`); ARM names
        # the resource by the decoded text.
        groups = {k: unquote(v) for k, v in match.groupdict().items() if v is not None}
        if kind == "cognitive.accounts.list":
            if forbidden == "all":
                raise _forbidden("Microsoft.CognitiveServices/accounts/read", path)
            return 200, self._list_page(groups["sub"], query, base_url)
        account = self.get(
            f"/subscriptions/{groups['sub']}/resourceGroups/{groups['rg']}"
            f"/providers/Microsoft.CognitiveServices/accounts/{groups['name']}"
        )
        if account is None:
            raise CognitiveError(
                404,
                "ResourceNotFound",
                f"The Resource '{ACCOUNT_TYPE}/{groups['name']}' under resource group '{groups['rg']}' was not found.",
            )
        write = kind in WRITE_KINDS
        if forbidden == "all" or (forbidden == "write" and write):
            action = (
                f"{SETTING_TYPE}/{'write' if write else 'read'}" if "defenderforai" in kind else f"{ACCOUNT_TYPE}/read"
            )
            raise _forbidden(action, path)
        if kind == "cognitive.accounts.get":
            return 200, account.to_arm()
        if kind == "cognitive.defenderforai.list":
            return 200, {"value": [account.setting()] if account.state is not None else []}
        setting = groups.get("setting") or ""
        if setting.lower() != "default":
            # OUR READING: the examples only ever use `Default`.
            raise CognitiveError(
                400, "InvalidResourceName", f"The setting name '{setting}' is not valid; use 'Default'."
            )
        if kind == "cognitive.defenderforai.get":
            if account.state is None:
                raise CognitiveError(
                    404, "NotFound", f"The defenderForAISettings 'Default' of '{account.name}' was not found."
                )
            return 200, account.setting()
        state = _state_from_body(body)
        if kind == "cognitive.defenderforai.patch" and account.state is None:
            raise CognitiveError(
                404, "NotFound", f"The defenderForAISettings 'Default' of '{account.name}' was not found."
            )
        created = account.state is None
        with self._lock:
            if created:
                account.created_at = arm_timestamp()
            account.state = state
            account.modified_at = arm_timestamp()
            account.modified_by = "enforcer-identity"
            account.etag = f'"{uuid.uuid4()}"'
        return (201 if created else 200), account.setting()

    def _list_page(self, subscription_id: str, query: Mapping[str, list[str]], base_url: str) -> dict[str, Any]:
        token = _query_value(query, "$skiptoken")
        offset = 0
        if token is not None:
            if not token.isdigit():
                raise CognitiveError(400, "InvalidSkipToken", "The $skiptoken is malformed.")
            offset = int(token)
        accounts = self.in_subscription(subscription_id)
        size = max(1, self.list_page_size)
        page: dict[str, Any] = {"value": [a.to_arm() for a in accounts[offset : offset + size]]}
        if offset + size < len(accounts):
            version = _query_value(query, "api-version")
            page["nextLink"] = (
                f"{base_url}/subscriptions/{subscription_id}/providers/Microsoft.CognitiveServices/accounts"
                f"?api-version={version}&$skiptoken={offset + size}"
            )
        return page

    def resource_graph_rows(self, subscription_ids: Iterable[str]) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for sub in subscription_ids:
            rows.extend(a.to_row() for a in self.in_subscription(sub))
        return rows


def _state_from_body(body: bytes) -> str:
    try:
        data = json.loads(body or b"null")
    except ValueError:
        raise CognitiveError(
            400, "InvalidRequestContent", "The request content was invalid and could not be deserialized."
        ) from None
    props = data.get("properties") if isinstance(data, dict) else None
    state = props.get("state") if isinstance(props, dict) else None
    if state not in STATES:
        raise CognitiveError(
            400,
            "InvalidRequestContent",
            f"properties.state must be one of {', '.join(STATES)} (got {json.dumps(state)[:40]}).",
        )
    return str(state)


def _forbidden(action: str, scope: str) -> CognitiveError:
    return CognitiveError(
        403,
        "AuthorizationFailed",
        f"The client does not have authorization to perform action '{action}' over scope '{scope}' or the scope is "
        "invalid. If access was recently granted, please refresh your credentials.",
    )


def _query_value(query: Mapping[str, list[str]], name: str) -> str | None:
    for key, values in query.items():
        if key.lower() == name.lower() and values:
            return values[0]
    return None
