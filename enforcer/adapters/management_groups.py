"""Management Groups adapter: every subscription's management-group ancestry from one read of the tree.

The fallback for subscriptions Resource Graph did not describe (Resource Graph down, or not indexed yet): the
Entities API, `POST /providers/Microsoft.Management/getEntities` (api-version 2021-04-01), lists every management
group and subscription the identity can see, each with its `parentNameChain`, in `nextLink` pages. One paged read
answers for the whole tenant, so the sweep calls it at most once (usecases/sweep/plan.py), never per subscription.
Source: azure-rest-api-specs, specification/managementgroups (Entities_List); the parsing is core/ancestry.py.

It goes through the ArmGateway's subscriptions client (`send_request`, the generated client's raw-request entry
point), so it shares its session, credential and azure-core retry policy (Retry-After honoured, deadline bound).
"""

from __future__ import annotations

import json
from typing import Any, Final

from azure.core.exceptions import AzureError

from enforcer.adapters.arm import RETRY_DEADLINE_OPTION, ArmGateway
from enforcer.adapters.azure_errors import ALL_SUBSCRIPTIONS, classify
from enforcer.core.ancestry import Ancestry, ancestry_from_entities
from enforcer.core.errors import EnforcementError
from enforcer.core.models import ErrorKind

ENTITIES_API_VERSION: Final = "2021-04-01"
ENTITIES_PATH: Final = "/providers/Microsoft.Management/getEntities"
# A tree of 10,000 subscriptions is a few pages; a nextLink chain longer than this is a loop, not a tree.
MAX_PAGES: Final = 1000


class ManagementGroupGateway:
    """Reads the management-group tree through the ArmGateway's client. Owns no client: nothing to close."""

    def __init__(self, arm: ArmGateway) -> None:
        self._arm = arm

    def close(self) -> None:
        """Nothing of its own: the ArmGateway closes the shared client."""

    def ancestry(self, *, deadline: float | None = None) -> Ancestry:
        """Subscription id -> management groups (nearest parent first), all pages; raises EnforcementError.
        `deadline`: seconds each page may spend retrying throttling (default: the gateway's RetrySettings)."""
        from azure.core.rest import HttpRequest

        send = self._arm.subscriptions.send_request
        # no-cache: the Entities API may answer from a cache (its Cache-Control parameter); a moved subscription
        # should match its new group on this sweep.
        url: str | None = f"{ENTITIES_PATH}?api-version={ENTITIES_API_VERSION}"
        entities: list[Any] = []
        requests = 0
        while url:
            if requests == MAX_PAGES:
                raise EnforcementError(
                    ErrorKind.UNEXPECTED,
                    f"The Entities API kept answering nextLink after {MAX_PAGES} pages. "
                    "Fix: none needed here; the next sweep reads the tree again (report it if it persists).",
                )
            requests += 1
            try:
                request = HttpRequest("POST", url, headers={"Cache-Control": "no-cache"})
                options: dict[str, Any] = {} if deadline is None else {RETRY_DEADLINE_OPTION: deadline}
                response = send(request, **options)
                response.raise_for_status()
            except AzureError as error:
                raise classify(
                    error,
                    action="read the management-group tree (Microsoft.Management/getEntities)",
                    subscription_id=ALL_SUBSCRIPTIONS,
                ) from error
            try:
                body = json.loads(response.text())
            except ValueError:
                body = None
            if not isinstance(body, dict) or not isinstance(body.get("value"), list):
                raise EnforcementError(
                    ErrorKind.UNEXPECTED,
                    "The Entities API answered without a `value` list. "
                    "Fix: none needed here; the next sweep reads the tree again.",
                )
            entities.extend(body["value"])
            next_link = body.get("nextLink")
            url = next_link if isinstance(next_link, str) and next_link else None
        return Ancestry(ancestry_from_entities(entities), requests)
