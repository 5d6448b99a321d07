"""Fault configuration for the ARM emulator and the seeded random draws that apply it.

Every fault is off by default. Tests replace or mutate the `FaultConfig` while the
emulator runs; the emulator reads it afresh on every request.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from typing import Literal

ForbiddenScope = Literal["write", "all"]
UnknownExtensionMode = Literal["reject", "drop"]


@dataclass
class FaultConfig:
    """What the emulator gets wrong on purpose.

    - `latency_ms`: added to every call (after the auth check, before any other fault).
    - `throttle_fraction`: that share of calls answers 429 with `Retry-After: retry_after_seconds`.
    - `throttle_next_calls`: the next K calls (any kind) answer 429, before any draw; for deterministic tests.
    - `error_fraction`: that share of calls answers 500 or 503 with a CloudError body.
    - `forbidden`: subscription id -> "write" (pricings PUT is 403) or "all" (every pricings and
      provider call is 403, and Resource Graph returns no rows for it).
    - `fail_extensions`: subscription id -> {extension name: message}; a PUT answers 200 but those
      extensions carry `operationStatus: {code: "Failed", message}`.
    - `conflict_next_puts`: subscription id -> K; the next K PUTs on it answer 409 Conflict.
    - `require_auth`: without `Authorization: Bearer <token>` every call answers 401.
    - `unregistered`: Microsoft.Security is not registered there; pricings calls answer 409
      MissingSubscriptionRegistration until the register call succeeds (which removes the id).
    - `registration_forbidden`: the register call answers 403.
    - `resource_graph_unavailable`: Resource Graph answers 503.
    - `resource_graph_error`: Resource Graph answers this status to every query (404, 500, ...; 0: off), with
      the bodies in localdev/emulator/graph_faults.py. For the fallbacks that list with ARM instead.
    - `resource_graph_lag_seconds`: Resource Graph rows show pricing state as it was that long ago, and a
      subscription added less than that long ago is not listed yet.
    - `resource_graph_quota`: queries allowed per `resource_graph_quota_window_seconds` (Resource Graph's
      per-user quota, 15 per 5 s by default in Azure); 0 leaves it unenforced. Every answer carries the
      `x-ms-user-quota-remaining` and `x-ms-user-quota-resets-after` headers; past the quota, 429.
    - `throttle_every`: every k-th call (counted over all calls) answers 429 with Retry-After; sustained,
      deterministic throttling. Our reading of ARM's token bucket: a steady share of calls is refused.
    - `throttle_burst`: with `throttle_every`, a throttled subscription's next N-1 calls answer 429 too
      (bursts of N consecutive 429s per subscription; our reading).
    - `unknown_extensions`: what a PUT naming an extension the plan does not have gets: "reject" (400) or
      "drop" (200, the name silently left out of the answer). No published source shows either: our reading.
    - `put_hold_seconds`: a plan update holds the subscription's update slot this long, so an overlapping
      PUT answers 409 "Another update operation is in progress" meanwhile (a slow update; our reading of
      Terraform's note that the API processes one pricing update per subscription at a time). A GET meanwhile
      still sees the state before the update, which applies when the hold ends (our reading).
    - `activity_log_error`: the Activity Log list answers this status (403, 500, ...; 0: off), see
      localdev/emulator/activity_log.py.
    - `seed`: seeds the random draws (throttle, error, 500-or-503).
    """

    latency_ms: float = 0.0
    throttle_fraction: float = 0.0
    retry_after_seconds: int = 1
    throttle_next_calls: int = 0
    error_fraction: float = 0.0
    forbidden: dict[str, ForbiddenScope] = field(default_factory=dict)
    fail_extensions: dict[str, dict[str, str]] = field(default_factory=dict)
    conflict_next_puts: dict[str, int] = field(default_factory=dict)
    require_auth: bool = True
    unregistered: set[str] = field(default_factory=set)
    registration_forbidden: set[str] = field(default_factory=set)
    resource_graph_unavailable: bool = False
    resource_graph_error: int = 0
    resource_graph_lag_seconds: float = 0.0
    resource_graph_quota: int = 0
    resource_graph_quota_window_seconds: float = 5.0
    throttle_every: int = 0
    throttle_burst: int = 1
    unknown_extensions: UnknownExtensionMode = "reject"
    put_hold_seconds: float = 0.0
    activity_log_error: int = 0
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("throttle_fraction", "error_fraction"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {value}")
        if self.retry_after_seconds < 0:
            raise ValueError("retry_after_seconds must be >= 0")
        if self.throttle_every < 0 or self.throttle_burst < 1 or self.put_hold_seconds < 0:
            raise ValueError("throttle_every must be >= 0, throttle_burst >= 1 and put_hold_seconds >= 0")
        if self.unknown_extensions not in ("reject", "drop"):
            raise ValueError("unknown_extensions must be 'reject' or 'drop'")
        if self.latency_ms < 0 or self.resource_graph_lag_seconds < 0:
            raise ValueError("latency_ms and resource_graph_lag_seconds must be >= 0")


class FaultDraws:
    """One seeded `random.Random` shared by all request threads, behind a lock."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def hit(self, fraction: float) -> bool:
        # No draw at all when the fault is off, so enabling one fault does not shift another's sequence.
        if fraction <= 0.0:
            return False
        with self._lock:
            return self._rng.random() < fraction

    def choice(self, options: tuple[int, ...]) -> int:
        with self._lock:
            return self._rng.choice(options)
