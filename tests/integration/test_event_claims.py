"""One action per event across instances: concurrent deliveries claim (event id, subscription) atomically."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from enforcer.adapters.claims import TableEventClaims
from enforcer.core.claims import CLAIM_PARTITION, claim_row_key
from enforcer.usecases.handle_event import handle_event
from localdev.emulator import FaultConfig
from tests.events.samples import SUBSCRIPTION, sample
from tests.integration.helpers import cli_env, services_for
from tests.integration.test_cli import ROOT

pytestmark = pytest.mark.integration
EVENT = "resource-write-cognitive-account.eventgrid.json"


@pytest.mark.timeout(120)
def test_five_processes_handling_one_event_at_once_make_one_put_and_send_one_card(
    emulator, azurite, webhook_sink, tmp_path
):
    emulator.add_subscription(SUBSCRIPTION, display_name="ai-team")
    emulator.faults = FaultConfig(latency_ms=300)  # the winner is still acting while the others arrive
    path = tmp_path / "event.json"
    path.write_text(json.dumps(sample(EVENT)))
    env = cli_env(emulator.url, azurite.connection_string, ENFORCER_TEAMS_WEBHOOK_URL=webhook_sink.url)
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "enforcer", "handle-event", str(path), "--json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=ROOT,
        )
        for _ in range(5)
    ]
    results = [p.communicate(timeout=100) for p in processes]

    outcomes = sorted(json.loads(out)[0]["outcome"] for out, _ in results)
    assert outcomes == ["ignored"] * 4 + ["remediated"], [err for _, err in results]
    assert all(p.returncode == 0 for p in processes)
    reasons = [json.loads(out)[0].get("reason") or "" for out, _ in results]
    assert any("another delivery is handling it" in r for r in reasons)  # they really overlapped
    assert emulator.calls["pricings.put"] == 1
    # The winner's card and its CLI run's digest; the four duplicates send nothing.
    assert len(webhook_sink.messages) == 2
    digests = [m for m in webhook_sink.messages if "enforcement: event batch" in json.dumps(m)]
    assert len(digests) == 1


def test_an_event_id_reused_for_a_second_subscription_enforces_it(emulator, audit_store):
    second = str(uuid.uuid4())
    emulator.add_subscription(SUBSCRIPTION)
    emulator.add_subscription(second)
    first_event = sample(EVENT)
    reused = json.loads(json.dumps(first_event).replace(SUBSCRIPTION, second))
    assert reused["id"] == first_event["id"]
    services = services_for(emulator.url, audit=audit_store)

    one = handle_event(first_event, route_any(), services)
    two = handle_event(reused, route_any(), services)  # same process: the in-process cache keys on the pair too
    again = handle_event(reused, route_any(), services)

    assert (one.outcome.value, two.outcome.value, again.outcome.value) == ("remediated", "remediated", "ignored")
    assert emulator.calls["pricings.put"] == 2
    assert emulator.pricing(second, "AI")["properties"]["pricingTier"] == "Standard"


def test_an_expired_claim_is_taken_over_and_a_live_one_is_not(audit_store):
    claims = TableEventClaims(audit_store.tables, audit_store.runs_table, lease_seconds=600)
    first = claims.claim("evt-1", SUBSCRIPTION)
    assert first.acquired
    held = claims.claim("evt-1", SUBSCRIPTION)
    assert not held.acquired and held.outcome is None  # another delivery is acting

    client = audit_store.tables.client(audit_store.runs_table)
    row = client.get_entity(CLAIM_PARTITION, claim_row_key("evt-1", SUBSCRIPTION))
    row["lease_until"] = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    client.update_entity(row)  # the holder died: its lease ran out

    taken = claims.claim("evt-1", SUBSCRIPTION)
    assert taken.acquired
    claims.complete(taken, "remediated")
    done = claims.claim("evt-1", SUBSCRIPTION)
    assert not done.acquired and done.outcome == "remediated"


def test_a_failed_handling_releases_its_claim_so_the_retry_acts(audit_store):
    claims = TableEventClaims(audit_store.tables, audit_store.runs_table)
    claim = claims.claim("evt-2", SUBSCRIPTION)
    claims.release(claim)
    assert claims.claim("evt-2", SUBSCRIPTION).acquired


def route_any():
    from enforcer.core.events import Route

    return Route.ANY


def test_the_daily_retention_purges_claims_older_than_two_days_and_keeps_the_rest(audit_store):
    from datetime import UTC, datetime, timedelta

    from azure.data.tables import UpdateMode

    from enforcer.core.claims import CLAIM_PARTITION, claim_row_key

    claims = TableEventClaims(audit_store.tables, audit_store.runs_table)
    subscription = "11111111-2222-3333-4444-555555555555"
    for event_id in ("old-1", "old-2", "recent"):
        assert claims.claim(event_id, subscription).acquired
    table = audit_store.tables.ensure_table(audit_store.runs_table)
    three_days_ago = (datetime.now(UTC) - timedelta(days=3)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    for event_id in ("old-1", "old-2"):
        table.upsert_entity(
            {
                "PartitionKey": CLAIM_PARTITION,
                "RowKey": claim_row_key(event_id, subscription),
                "claimed_at": three_days_ago,
            },
            mode=UpdateMode.MERGE,
        )
    cutoff = (datetime.now(UTC) - timedelta(hours=48)).isoformat(timespec="milliseconds").replace("+00:00", "Z")

    assert claims.purge(cutoff) == 2

    left = [e["event_id"] for e in table.query_entities("PartitionKey eq @pk", parameters={"pk": CLAIM_PARTITION})]
    assert left == ["recent"]
    # A duplicate of a purged event would be claimed again: by then Event Grid has stopped redelivering it.
    assert claims.claim("old-1", subscription).acquired
