"""Failures a tenant admin can act on: the error type and the messages that name the cause and the fix."""

from __future__ import annotations

from dataclasses import dataclass

from enforcer.core.models import ErrorKind, Outcome, OutcomeKind
from enforcer.core.text import clip

SECURITY_ADMIN = "Security Admin"
OPERATION_IN_PROGRESS = "another update operation is in progress"
MAX_DETAIL = 300


@dataclass
class EnforcementError(Exception):
    """A failure with its kind and a message that says what to do about it."""

    kind: ErrorKind
    message: str

    def __str__(self) -> str:
        return self.message


def is_operation_in_progress(status_code: int, body: str) -> bool:
    """Defender plan updates on one subscription must not overlap; ARM answers 409 with this text."""
    return status_code == 409 and OPERATION_IN_PROGRESS in body.lower()


def extension_failure_message(subscription_id: str, failures: list[tuple[str, str]]) -> str:
    """A 200 PUT can carry failed extensions (`operationStatus.code == Failed`)."""
    listed = "; ".join(f"{name}: {clip(message, MAX_DETAIL)}" for name, message in failures)
    return (
        f"The plan is Standard on subscription {subscription_id}, but these components failed: {listed}. "
        "Fix: components that assign roles to Defender's own identities need the enforcer to hold Owner "
        "(or User Access Administrator) at that scope; check the component's prerequisites "
        "(e.g. a Purview licence for data security). The next sweep retries."
    )


class ClaimRefusedError(ValueError):
    """The audit store answered, but refused this event's claim as invalid input (HTTP 400): the event, not the
    store, is at fault, so it is answered `rejected` and the rest of its batch goes on."""


class ResourceGraphError(RuntimeError):
    """Resource Graph did not answer usefully; the message says why (status and code only, no URLs)."""

    def __init__(self, message: str, requests: int = 1) -> None:
        super().__init__(message)
        self.requests = requests  # requests sent before giving up (for the run's call counts)


def unknown_extension_message(
    subscription_id: str, unknown: list[tuple[str, str, str]], listed: list[str], azure_said: str | None = None
) -> str:
    """`unknown`: (extension name, component setting, extension-name setting) for each name Azure does not list."""
    lists = ", ".join(listed) if listed else "no extensions"
    parts = []
    for name, setting, extension_setting in unknown:
        parts.append(
            f"Azure does not list extension '{name}' on plan AI (it lists: {lists}). "
            f"Fix: set {extension_setting} to the right name or set {setting}=unmanaged."
        )
    said = f" Azure said: {clip(azure_said, MAX_DETAIL)}" if azure_said else ""
    return f"Subscription {subscription_id}: " + " ".join(parts) + said


def mark_failed(outcome: Outcome, error: EnforcementError) -> None:
    """The outcome of a decision that could not be carried out: `failed`, with the error's message and kind."""
    outcome.outcome = OutcomeKind.FAILED
    outcome.error = error.message
    outcome.error_kind = error.kind
