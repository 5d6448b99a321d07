"""The subscription directory shares one metadata read among concurrent callers (issue 19 (f)): an event's plan and
account branches, run at once on a cold instance, read a subscription's metadata once."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any, cast

import pytest

from enforcer.core.errors import EnforcementError
from enforcer.core.models import ErrorKind, SubscriptionInfo
from enforcer.usecases.enforce import SubscriptionDirectory
from enforcer.usecases.ports import PricingGateway

SUB = "5f2c9a1e-3b7d-4c6a-9e8f-1a2b3c4d5e6f"


class HeldReads:
    """get_subscription that holds every read until released, and counts them."""

    def __init__(self, error: EnforcementError | None = None) -> None:
        self.reads = 0
        self.started = threading.Event()
        self.release = threading.Event()
        self._error = error

    def get_subscription(self, subscription_id: str, *, deadline: float | None = None) -> SubscriptionInfo:
        self.reads += 1
        self.started.set()
        assert self.release.wait(5), "the test never released the read"
        if self._error is not None:
            raise self._error
        return SubscriptionInfo(subscription_id, "ai-team", "Enabled", {})


def directory(reads: HeldReads) -> SubscriptionDirectory:
    return SubscriptionDirectory(cast(PricingGateway, reads))


def test_concurrent_callers_share_one_read_and_only_the_reader_counts_it():
    reads = HeldReads()
    shared = directory(reads)
    calls: list[Counter[str]] = [Counter(), Counter(), Counter()]
    with ThreadPoolExecutor(3) as pool:
        first = pool.submit(shared.get, SUB, calls[0])
        assert reads.started.wait(5)
        others = [pool.submit(shared.get, SUB, c, 5.0) for c in calls[1:]]
        reads.release.set()
        answers: list[Any] = [first.result(5)] + [f.result(5) for f in others]
    assert reads.reads == 1
    assert {a.display_name for a in answers} == {"ai-team"}
    assert sum(c["subscriptions.get"] for c in calls) == 1


def test_a_waiter_gets_the_readers_error():
    reads = HeldReads(EnforcementError(ErrorKind.FORBIDDEN, "no read access"))
    shared = directory(reads)
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(shared.get, SUB, Counter())
        assert reads.started.wait(5)
        waiter = pool.submit(shared.get, SUB, Counter(), 5.0)
        reads.release.set()
        for future in (first, waiter):
            with pytest.raises(EnforcementError) as raised:
                future.result(5)
            assert raised.value.kind is ErrorKind.FORBIDDEN
    assert reads.reads == 1
    reads.release.clear()
    with pytest.raises(EnforcementError):  # a failed read is not cached: the next caller reads again
        reads.release.set()
        shared.get(SUB, Counter())
    assert reads.reads == 2


def test_a_waiter_gives_up_at_its_deadline_with_a_message_naming_the_cause():
    reads = HeldReads()
    shared = directory(reads)
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(shared.get, SUB, Counter())
        assert reads.started.wait(5)
        with pytest.raises(EnforcementError) as raised:
            shared.get(SUB, Counter(), 0.05)
        reads.release.set()
        assert first.result(5).display_name == "ai-team"
    assert raised.value.kind is ErrorKind.THROTTLED
    assert "still under way" in raised.value.message and "Fix:" in raised.value.message
