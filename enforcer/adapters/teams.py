"""Post Adaptive Cards to a Teams Workflows (or legacy incoming) webhook; never fail the enforcement.

The webhook URL is a credential: it is validated without being echoed, registered with the log redaction,
and the pipeline has no HTTP logging policy. Delivery goes through an azure-core pipeline whose retry
policy retries 429 and 5xx (honouring Retry-After, capped) within a bounded total time, so a dead webhook
cannot hold an Event Grid handler past its 30 s answer window. What still fails comes back as a short
"failed: ..." status for the audit record.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

from azure.core import PipelineClient
from azure.core.exceptions import (
    AzureError,
    ServiceRequestError,
    ServiceRequestTimeoutError,
    ServiceResponseError,
    ServiceResponseTimeoutError,
)
from azure.core.pipeline import PipelineResponse
from azure.core.pipeline.policies import HeadersPolicy, RetryPolicy, UserAgentPolicy
from azure.core.pipeline.transport import RequestsTransport
from azure.core.rest import HttpRequest

from enforcer.adapters.closing import ClosesOnExit
from enforcer.adapters.redact import install_redaction
from enforcer.core.cards import digest_card, needs_digest, outcome_card, serialize_message, teams_message
from enforcer.core.heartbeat import heartbeat_card
from enforcer.core.models import Outcome, OutcomeKind, RunSummary, utc_now_iso
from enforcer.core.outbox import FLUSH_BATCH, late_card
from enforcer.core.settings import ConfigError, Settings, is_loopback_host

if TYPE_CHECKING:
    from enforcer.adapters.outbox import TableOutbox

logger = logging.getLogger(__name__)

SETTING: Final = "ENFORCER_TEAMS_WEBHOOK_URL"
ALLOWED_HOST_SUFFIXES: Final = (
    ".webhook.office.com",
    ".logic.azure.com",
    ".api.powerplatform.com",
    ".environment.api.powerplatform.com",
)
SENT: Final = "sent"
NOT_NEEDED: Final = "not_needed"
# A legacy connector answers 200 with this text when Teams refused the message (e.g. 429 or 413).
_LEGACY_FAILURE: Final = "webhook message delivery failed"
_LEGACY_STATUS: Final = re.compile(r"HTTP error (\d{3})")


def validate_webhook_url(url: str) -> str:
    """The URL if it is https to a Teams/Workflows host, or http to loopback; else ConfigError.

    The error never contains the URL or any part of it: the URL is a secret.
    """
    url = url.strip()
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        _ = parts.port  # raises ValueError for a malformed port
    except ValueError:
        raise ConfigError(f"{SETTING} is not a valid URL") from None
    if parts.username is not None or parts.password is not None:
        raise ConfigError(f"{SETTING} must not carry a user name or password")
    if parts.scheme == "http" and is_loopback_host(host):
        return url
    if parts.scheme != "https":
        raise ConfigError(
            f"{SETTING} must be an https:// URL (plain http:// is accepted for a loopback address only, "
            "for local runs and tests)"
        )
    if not host or not any(host.endswith(suffix) for suffix in ALLOWED_HOST_SUFFIXES):
        raise ConfigError(
            f"{SETTING} must point to a Teams or Workflows host ("
            + ", ".join(f"*{s}" for s in ALLOWED_HOST_SUFFIXES)
            + "); the value given does not"
        )
    return url


def _is_legacy_failure(text: str) -> bool:
    return text.strip().lower().startswith(_LEGACY_FAILURE)


def _body_text(response: Any) -> str:
    try:
        return str(response.text())
    except Exception:  # an unread or undecodable body says nothing useful
        return ""


class _TeamsRetryPolicy(RetryPolicy[Any, Any]):
    """azure-core's retry policy, plus: cap Retry-After, and retry a legacy connector's "200 but throttled"."""

    def __init__(self, *, max_retry_after: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._max_retry_after = max_retry_after

    def get_retry_after(self, response: PipelineResponse[Any, Any]) -> float | None:
        retry_after = super().get_retry_after(response)
        return None if retry_after is None else min(retry_after, self._max_retry_after)

    def is_retry(self, settings: dict[str, Any], response: PipelineResponse[Any, Any]) -> bool:
        http_response = response.http_response
        if 200 <= http_response.status_code < 300:
            text = _body_text(http_response)
            return bool(settings["total"]) and _is_legacy_failure(text) and "429" in text
        return bool(super().is_retry(settings, response))


class TeamsNotifier(ClosesOnExit):
    """Sends cards to one webhook. Thread-safe; create once per process and `close()` at the end."""

    # POST is retried: a card that arrives twice beats a card lost. Read errors are not retried (the
    # request reached Teams), so a slow answer does not double-post.
    _RETRY_METHODS: Final = frozenset({"POST"})

    def __init__(
        self,
        url: str,
        *,
        retry_total: int = 3,
        retry_backoff_factor: float = 0.5,
        retry_backoff_max: int = 4,
        max_retry_after: float = 5.0,
        connection_timeout: float = 4.0,
        read_timeout: float = 5.0,
        total_timeout: float = 15.0,
        cooldown_seconds: float = 60.0,
    ) -> None:
        self._url = validate_webhook_url(url)
        install_redaction(self._url)
        self._retry_total = retry_total
        self._retry = _TeamsRetryPolicy(
            retry_total=retry_total,
            retry_connect=retry_total,
            retry_status=retry_total,
            retry_read=0,
            retry_backoff_factor=retry_backoff_factor,
            retry_backoff_max=retry_backoff_max,
            timeout=total_timeout,
            max_retry_after=max_retry_after,
        )
        self._connection_timeout = connection_timeout
        self._read_timeout = read_timeout
        self._cooldown = cooldown_seconds
        self._lock = threading.Lock()
        self._client: PipelineClient[HttpRequest, Any] | None = None
        self._failed_at: float | None = None
        self._outbox: TableOutbox | None = None
        self._flushed_at: float | None = None

    def use_outbox(self, outbox: TableOutbox | None) -> None:
        """Keep cards that cannot be delivered (instead of only reporting them) and re-send them later."""
        self._outbox = outbox

    @property
    def has_outbox(self) -> bool:
        return self._outbox is not None

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> TeamsNotifier | None:
        """None when no webhook is configured; ConfigError when the URL is not acceptable."""
        if not settings.teams_webhook_url:
            return None
        return cls(settings.teams_webhook_url, **options)

    def __repr__(self) -> str:  # the URL is a secret
        return "TeamsNotifier(url=<redacted>)"

    def _pipeline(self) -> PipelineClient[HttpRequest, Any]:
        with self._lock:
            if self._client is None:
                # No HttpLoggingPolicy or tracing policy: both would record the URL.
                policies = [
                    HeadersPolicy({"Content-Type": "application/json; charset=utf-8"}),
                    UserAgentPolicy(base_user_agent="defender-ai-enforcer"),
                    self._retry,
                ]
                transport = RequestsTransport(
                    connection_timeout=self._connection_timeout, read_timeout=self._read_timeout
                )
                self._client = PipelineClient(base_url=self._url, policies=policies, transport=transport)
            return self._client

    # -- sending ---------------------------------------------------------------------------------------

    def _cooling(self) -> bool:
        return self._failed_at is not None and time.monotonic() - self._failed_at < self._cooldown

    def post(self, card: dict[str, Any], what: str, *, kind: str = "outcome", important: bool = False) -> str:
        """Post one card; returns "sent" or "failed: <reason>" (never the URL), never raises.

        After a failure, cards are not tried for `cooldown_seconds`: they go to the outbox when there is one;
        without one, `important` cards (failures, the digest) are tried anyway and only the others are skipped.
        A card that fails is kept in the outbox (when there is one) for the next run.
        """
        if self._cooling() and (self._outbox is not None or not important):
            return self._undelivered(
                card, what, kind, f"skipped: the webhook failed less than {self._cooldown:.0f} s ago"
            )
        reason = self._send(serialize_message(teams_message(card)))
        if reason is None:
            self._failed_at = None
            logger.info("Teams card sent for %s", what)
            return SENT
        self._failed_at = time.monotonic()
        return self._undelivered(card, what, kind, reason)

    def _undelivered(self, card: dict[str, Any], what: str, kind: str, reason: str) -> str:
        if self._outbox is not None and self._outbox.add(
            card, kind=kind, what=what, original_time=utc_now_iso(), error=reason
        ):
            logger.warning("Teams notification for %s not sent (%s): kept in the outbox for the next run", what, reason)
            return f"failed: {reason}; queued for the next run"
        logger.warning("Teams notification for %s failed: %s", what, reason)
        return f"failed: {reason}"

    def flush_outbox(self, *, limit: int = FLUSH_BATCH, min_interval: float = 0.0) -> int | None:
        """Re-send kept cards, oldest first, each saying when it was first due; stop at the first failure.

        Returns how many cards still wait (None without an outbox, or when skipped because the last flush was less
        than `min_interval` seconds ago: the cheap call after each event).
        """
        if self._outbox is None:
            return None
        now = time.monotonic()
        with self._lock:
            if min_interval and self._flushed_at is not None and now - self._flushed_at < min_interval:
                return None
            self._flushed_at = now
        if not self._cooling():
            for pending in self._outbox.pending(limit):
                reason = self._send(serialize_message(teams_message(late_card(pending))))
                if reason is not None:
                    self._failed_at = time.monotonic()
                    self._outbox.attempted(pending, reason)
                    logger.warning("late Teams card for %s still not delivered: %s", pending.what, reason)
                    break
                self._failed_at = None
                self._outbox.delivered(pending)
                logger.info("late Teams card delivered for %s (first due %s)", pending.what, pending.original_time)
        return None if min_interval else self._outbox.count()

    def _send(self, body: bytes) -> str | None:
        """None when delivered, else why not (built from status codes and exception types only)."""
        request = HttpRequest("POST", self._url, content=body)
        try:
            response = self._pipeline().send_request(request, retry_on_methods=self._RETRY_METHODS)
        except (ServiceRequestTimeoutError, ServiceResponseTimeoutError):
            return "timed out"
        except ServiceRequestError:
            return "webhook unreachable (connection refused or failed)"
        except ServiceResponseError:
            return "the webhook closed the connection without an answer"
        except AzureError as exc:
            return f"delivery error ({type(exc).__name__})"
        except Exception as exc:  # a notification must never break the enforcement
            return f"unexpected error ({type(exc).__name__})"
        status = response.status_code
        if 200 <= status < 300:
            text = _body_text(response)
            if _is_legacy_failure(text):
                code = _LEGACY_STATUS.search(text)
                return f"Teams refused the message (legacy connector: HTTP {code.group(1) if code else '?'})"
            return None
        if status == 429:
            return f"HTTP 429 throttled by Teams after {self._retry_total} retries"
        if status >= 500:
            return f"HTTP {status} from the webhook after retries"
        if status == 413:
            return "HTTP 413 message too large"
        return f"HTTP {status} from the webhook"

    def notify_outcome(self, outcome: Outcome) -> str:
        """A card for a remediation (or would-be one) or a failure; "not_needed" for the quiet outcomes."""
        if not (outcome.outcome.is_change or outcome.outcome.is_failure):
            return NOT_NEEDED
        return self.post(
            outcome_card(outcome), f"subscription {outcome.subscription_id}", important=outcome.outcome.is_failure
        )

    def notify_digest(self, summary: RunSummary, outcomes: Sequence[Outcome]) -> str:
        """One digest card per run, only when something changed or failed."""
        counted = any(
            summary.counts.get(k.value, 0) for k in OutcomeKind if k.is_change or k.is_failure
        ) or needs_digest(outcomes)
        if not counted:
            return NOT_NEEDED
        return self.post(
            digest_card(summary, outcomes), f"{summary.kind} run {summary.run_id}", kind="digest", important=True
        )

    def notify_heartbeat(self, summary: RunSummary, text: str) -> str:
        """The "all compliant" card (enforcer/core/heartbeat.py); the use case decides when."""
        return self.post(heartbeat_card(summary, text), f"heartbeat after {summary.kind} run {summary.run_id}")

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None
