"""Turn ARM failures into errors a tenant admin can act on."""

from __future__ import annotations

import json
from dataclasses import dataclass

from azure.core.exceptions import AzureError, ClientAuthenticationError, HttpResponseError

from enforcer.core.models import ErrorKind

SECURITY_ADMIN = "Security Admin"
OPERATION_IN_PROGRESS = "another update operation is in progress"
_MAX_DETAIL = 300


@dataclass
class EnforcementError(Exception):
    """A failure with its kind and a message that says what to do about it."""

    kind: ErrorKind
    message: str

    def __str__(self) -> str:
        return self.message


def _error_code_and_message(error: HttpResponseError) -> tuple[str, str]:
    """ARM CloudError `{"error": {"code", "message"}}`, read from the response when the SDK did not parse it."""
    code = ""
    message = ""
    if error.error is not None:
        code = error.error.code or ""
        message = error.error.message or ""
    if not code and error.response is not None:
        try:
            body = json.loads(error.response.text())
            inner = body.get("error", {}) if isinstance(body, dict) else {}
            code = str(inner.get("code", "") or "")
            message = str(inner.get("message", "") or "")
        except (ValueError, AttributeError):
            pass
    return code, _clip(message or str(error.reason or ""))


def _clip(text: str) -> str:
    return text if len(text) <= _MAX_DETAIL else text[: _MAX_DETAIL - 1] + "…"


def is_operation_in_progress(status_code: int, body: str) -> bool:
    """Defender plan updates on one subscription must not overlap; ARM answers 409 with this text."""
    return status_code == 409 and OPERATION_IN_PROGRESS in body.lower()


def classify(error: AzureError, *, action: str, subscription_id: str) -> EnforcementError:
    """Map an SDK error to an ErrorKind and advice. `action` is what was attempted, e.g. 'read pricings/AI'."""
    sub = subscription_id
    if isinstance(error, ClientAuthenticationError) and error.status_code is None:
        # Raised by the credential itself: no request reached ARM.
        return EnforcementError(
            ErrorKind.UNAUTHENTICATED,
            f"Could not get a token to {action} on subscription {sub}: {str(error)[:_MAX_DETAIL]}. "
            "Fix: check the app's managed identity (or your `az login`) and the tenant.",
        )
    if not isinstance(error, HttpResponseError):
        return EnforcementError(
            ErrorKind.UNEXPECTED,
            f"Could not reach Azure Resource Manager to {action} on subscription {sub}: "
            f"{str(error)[:_MAX_DETAIL]}. Fix: none needed if it was transient; the next event or sweep retries.",
        )
    status = error.status_code or 0
    code, detail = _error_code_and_message(error)
    code_lower = code.lower()
    if status == 401 or (isinstance(error, ClientAuthenticationError) and status in (0, 401)):
        return EnforcementError(
            ErrorKind.UNAUTHENTICATED,
            f"Azure Resource Manager refused the token to {action} on subscription {sub} ({code or status}). "
            "Fix: check the identity's tenant and that the token is for https://management.azure.com.",
        )
    if status == 403:
        needed = "Reader (or Security Reader)" if action.startswith("read") else SECURITY_ADMIN
        return EnforcementError(
            ErrorKind.FORBIDDEN,
            f"Permission denied to {action} on subscription {sub} ({code or 'Forbidden'}); ARM said: {detail} "
            f"Fix: grant the enforcer's identity the {needed} role on the subscription or its management group "
            "(Owner, or Security Admin plus User Access Administrator, where enabled components must assign roles).",
        )
    if status == 404 and code_lower in ("subscriptionnotfound", "invalidsubscriptionid", ""):
        return EnforcementError(
            ErrorKind.SUBSCRIPTION_NOT_FOUND,
            f"Subscription {sub} was not found, or the enforcer's identity cannot see it. "
            "Fix: check the id, and that the identity has Reader on the subscription.",
        )
    if code_lower in ("readonlydisabledsubscription", "subscriptionnotregistered") or (
        "disabled" in code_lower and "subscription" in code_lower
    ):
        return EnforcementError(
            ErrorKind.SUBSCRIPTION_DISABLED,
            f"Subscription {sub} is disabled and read-only, so the plan cannot be changed. "
            "Fix: re-enable the subscription, or exclude it (ENFORCER_EXCLUDE_SUBSCRIPTIONS) if it is being retired.",
        )
    if code_lower in ("missingsubscriptionregistration", "subscriptionnotregisteredforresourceprovider"):
        return EnforcementError(
            ErrorKind.PROVIDER_NOT_REGISTERED,
            f"The Microsoft.Security resource provider is not registered on subscription {sub}, and the enforcer "
            f"could not register it; ARM said: {detail} Fix: run `az provider register --namespace Microsoft.Security "
            f"--subscription {sub}` or let the identity register providers (Contributor).",
        )
    if status == 409 and OPERATION_IN_PROGRESS in detail.lower():
        return EnforcementError(
            ErrorKind.CONFLICT,
            f"Another Defender plan update was still in progress on subscription {sub} after retries with backoff. "
            "Nothing was changed. Fix: none needed; the next event or sweep retries.",
        )
    if status == 429:
        return EnforcementError(
            ErrorKind.THROTTLED,
            f"Azure Resource Manager kept throttling requests to {action} on subscription {sub} (429) "
            "after honouring Retry-After. "
            "Fix: the next sweep retries; lower ENFORCER_SWEEP_CONCURRENCY if this persists.",
        )
    return EnforcementError(
        ErrorKind.UNEXPECTED,
        f"Azure Resource Manager answered {status} {code} to {action} on subscription {sub}: {detail}. "
        "Fix: the next event or sweep retries; if it persists, check Azure status and the identity.",
    )


def extension_failure_message(subscription_id: str, failures: list[tuple[str, str]]) -> str:
    """A 200 PUT can carry failed extensions (`operationStatus.code == Failed`)."""
    listed = "; ".join(f"{name}: {message[:_MAX_DETAIL]}" for name, message in failures)
    return (
        f"The plan is Standard on subscription {subscription_id}, but these components failed: {listed}. "
        "Fix: components that assign roles to Defender's own identities need the enforcer to hold Owner "
        "(or User Access Administrator) at that scope; check the component's prerequisites "
        "(e.g. a Purview licence for data security). The next sweep retries."
    )
