"""Issue 22: the store-failure line says outcomes were "logged at ERROR above" only when they were."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any, cast

import pytest

from enforcer.adapters.audit_store import AuditStoreError
from enforcer.cli.store import store_failed
from enforcer.core.models import Mode, Outcome, OutcomeKind, Trigger
from enforcer.usecases.record import record_outcomes
from enforcer.usecases.services import Services


class DownAudit:
    def record_outcomes(self, outcomes: Sequence[Outcome]) -> None:
        raise AuditStoreError("connection refused")


def outcome() -> Outcome:
    return Outcome(
        subscription_id="5f2c9a1e-3b7d-4c6a-9e8f-1a2b3c4d5e6f",
        outcome=OutcomeKind.REMEDIATED,
        trigger=Trigger("event", "evt-1", "Enforcer.SubscriptionCreated"),
        mode=Mode.ENFORCE,
    )


def test_an_unrecorded_outcome_is_logged_at_error_and_the_line_says_so(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
):
    services = cast(Services, SimpleNamespace(audit=DownAudit()))
    with caplog.at_level(logging.ERROR), pytest.raises(AuditStoreError) as raised:
        record_outcomes(services, [outcome()])

    assert any(r.levelno == logging.ERROR and "evt-1" in r.getMessage() for r in caplog.records)
    store_failed(raised.value, as_json=True, acted=True)
    err = capsys.readouterr().err
    assert "logged at ERROR above" in err


@pytest.mark.parametrize(
    ("acted", "said"), [(True, "every outcome before the failure was recorded"), (False, "nothing was changed")]
)
def test_without_unrecorded_outcomes_the_line_never_mentions_the_error_log(
    acted: bool, said: str, capsys: pytest.CaptureFixture[str]
):
    code = store_failed(AuditStoreError("cannot claim the event: connection reset"), as_json=True, acted=acted)

    captured: Any = capsys.readouterr()
    assert code == 1 and captured.out.strip() == "[]"
    assert said in captured.err and "ERROR" not in captured.err
