"""The health verdict and the heartbeat rules: pure, with an injected `now`."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from enforcer.core.health import HealthInput, OutboxDepth, assess, render_health, schedule_interval
from enforcer.core.heartbeat import heartbeat_card, heartbeat_due, heartbeat_text, is_quiet
from enforcer.core.models import Mode, RunSummary
from enforcer.core.settings import ConfigError, Settings

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
MAX_AGE = timedelta(minutes=45)


def sweep_at(started: datetime, *, complete: bool = True, **counts: int) -> RunSummary:
    return RunSummary(
        run_id="sweep-1",
        kind="sweep",
        mode=Mode.ENFORCE,
        started_at=started.isoformat().replace("+00:00", "Z"),
        duration_ms=60_000,
        counts=counts or {"compliant": 10},
        complete=complete,
    )


@pytest.mark.parametrize(
    ("schedule", "minutes"),
    [
        ("0 */15 * * * *", 15),
        ("0 */5 * * * *", 5),
        ("0 0 * * * *", 60),
        ("0 0 */6 * * *", 360),
        ("0 0,10,30 * * * *", 30),
        ("0 30 9 * * *", 1440),
        ("*/30 * * * * *", 0.5),
    ],
)
def test_schedule_interval_is_the_longest_gap(schedule, minutes):
    assert schedule_interval(schedule) == timedelta(minutes=minutes)


@pytest.mark.parametrize("schedule", ["*/15 * * * *", "0 */15 * * * 1-5", "0 */0 * * * *", "0 61 * * * *", "x"])
def test_schedules_health_cannot_read_are_refused(schedule):
    with pytest.raises(ValueError):
        schedule_interval(schedule)


def test_a_recent_sweep_is_healthy():
    health = assess(HealthInput(sweep_at(NOW - timedelta(minutes=20))), now=NOW, max_sweep_age=MAX_AGE)
    assert health.healthy
    assert health.last_sweep_age_seconds == 19 * 60  # finished one minute after it started
    assert not health.problems


def test_a_sweep_older_than_the_threshold_is_unhealthy_and_says_what_to_do():
    health = assess(HealthInput(sweep_at(NOW - timedelta(minutes=50))), now=NOW, max_sweep_age=MAX_AGE)
    assert not health.healthy
    [problem] = health.problems
    assert "49 min ago" in problem.what and "enforcement has stopped" in problem.what
    assert "drift_sweep" in problem.todo
    # The same store a moment earlier was healthy: the clock decides, nothing else.
    earlier = assess(
        HealthInput(sweep_at(NOW - timedelta(minutes=50))), now=NOW - timedelta(minutes=10), max_sweep_age=MAX_AGE
    )
    assert earlier.healthy


def test_no_sweep_at_all_is_unhealthy():
    health = assess(HealthInput(None), now=NOW, max_sweep_age=MAX_AGE)
    assert not health.healthy
    assert "no sweep has ever been recorded" in health.problems[0].what


def test_a_sweep_that_could_not_start_is_unhealthy():
    summary = sweep_at(NOW - timedelta(minutes=1), complete=False)
    summary.counts = {}
    summary.notes = ["could not list subscriptions: forbidden"]
    health = assess(HealthInput(summary), now=NOW, max_sweep_age=MAX_AGE)
    assert not health.healthy
    assert "could not start: could not list subscriptions: forbidden" in health.problems[0].what


def test_failures_and_an_incomplete_sweep_are_warnings_not_problems():
    summary = sweep_at(NOW - timedelta(minutes=5), complete=False, compliant=8, failed=2)
    health = assess(HealthInput(summary), now=NOW, max_sweep_age=MAX_AGE)
    assert health.healthy
    assert health.last_failure == {
        "run_id": "sweep-1",
        "kind": "sweep",
        "started_at": summary.started_at,
        "failures": 2,
    }
    assert any("time budget" in w for w in health.warnings)
    assert any("2 subscription(s) failed" in w for w in health.warnings)


def test_a_card_pending_for_more_than_an_hour_is_unhealthy():
    old = OutboxDepth(3, (NOW - timedelta(minutes=61)).isoformat())
    young = OutboxDepth(3, (NOW - timedelta(minutes=59)).isoformat())
    recent = sweep_at(NOW - timedelta(minutes=5))
    assert not assess(HealthInput(recent, outbox=old), now=NOW, max_sweep_age=MAX_AGE).healthy
    assert assess(HealthInput(recent, outbox=young), now=NOW, max_sweep_age=MAX_AGE).healthy


def test_rendering_says_plainly_what_is_wrong():
    health = assess(HealthInput(sweep_at(NOW - timedelta(hours=3))), now=NOW, max_sweep_age=MAX_AGE)
    text = render_health(health, as_json=False)
    assert text.startswith("UNHEALTHY")
    assert "problem: the last sweep finished" in text and "what to do:" in text
    assert "outbox: none" in text and "schema version: not recorded" in text
    data = json.loads(render_health(health, as_json=True))
    assert data["healthy"] is False and data["max_sweep_age_seconds"] == 2700
    assert data["problems"][0]["todo"]


def test_heartbeat_rules():
    quiet = sweep_at(NOW, compliant=10, excluded=2)
    assert is_quiet(quiet)
    assert not is_quiet(sweep_at(NOW, compliant=9, remediated=1))
    assert not is_quiet(sweep_at(NOW, compliant=9, failed=1))
    assert heartbeat_due(None, NOW, 24)
    assert not heartbeat_due(None, NOW, 0)  # 0 = off
    assert not heartbeat_due(sweep_at(NOW - timedelta(hours=23)), NOW, 24)
    assert heartbeat_due(sweep_at(NOW - timedelta(hours=24)), NOW, 24)
    text = heartbeat_text(quiet, "2026-11-30T12:00:00Z")
    assert text == "All 10 subscription(s) compliant, checked at 2026-11-30T12:00:00Z (2 excluded)."
    card = heartbeat_card(quiet, text)
    assert card["version"] == "1.4"
    assert text in json.dumps(card)


def test_the_heartbeat_setting_is_validated():
    assert Settings.from_env({}).heartbeat_hours == 24
    assert Settings.from_env({"ENFORCER_HEARTBEAT_HOURS": "0"}).heartbeat_hours == 0
    for bad in ("-1", "169", "daily"):
        with pytest.raises(ConfigError, match="ENFORCER_HEARTBEAT_HOURS"):
            Settings.from_env({"ENFORCER_HEARTBEAT_HOURS": bad})
