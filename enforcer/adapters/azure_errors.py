"""Turn Azure SDK failures from ARM into `EnforcementError`s whose messages name the cause and the fix."""

from __future__ import annotations

import json

from azure.core.exceptions import AzureError, ClientAuthenticationError, HttpResponseError, ServiceRequestError

from enforcer.adapters.store_transport import StoreAnswerError, StoreDeadlineError
from enforcer.core.errors import MAX_DETAIL, OPERATION_IN_PROGRESS, SECURITY_ADMIN, EnforcementError
from enforcer.core.models import ErrorKind
from enforcer.core.text import clip


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
    return code, clip(message or str(error.reason or ""), MAX_DETAIL)


ALL_SUBSCRIPTIONS = "(all)"


def classify(error: AzureError, *, action: str, subscription_id: str) -> EnforcementError:
    """Map an SDK error to an ErrorKind and advice. `action` is what was attempted, e.g. 'read pricings/AI'."""
    # A call about no one subscription (listing them all) names none: "to list subscriptions: ...".
    on_sub = "" if subscription_id in ("", ALL_SUBSCRIPTIONS) else f" on subscription {subscription_id}"
    sub = subscription_id
    if isinstance(error, ClientAuthenticationError) and error.status_code is None:
        # Raised by the credential itself: no request reached ARM.
        return EnforcementError(
            ErrorKind.UNAUTHENTICATED,
            f"Could not get a token to {action}{on_sub}: {str(error)[:MAX_DETAIL]}. "
            "Fix: check the app's managed identity (or your `az login`) and the tenant.",
        )
    if not isinstance(error, HttpResponseError):
        return EnforcementError(
            ErrorKind.UNEXPECTED,
            f"Could not reach Azure Resource Manager to {action}{on_sub}: "
            f"{str(error)[:MAX_DETAIL]}. Fix: none needed if it was transient; the next event or sweep retries.",
        )
    status = error.status_code or 0
    code, detail = _error_code_and_message(error)
    code_lower = code.lower()
    if status == 401 or (isinstance(error, ClientAuthenticationError) and status in (0, 401)):
        return EnforcementError(
            ErrorKind.UNAUTHENTICATED,
            f"Azure Resource Manager refused the token to {action}{on_sub} ({code or status}). "
            "Fix: check the identity's tenant and that the token is for https://management.azure.com.",
        )
    if status == 403:
        needed = "Reader (or Security Reader)" if action.startswith("read") else SECURITY_ADMIN
        return EnforcementError(
            ErrorKind.FORBIDDEN,
            f"Permission denied to {action}{on_sub} ({code or 'Forbidden'}); ARM said: {detail} "
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
            f"The Microsoft.Security resource provider is not registered{on_sub}, and the enforcer "
            f"could not register it; ARM said: {detail} Fix: run `az provider register --namespace Microsoft.Security "
            f"--subscription {sub}` or let the identity register providers (Contributor).",
        )
    if status == 400 and ("extension" in code_lower or "extension" in detail.lower()):
        # The enforcer rewrites this with the configured names and the settings to fix (see Enforcer).
        return EnforcementError(
            ErrorKind.UNKNOWN_EXTENSION,
            f"Azure Resource Manager refused an extension name to {action} on subscription {sub} "
            f"({code or status}): {detail}",
        )
    if status == 409 and OPERATION_IN_PROGRESS in detail.lower():
        return EnforcementError(
            ErrorKind.CONFLICT,
            f"Another Defender plan update was still in progress{on_sub} after retrying with backoff "
            "until the retry deadline. "
            "Nothing was changed. Fix: none needed; the next event or sweep retries.",
        )
    headers = getattr(error.response, "headers", None) or {}
    retry_after = headers.get("Retry-After")
    if status == 429 or (status == 503 and retry_after):
        return EnforcementError(
            ErrorKind.THROTTLED,
            f"Azure Resource Manager kept throttling requests to {action}{on_sub} ({status}) "
            "until the retry deadline passed, honouring every Retry-After. "
            "Fix: the next sweep retries; lower ENFORCER_SWEEP_CONCURRENCY if this persists.",
        )
    return EnforcementError(
        ErrorKind.UNEXPECTED,
        f"Azure Resource Manager answered {status} {code} to {action}{on_sub}: {detail}. "
        "Fix: the next event or sweep retries; if it persists, check Azure status and the identity.",
    )


def describe(exc: BaseException) -> str:
    """Why a call failed, from the exception's type, status and error code only: messages can hold URLs and SAS."""
    if isinstance(exc, StoreDeadlineError | StoreAnswerError):
        return str(exc)  # written by store_transport.py: no URL, no body
    if isinstance(exc, HttpResponseError):
        code = getattr(exc, "error_code", None) or (exc.error.code if exc.error is not None else None)
        status = exc.status_code
        return f"HTTP {status}{f' {code}' if code else ''}" if status else type(exc).__name__
    if isinstance(exc, ServiceRequestError):
        return "cannot connect to the endpoint"
    return type(exc).__name__
