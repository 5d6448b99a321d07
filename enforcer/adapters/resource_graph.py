"""Azure Resource Graph adapter: every subscription (name, state, tags, management groups) with its AI plan pricing,
in one pass.

One query joins `resourcecontainers` (the subscriptions) with `securityresources` (the AI pricing), 1,000 rows
a page, so 10,000 subscriptions cost about 10 queries. Resource Graph's per-user quota (15 queries per 5 s by
default) is honoured from its `x-ms-user-quota-remaining` / `x-ms-user-quota-resets-after` headers: the gateway
waits for the window to reset instead of running into 429s.

Resource Graph is an index, not the source of truth: it can lag behind ARM (no freshness guarantee,
most changes within about 30 s), so the sweep uses it only to find candidates and confirms each one
with an ARM GET before any write. The client shares the ArmGateway's HTTP session, credential and
azure-core pipeline (Retry-After honoured), with fewer retries: when Resource Graph is down, the sweep
falls back to direct GETs rather than waiting.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from azure.core.exceptions import AzureError

from enforcer.adapters.arm import ArmGateway, RetrySettings
from enforcer.adapters.azure_errors import describe
from enforcer.core.ancestry import ancestry_from_chain
from enforcer.core.errors import ResourceGraphError
from enforcer.core.models import (
    MAX_SUBSCRIPTIONS_PER_QUERY,
    PLAN_NAME,
    ExtensionState,
    InventoryRows,
    PricingState,
    SubscriptionInfo,
)
from enforcer.core.text import is_guid

if TYPE_CHECKING:
    from azure.mgmt.resourcegraph import ResourceGraphClient

logger = logging.getLogger(__name__)

# Resource Graph returns at most 1,000 rows a page.
MAX_PAGE_SIZE: Final = 1000
# Ordered by a unique column so that skip-token paging neither repeats nor drops rows (Resource Graph's paging
# guidance: without `order by`, paged results are not repeatable). pricingTier goes through tostring() because
# a query whose columns are all dynamic gets no $skipToken.
# Our reading of the public query examples: in `resourcecontainers`, a subscription's `name` is its display name
# and `properties.state` its state. The leftouter join keeps subscriptions that have no pricing row.
# managementGroups is `properties.managementGroupAncestorsChain`, nearest parent first (core/ancestry.py cites it).
INVENTORY_QUERY: Final = (
    "resourcecontainers "
    "| where type =~ 'microsoft.resources/subscriptions' "
    "| project subscriptionId, name, state = tostring(properties.state), tags, "
    "managementGroups = properties.managementGroupAncestorsChain "
    "| join kind=leftouter (securityresources "
    "| where type =~ 'microsoft.security/pricings' and name =~ '{plan}' "
    "| project subscriptionId, pricingTier = tostring(properties.pricingTier), extensions = properties.extensions) "
    "on subscriptionId "
    "| project subscriptionId, name, state, tags, managementGroups, pricingTier, extensions "
    "| order by subscriptionId asc"
)

# One quick retry: a Resource Graph outage costs seconds before the batch falls back to direct GETs.
DEFAULT_RETRY: Final = RetrySettings(total=2, backoff_factor=0.5, backoff_max=4.0)


def _enabled(value: object) -> bool:
    return str(value).strip().lower() == "true"


def pricing_from_row(row: Mapping[str, Any]) -> PricingState | None:
    """A Resource Graph row (objectArray format) as a PricingState, or None when it is not readable."""
    tier = row.get("pricingTier")
    if not isinstance(tier, str) or not tier:
        return None
    raw_extensions = row.get("extensions")
    if raw_extensions is None:
        raw_extensions = []
    if not isinstance(raw_extensions, list):
        return None
    extensions: list[ExtensionState] = []
    for item in raw_extensions:
        if not isinstance(item, Mapping) or not isinstance(item.get("name"), str):
            return None
        status = item.get("operationStatus")
        status_code = status.get("code") if isinstance(status, Mapping) else None
        extensions.append(
            ExtensionState(
                name=str(item["name"]),
                enabled=_enabled(item.get("isEnabled")),
                status_code=str(status_code) if status_code is not None else None,
            )
        )
    # Canonical casing, as ARM answers a GET; the decision compares with "Standard".
    canonical = {"standard": "Standard", "free": "Free"}.get(tier.strip().lower(), tier)
    return PricingState(tier=canonical, extensions=tuple(extensions))


def info_from_row(row: Mapping[str, Any]) -> SubscriptionInfo | None:
    sub = str(row.get("subscriptionId") or "").lower()
    if not is_guid(sub):
        return None
    tags = row.get("tags")
    return SubscriptionInfo(
        subscription_id=sub,
        display_name=str(row["name"]) if isinstance(row.get("name"), str) else None,
        state=str(row["state"]) if isinstance(row.get("state"), str) and row.get("state") else None,
        tags={str(k): str(v) for k, v in tags.items()} if isinstance(tags, Mapping) else {},
        management_groups=ancestry_from_chain(row.get("managementGroups")),
    )


def inventory_from_rows(rows: Sequence[Any], requests: int, waited: float) -> InventoryRows:
    subscriptions: list[SubscriptionInfo] = []
    pricings: dict[str, PricingState | None] = {}
    for row in rows:
        if not isinstance(row, Mapping) or (info := info_from_row(row)) is None:
            continue
        subscriptions.append(info)
        pricings[info.subscription_id] = pricing_from_row(row)
    return InventoryRows(subscriptions, pricings, requests=requests, quota_wait_seconds=waited)


class ResourceGraphGateway:
    """Queries Resource Graph through the ArmGateway's session and credential. Thread-safe; close() when done.

    Closing it does not close the ArmGateway's shared HTTP session (the transport is not owned).
    """

    def __init__(
        self, arm: ArmGateway, *, retry: RetrySettings = DEFAULT_RETRY, page_size: int = MAX_PAGE_SIZE
    ) -> None:
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}")
        self._arm = arm
        self._retry = retry
        self._page_size = page_size
        self._lock = threading.Lock()
        self._client: ResourceGraphClient | None = None
        # Resource Graph's quota is per user: every gateway on this identity shares one view of it.
        self._quota = arm.graph_quota

    @property
    def client(self) -> ResourceGraphClient:
        with self._lock:
            if self._client is None:
                from azure.mgmt.resourcegraph import ResourceGraphClient

                kwargs = self._arm.client_kwargs()
                # Fewer count-based retries (an outage falls back quickly), the gateway's deadline for throttling.
                kwargs["retry_policy"] = dataclasses.replace(
                    self._retry,
                    deadline_seconds=self._arm.retry.deadline_seconds,
                    conflict_deadline_seconds=self._arm.retry.conflict_deadline_seconds,
                ).policy()
                self._client = ResourceGraphClient(self._arm.credential(), **kwargs)
            return self._client

    def close(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    def __enter__(self) -> ResourceGraphGateway:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def inventory(self, subscription_ids: Sequence[str] | None = None, plan: str = PLAN_NAME) -> InventoryRows:
        """Every subscription the identity can read (or these, at most 1,000) with the plan's pricing, all pages.

        Raises ResourceGraphError when a page fails after the pipeline's retries.
        """
        if subscription_ids is not None and len(subscription_ids) > MAX_SUBSCRIPTIONS_PER_QUERY:
            raise ValueError(f"at most {MAX_SUBSCRIPTIONS_PER_QUERY} subscriptions per query")
        ids = [s.lower() for s in subscription_ids] if subscription_ids is not None else None
        rows, requests, waited = self.query(INVENTORY_QUERY.format(plan=plan), ids)
        logger.debug("resource graph: %d subscription row(s) in %d request(s)", len(rows), requests)
        return inventory_from_rows(rows, requests, waited)

    def query(self, query: str, subscriptions: list[str] | None) -> tuple[list[Any], int, float]:
        """All rows of a query (objectArray), paged with skip tokens, within the quota; (rows, requests, waited)."""
        from azure.mgmt.resourcegraph.models import QueryRequest, QueryRequestOptions

        rows: list[Any] = []
        requests, waited = 0, 0.0
        skip_token: str | None = None
        while True:
            pause = self._quota.wait_seconds()
            if pause > 0:
                logger.info("resource graph: quota spent, waiting %.1f s for the window to reset", pause)
                time.sleep(pause)
                waited += pause
            request = QueryRequest(
                subscriptions=subscriptions,
                query=query,
                options=QueryRequestOptions(result_format="objectArray", top=self._page_size, skip_token=skip_token),
            )
            requests += 1
            self._quota.spend()
            try:
                response = self.client.resources(request, cls=self._keep_headers)
            except AzureError as error:
                self._note_error_headers(error)
                raise ResourceGraphError(f"Resource Graph query failed: {describe(error)}", requests) from error
            data: Any = response.data  # objectArray: a list of row objects (typed as a JSON mapping in the SDK)
            if not isinstance(data, list):
                raise ResourceGraphError("Resource Graph answered without an object array", requests)
            rows.extend(data)
            skip_token = response.skip_token
            if not skip_token:
                return rows, requests, waited

    def _keep_headers(self, pipeline_response: Any, deserialized: Any, _headers: Any) -> Any:
        self._quota.note(pipeline_response.http_response.headers)
        return deserialized

    def _note_error_headers(self, error: AzureError) -> None:
        response = getattr(error, "response", None)
        if response is not None:
            self._quota.note(response.headers)
