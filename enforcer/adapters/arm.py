"""Azure Resource Manager adapter: pricings and subscriptions through the real Azure SDK clients.

Clients are created lazily (cold start matters) and share one HTTP session. Throttling and
transient errors are retried by azure-core's RetryPolicy, which honours Retry-After; the only
addition is retrying ARM's 409 "Another update operation is in progress".
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from azure.core.credentials import AccessToken, TokenCredential
from azure.core.exceptions import AzureError
from azure.core.pipeline import PipelineRequest, PipelineResponse
from azure.core.pipeline.policies import RetryPolicy
from azure.mgmt.core.policies import ARMChallengeAuthenticationPolicy

from enforcer.adapters.azure_errors import classify
from enforcer.adapters.closing import ClosesOnExit
from enforcer.core.errors import EnforcementError, is_operation_in_progress
from enforcer.core.models import PLAN_NAME, ExtensionState, PricingState, SubscriptionInfo, SubscriptionListing
from enforcer.core.settings import is_loopback_host

if TYPE_CHECKING:
    from azure.core.pipeline.transport import RequestsTransport
    from azure.mgmt.resource.subscriptions import SubscriptionClient
    from azure.mgmt.security import SecurityCenter

logger = logging.getLogger(__name__)

PRICINGS_API_VERSION = "2024-01-01"
ARM_SCOPE = "https://management.azure.com/.default"
# SecurityCenter wants a subscription id even though pricings are addressed by scope_id.
_UNUSED_SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"


def scope_id(subscription_id: str) -> str:
    """The pricings API's scope: `subscriptions/<id>` with no leading slash."""
    return f"subscriptions/{subscription_id}"


class LocalEmulatorCredential:
    """A fixed token for the loopback ARM emulator; never used against a real endpoint."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken("local-emulator-token", int(time.time()) + 3600)


class LoopbackAwareAuthPolicy(ARMChallengeAuthenticationPolicy):
    """ARM bearer-token policy that may send the token over plain http, to a loopback host only."""

    def on_request(self, request: PipelineRequest[Any]) -> None:
        from urllib.parse import urlsplit

        if is_loopback_host(urlsplit(request.http_request.url).hostname):
            request.context["enforce_https"] = False
        super().on_request(request)


class ArmRetryPolicy(RetryPolicy[Any, Any]):
    """azure-core's retry (429/5xx, Retry-After) plus ARM's transient 409 for overlapping plan updates."""

    def is_retry(self, settings: dict[str, Any], response: PipelineResponse[Any, Any]) -> bool:
        http_response = response.http_response
        if http_response.status_code == 409 and settings["total"]:
            try:
                body = http_response.text()
            except Exception:  # body not loaded: fall back to the default rules
                body = ""
            if is_operation_in_progress(409, body):
                return True
        return bool(super().is_retry(settings, response))


@dataclass(frozen=True)
class RetrySettings:
    total: int = 6
    backoff_factor: float = 0.8
    backoff_max: float = 30.0


def pricing_from_sdk(pricing: Any) -> PricingState:
    extensions = tuple(
        ExtensionState(
            name=str(ext.name),
            enabled=str(ext.is_enabled).lower() == "true",
            status_code=getattr(ext.operation_status, "code", None),
            status_message=getattr(ext.operation_status, "message", None),
        )
        for ext in (pricing.extensions or [])
    )
    return PricingState(tier=str(pricing.pricing_tier), extensions=extensions, sub_plan=pricing.sub_plan)


def pricing_to_sdk(target: PricingState) -> Any:
    from azure.mgmt.security.v2024_01_01.models import Extension, Pricing

    return Pricing(
        pricing_tier=target.tier,
        sub_plan=target.sub_plan,
        extensions=[Extension(name=e.name, is_enabled="True" if e.enabled else "False") for e in target.extensions],
    )


class ArmGateway(ClosesOnExit):
    """The ARM calls the enforcer makes. Thread-safe; one instance per process is enough."""

    def __init__(
        self,
        endpoint: str,
        credential: TokenCredential | None = None,
        *,
        retry: RetrySettings | None = None,
        pool_size: int = 32,
        scope: str = ARM_SCOPE,
    ) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.scope = scope  # the token audience: from the settings, never a host the endpoint merely names
        self._credential = credential
        self._retry = retry or RetrySettings()
        self._pool_size = pool_size
        self._lock = threading.Lock()
        self._transport: RequestsTransport | None = None
        self._security: SecurityCenter | None = None
        self._subscriptions: SubscriptionClient | None = None

    # -- wiring -----------------------------------------------------------------------------------
    def credential(self) -> TokenCredential:
        """The token credential every client of this gateway uses (built lazily)."""
        if self._credential is None:
            from urllib.parse import urlsplit

            if is_loopback_host(urlsplit(self.endpoint).hostname):
                self._credential = LocalEmulatorCredential()
            else:
                from azure.identity import DefaultAzureCredential

                self._credential = DefaultAzureCredential()
        return self._credential

    def client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for an azure-mgmt client sharing this gateway's session, auth and retry policies."""
        import requests
        from azure.core.pipeline.transport import RequestsTransport

        if self._transport is None:
            session = requests.Session()
            adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=self._pool_size)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            self._transport = RequestsTransport(session=session, session_owner=False)
        credential = self.credential()
        return {
            "base_url": self.endpoint,
            "transport": self._transport,
            "authentication_policy": LoopbackAwareAuthPolicy(credential, self.scope),
            "retry_policy": ArmRetryPolicy(
                retry_total=self._retry.total,
                retry_backoff_factor=self._retry.backoff_factor,
                retry_backoff_max=self._retry.backoff_max,
            ),
            "connection_timeout": 10,
            "read_timeout": 60,
        }

    @property
    def security(self) -> SecurityCenter:
        with self._lock:
            if self._security is None:
                from azure.mgmt.security import SecurityCenter

                self._security = SecurityCenter(self.credential(), _UNUSED_SUBSCRIPTION, **self.client_kwargs())
            return self._security

    @property
    def subscriptions(self) -> SubscriptionClient:
        with self._lock:
            if self._subscriptions is None:
                from azure.mgmt.resource.subscriptions import SubscriptionClient

                self._subscriptions = SubscriptionClient(self.credential(), **self.client_kwargs())
            return self._subscriptions

    def close(self) -> None:
        for client in (self._security, self._subscriptions):
            if client is not None:
                client.close()
        if self._transport is not None and self._transport.session is not None:
            self._transport.session.close()

    # -- calls ------------------------------------------------------------------------------------
    def get_pricing(self, subscription_id: str) -> PricingState:
        try:
            pricing = self.security.pricings.get(scope_id(subscription_id), PLAN_NAME)
        except AzureError as error:
            raise classify(error, action="read pricings/AI", subscription_id=subscription_id) from error
        return pricing_from_sdk(pricing)

    def put_pricing(self, subscription_id: str, target: PricingState) -> PricingState:
        """PUT the full pricing (a PUT replaces it); the answer carries each extension's operationStatus."""
        try:
            pricing = self.security.pricings.update(scope_id(subscription_id), PLAN_NAME, pricing_to_sdk(target))
        except AzureError as error:
            raise classify(error, action="write pricings/AI", subscription_id=subscription_id) from error
        return pricing_from_sdk(pricing)

    def get_subscription(self, subscription_id: str) -> SubscriptionInfo:
        try:
            sub = self.subscriptions.subscriptions.get(subscription_id)
        except AzureError as error:
            raise classify(error, action="read the subscription", subscription_id=subscription_id) from error
        return subscription_info_from_sdk(sub)

    def list_subscriptions(self) -> SubscriptionListing:
        """Every subscription the identity can see, following nextLink pages."""
        subscriptions: list[SubscriptionInfo] = []
        pages = 0
        try:
            for page in self.subscriptions.subscriptions.list().by_page():
                pages += 1
                subscriptions.extend(subscription_info_from_sdk(sub) for sub in page)
        except AzureError as error:
            raise classify(error, action="list subscriptions", subscription_id="(all)") from error
        return SubscriptionListing(subscriptions, pages)


def subscription_info_from_sdk(sub: Any) -> SubscriptionInfo:
    return SubscriptionInfo(
        subscription_id=str(sub.subscription_id).lower(),
        display_name=sub.display_name,
        state=str(getattr(sub.state, "value", sub.state)) if sub.state is not None else None,
        tags=dict(sub.tags or {}),
    )


__all__ = [
    "ArmGateway",
    "ArmRetryPolicy",
    "EnforcementError",
    "LocalEmulatorCredential",
    "RetrySettings",
    "SubscriptionInfo",
    "SubscriptionListing",
    "pricing_from_sdk",
    "pricing_to_sdk",
    "scope_id",
]
