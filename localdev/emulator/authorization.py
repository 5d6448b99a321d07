"""The emulator's `Microsoft.Authorization/permissions` API and the tenant modes `doctor` is tested against
(never deployed).

Served (any api-version; the enforcer sends 2022-04-01):
- `GET /subscriptions/{s}/providers/Microsoft.Authorization/permissions`
- `GET /providers/Microsoft.Management/managementGroups/{g}/providers/Microsoft.Authorization/permissions`

The answer's shape is that of the published Permissions_ListForResourceGroup example (`value` of
`{actions, notActions, dataActions, notDataActions}`, one entry per role the caller holds there). Our reading, not
published: the same API at subscription and management-group scope (an extension resource answers at any scope,
as `az role assignment` uses it), and no `nextLink` for a handful of roles.

By default the identity may do everything (`actions: ["*"]`), as every other emulated call allows unless a
fault says otherwise; tests set the actions per scope with `grant(scope, actions, not_actions)`.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from localdev.emulator.state import ExtensionSpec, PlanSpec, default_plans

KIND: Final = "authorization.permissions"
ROUTES: Final[tuple[tuple[str, re.Pattern[str], str], ...]] = (
    (
        "GET",
        re.compile(r"^/subscriptions/(?P<sub>[^/]+)/providers/Microsoft\.Authorization/permissions/?$", re.IGNORECASE),
        KIND,
    ),
    (
        "GET",
        re.compile(
            r"^/providers/Microsoft\.Management/managementGroups/[^/]+/providers/Microsoft\.Authorization/permissions/?$",
            re.IGNORECASE,
        ),
        KIND,
    ),
)
_SCOPE: Final = re.compile(r"^(?P<scope>.*)/providers/Microsoft\.Authorization/permissions/?$", re.IGNORECASE)
EVERYTHING: Final = ({"actions": ["*"], "notActions": [], "dataActions": [], "notDataActions": []},)


class Permissions:
    """What the caller may do, per scope (lower-cased `/subscriptions/<id>` or `/providers/...managementGroups/<g>`)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_scope: dict[str, tuple[dict[str, Any], ...]] = {}

    def grant(self, scope: str, roles: Iterable[tuple[Sequence[str], Sequence[str]]]) -> None:
        """Set the scope's permission entries: one (actions, notActions) per role held there."""
        entries = tuple(
            {"actions": list(actions), "notActions": list(not_actions), "dataActions": [], "notDataActions": []}
            for actions, not_actions in roles
        )
        with self._lock:
            self._by_scope[scope.rstrip("/").lower()] = entries

    def serve(self, path: str) -> tuple[int, dict[str, Any]]:
        match = _SCOPE.match(path)
        scope = match.group("scope").lower() if match else ""
        with self._lock:
            entries = self._by_scope.get(scope, EVERYTHING)
        return 200, {"value": [dict(e) for e in entries]}


def plans_offering(model_security_name: str, plans: Mapping[str, PlanSpec] | None = None) -> dict[str, PlanSpec]:
    """The catalogue with the AI plan's model-security extension under another name (e.g. `AIModelSecurity`, the
    name one third-party source gives): the mode in which the enforcer's default `AIModelScanner` is not offered."""
    catalogue = dict(plans) if plans is not None else default_plans()
    ai = catalogue["AI"]
    extensions = tuple(
        ExtensionSpec(model_security_name, enabled_when_omitted=e.enabled_when_omitted)
        if e.name == "AIModelScanner"
        else e
        for e in ai.extensions
    )
    catalogue["AI"] = PlanSpec(ai.name, extensions, ai.default_sub_plan, ai.deprecated, ai.replaced_by)
    return catalogue


def without_columns(rows: list[dict[str, Any]], columns: Iterable[str]) -> list[dict[str, Any]]:
    """Resource Graph rows without these columns: the mode in which a projected column is not what Azure returns."""
    dropped = {c.lower() for c in columns}
    if not dropped:
        return rows
    return [{k: v for k, v in row.items() if k.lower() not in dropped} for row in rows]
