"""Azure Resource Manager adapter: pricings and subscriptions through the real Azure SDK clients.

Clients are created lazily (cold start matters) and share one HTTP session. Transient errors are
retried by azure-core's RetryPolicy. `ArmRetryPolicy` changes how long: throttling (429, and 503 with
Retry-After) and ARM's 409 "Another update operation is in progress" are retried for as long as a
per-call deadline allows, never before Retry-After and with jitter, instead of for a fixed count.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from azure.core.credentials import AccessToken, TokenCredential
from azure.core.exceptions import AzureError
from azure.core.pipeline import PipelineRequest, PipelineResponse
from azure.core.pipeline.policies import RetryPolicy
from azure.mgmt.core.policies import ARMChallengeAuthenticationPolicy

from enforcer.adapters.azure_errors import classify
from enforcer.adapters.closing import ClosesOnExit
from enforcer.core.actors import object_id_from_token
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


# Per-call keyword (passed through the SDK into the pipeline's options): this call's retry deadline in seconds.
RETRY_DEADLINE_OPTION = "retry_deadline"


class ArmRetryPolicy(RetryPolicy[Any, Any]):
    """azure-core's retry, with throttling and ARM's transient 409 bounded by time instead of a count.

    - 429 (with or without Retry-After) and 503 with Retry-After: retried until the call's deadline
      (`deadline_seconds`, or the `retry_deadline` keyword on one call). Never sent again before Retry-After;
      a random jitter is added on top so that workers throttled together do not return in lock-step. When
      Retry-After reaches past the deadline, the call ends at once with the throttled answer: waiting could
      not make it succeed within the deadline (a Retry-After of 3600 s never holds a call for an hour).
    - 409 "Another update operation is in progress": retried with jittered exponential backoff until
      `conflict_deadline_seconds` (Terraform's provider polls this until the in-flight update settles).
    - Everything else (5xx without Retry-After, connection errors): azure-core's count-based rules.
    """

    def __init__(
        self, *, deadline_seconds: float = 120.0, conflict_deadline_seconds: float = 60.0, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.deadline_seconds = deadline_seconds
        self.conflict_deadline_seconds = conflict_deadline_seconds

    def configure_retries(self, options: dict[str, Any]) -> dict[str, Any]:
        settings = super().configure_retries(options)
        deadline = options.pop(RETRY_DEADLINE_OPTION, None)
        deadline = self.deadline_seconds if deadline is None else float(deadline)
        now = time.monotonic()
        settings["deadline"] = now + deadline
        settings["conflict_deadline"] = now + min(deadline, self.conflict_deadline_seconds)
        settings["timed"] = False  # whether the last answer is one the deadline (not the count) governs
        settings["timed_attempts"] = 0
        return settings

    @staticmethod
    def _is_conflict_in_progress(response: PipelineResponse[Any, Any]) -> bool:
        http_response = response.http_response
        if http_response.status_code != 409:
            return False
        try:
            body = http_response.text()
        except Exception:  # body not loaded: not ours to retry
            return False
        return is_operation_in_progress(409, body)

    def _wait_before_retry(self, settings: dict[str, Any], response: PipelineResponse[Any, Any]) -> float | None:
        """Seconds to wait before the next attempt, or None when the deadline does not allow one."""
        now = time.monotonic()
        if self._is_conflict_in_progress(response):
            remaining = float(settings["conflict_deadline"]) - now
            attempt = int(settings["timed_attempts"])
            backoff = min(float(self.backoff_max), self.backoff_factor * float(2**attempt))
            wait = backoff * random.uniform(0.5, 1.0)  # jittered backoff
            if remaining <= 0:
                return None
            return min(wait, remaining)
        remaining = float(settings["deadline"]) - now
        retry_after = self.get_retry_after(response)
        if retry_after is None:
            attempt = int(settings["timed_attempts"])
            retry_after = min(float(self.backoff_max), self.backoff_factor * float(2**attempt))
        if retry_after > remaining:
            return None
        # Jitter goes on top of Retry-After (never before it), capped at the time left.
        jitter = random.uniform(0.0, min(1.0, 0.1 * retry_after + 0.05))
        return min(retry_after + jitter, remaining)

    def _is_timed(self, response: PipelineResponse[Any, Any]) -> bool:
        status = response.http_response.status_code
        if status == 429:
            return True
        if status == 503 and self.get_retry_after(response) is not None:
            return True
        return self._is_conflict_in_progress(response)

    def is_retry(self, settings: dict[str, Any], response: PipelineResponse[Any, Any]) -> bool:
        settings["timed"] = False
        if self._is_timed(response):
            wait = self._wait_before_retry(settings, response)
            if wait is None:
                logger.info(
                    "giving up on %s %s after %d retries: %d and the retry deadline has passed",
                    response.http_request.method,
                    response.http_request.url.split("?")[0],
                    settings["timed_attempts"],
                    response.http_response.status_code,
                )
                return False
            settings["timed"] = True
            settings["timed_wait"] = wait
            return True
        return bool(super().is_retry(settings, response))

    def is_exhausted(self, settings: dict[str, Any]) -> bool:
        if settings.get("timed"):
            return False  # the deadline, checked in is_retry, governs these
        return bool(super().is_exhausted(settings))

    def increment(self, settings: dict[str, Any], response: Any = None, error: Exception | None = None) -> bool:
        timed = bool(settings.get("timed")) and error is None
        retry = bool(super().increment(settings, response=response, error=error))
        if timed:
            # Timed retries do not spend the count kept for other errors.
            settings["total"] += 1
            settings["status"] += 1
            settings["timed_attempts"] += 1
        return retry

    def sleep(self, settings: dict[str, Any], transport: Any, response: Any = None) -> None:
        if settings.get("timed") and response is not None:
            wait = float(settings.pop("timed_wait", 0.0))
            settings["timed"] = False
            if wait > 0:
                transport.sleep(wait)
            return
        super().sleep(settings, transport, response=response)


@dataclass(frozen=True)
class RetrySettings:
    total: int = 6
    backoff_factor: float = 0.8
    backoff_max: float = 30.0
    # Throttling (429, 503 with Retry-After) is retried until this many seconds after the call began.
    deadline_seconds: float = 120.0
    # ARM's 409 "Another update operation is in progress" is retried with backoff until this deadline.
    conflict_deadline_seconds: float = 60.0

    def policy(self) -> ArmRetryPolicy:
        return ArmRetryPolicy(
            retry_total=self.total,
            retry_backoff_factor=self.backoff_factor,
            retry_backoff_max=self.backoff_max,
            deadline_seconds=self.deadline_seconds,
            conflict_deadline_seconds=self.conflict_deadline_seconds,
        )


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


# Never wait longer than this for Resource Graph's quota window to reset (it is 5 s in Azure).
MAX_QUOTA_WAIT_SECONDS: Final = 30.0


def parse_resets_after(value: str | None) -> float | None:
    """`hh:mm:ss` (Resource Graph's x-ms-user-quota-resets-after) in seconds."""
    if not value:
        return None
    try:
        hours, minutes, seconds = (float(part) for part in value.split(":"))
    except ValueError:
        return None
    return hours * 3600 + minutes * 60 + seconds


class GraphQuota:
    """What Resource Graph's last answer said of the per-user quota (`x-ms-user-quota-remaining` /
    `x-ms-user-quota-resets-after`); every query on this identity waits while it is spent. Thread-safe."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._remaining: int | None = None
        self._resets_at = 0.0

    def note(self, headers: Mapping[str, str]) -> None:
        remaining = headers.get("x-ms-user-quota-remaining")
        resets = parse_resets_after(headers.get("x-ms-user-quota-resets-after"))
        with self._lock:
            if remaining is not None and remaining.strip().lstrip("-").isdigit():
                self._remaining = int(remaining)
            if resets is not None:
                self._resets_at = self._clock() + resets

    def wait_seconds(self) -> float:
        with self._lock:
            if self._remaining is None or self._remaining > 0:
                return 0.0
            wait = self._resets_at - self._clock()
            if wait <= 0:
                self._remaining = None  # a new window: the next answer says how much is left
                return 0.0
            return min(wait, MAX_QUOTA_WAIT_SECONDS)

    def spend(self) -> None:
        with self._lock:
            if self._remaining is not None:
                self._remaining -= 1


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
        self.graph_quota = GraphQuota()
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
            "retry_policy": self._retry.policy(),
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

    def own_object_id(self) -> str | None:
        """The `oid` of this gateway's own ARM token (core/actors.py), or None when the token does not say (the
        emulator's fixed token) or cannot be had. Never raises: the caller then reads its own writes back."""
        try:
            token = self.credential().get_token(self.scope).token
        except Exception as error:  # no identity yet: own writes are checked with one GET instead
            logger.warning("could not read the enforcer's own object id from its token: %s", type(error).__name__)
            return None
        return object_id_from_token(token)

    # -- calls ------------------------------------------------------------------------------------
    @property
    def retry(self) -> RetrySettings:
        return self._retry

    @staticmethod
    def _options(deadline: float | None) -> dict[str, Any]:
        return {} if deadline is None else {RETRY_DEADLINE_OPTION: deadline}

    def get_pricing(self, subscription_id: str, *, deadline: float | None = None) -> PricingState:
        """`deadline`: seconds this call may spend retrying throttling (default: the gateway's RetrySettings)."""
        try:
            pricing = self.security.pricings.get(scope_id(subscription_id), PLAN_NAME, **self._options(deadline))
        except AzureError as error:
            raise classify(error, action="read pricings/AI", subscription_id=subscription_id) from error
        return pricing_from_sdk(pricing)

    def put_pricing(self, subscription_id: str, target: PricingState, *, deadline: float | None = None) -> PricingState:
        """PUT the full pricing (a PUT replaces it); the answer carries each extension's operationStatus."""
        try:
            pricing = self.security.pricings.update(
                scope_id(subscription_id), PLAN_NAME, pricing_to_sdk(target), **self._options(deadline)
            )
        except AzureError as error:
            raise classify(error, action="write pricings/AI", subscription_id=subscription_id) from error
        return pricing_from_sdk(pricing)

    def get_subscription(self, subscription_id: str, *, deadline: float | None = None) -> SubscriptionInfo:
        try:
            sub = self.subscriptions.subscriptions.get(subscription_id, **self._options(deadline))
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
