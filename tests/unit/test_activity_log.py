"""The Activity Log's reading (core/activity_log.py), with literals: which entry names the last writer, the filter,
and which sweep outcomes are worth a lookup."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from enforcer.core.activity_log import (
    ActivityEntry,
    activity_filter,
    entry_from_json,
    last_writer,
    lookup_for,
)
from enforcer.core.actors import ACTIVITY_LOG, actor_text
from enforcer.core.drift_cards import digest_actor
from enforcer.core.events import ACCOUNT_SETTING_WRITE, PRICING_WRITE
from enforcer.core.models import Outcome, OutcomeKind, Trigger

OWN = "5f0c3b1e-0000-4000-8000-0000000e0001"
ALICE = "0a11ce00-0000-4000-8000-000000000001"
SUB = "00000000-0000-4000-8000-0000000000a1"
UPN = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn"
OID = "http://schemas.microsoft.com/identity/claims/objectidentifier"


def entry(at: str, oid: str, *, upn: str = "", status: str = "Succeeded", op: str = PRICING_WRITE) -> ActivityEntry:
    claims = {OID: oid, "appid": "a99a0000-0000-4000-8000-000000000003", **({UPN: upn} if upn else {})}
    return ActivityEntry(operation=op, status=status, at=at, caller=upn, claims=claims)


def test_the_newest_successful_write_by_someone_else_names_the_actor():
    entries = [
        entry("2026-12-05T10:00:00.000Z", ALICE, upn="alice@contoso.example"),
        entry("2026-12-05T11:00:00.000Z", OWN),  # the enforcer's own restore: skipped
        entry("2026-12-05T12:00:00.000Z", "b0b", upn="bob@contoso.example", status="Started"),  # not a success
        entry("2026-12-05T09:00:00.000Z", "c0c", upn="carol@contoso.example"),  # older
        entry("2026-12-05T13:00:00.000Z", "d0d", upn="dan@contoso.example", op="Microsoft.Security/pricings/read"),
    ]
    actor = last_writer(entries, PRICING_WRITE, OWN)
    assert (actor.name, actor.object_id, actor.kind) == ("alice@contoso.example", ALICE, "user")
    assert actor.at == "2026-12-05T10:00:00.000Z" and actor.source == ACTIVITY_LOG


def test_operation_names_match_in_any_case_and_an_app_is_named_by_its_app_id():
    app = ActivityEntry(
        operation=PRICING_WRITE.lower(),
        status="succeeded",
        at="2026-12-05T10:00:00.000Z",
        claims={OID: ALICE, "appid": "a99a", "idtyp": "app"},
    )
    actor = last_writer([app], PRICING_WRITE, OWN)
    assert (actor.name, actor.kind) == ("app a99a", "app")


def test_no_write_by_anyone_else_is_actor_unknown_with_the_reason():
    actor = last_writer([entry("2026-12-05T11:00:00.000Z", OWN)], PRICING_WRITE, OWN)
    assert not actor.known and actor.source == ACTIVITY_LOG
    assert "no successful pricings write by anyone but the enforcer" in actor.unknown_reason


def test_the_caller_stands_in_when_the_claims_name_no_one():
    bare = ActivityEntry(PRICING_WRITE, "Succeeded", "2026-12-05T10:00:00.000Z", caller="ops@contoso.example")
    assert last_writer([bare], PRICING_WRITE, OWN).name == "ops@contoso.example"


def test_an_eventdata_object_is_read_from_the_apis_example_shape_and_hostile_text_stays_text():
    item: dict[str, Any] = {
        "caller": "admin@contoso.com",
        "claims": {OID: ALICE, UPN: "**boss**\n[x](http://evil)", "name": "John"},
        "operationName": {"value": "microsoft.security/pricings/write", "localizedValue": "x"},
        "status": {"value": "Succeeded", "localizedValue": "Succeeded"},
        "eventTimestamp": "2015-01-21T22:14:26.9792776Z",
    }
    parsed = entry_from_json(item)
    assert parsed is not None and parsed.at == "2015-01-21T22:14:26.979Z"
    actor = last_writer([parsed], PRICING_WRITE, OWN)
    assert actor.name == "**boss**\n[x](http://evil)"
    assert "\n" not in actor_text(actor) and "\\n" in actor_text(actor)
    outcome = Outcome(SUB, OutcomeKind.REMEDIATED, Trigger("sweep", "run-1"), actor=actor)
    assert "\\*\\*boss\\*\\*" in digest_actor(outcome) and "\n" not in digest_actor(outcome)
    assert entry_from_json(["not", "an", "object"]) is None


def test_the_filter_is_one_of_the_patterns_the_reference_allows_with_quotes_doubled():
    text = activity_filter("/subscriptions/x/rg/it's", datetime(2026, 12, 5, 12, tzinfo=UTC))
    assert text == (
        "eventTimestamp ge '2026-11-28T12:00:00.000Z' and eventTimestamp le '2026-12-05T12:00:00.000Z' "
        "and resourceUri eq '/subscriptions/x/rg/it''s'"
    )


def test_only_drift_is_looked_up():
    trigger = Trigger("sweep", "run-1")
    plan = lookup_for(Outcome(SUB, OutcomeKind.REMEDIATED, trigger))
    assert plan is not None and plan.operation == PRICING_WRITE
    assert plan.resource_uri == f"/subscriptions/{SUB}/providers/Microsoft.Security/pricings/AI"
    account_id = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/a"
    account = lookup_for(Outcome(SUB, OutcomeKind.WOULD_REMEDIATE, trigger, resource_id=account_id))
    assert account is not None and account.operation == ACCOUNT_SETTING_WRITE
    assert account.resource_uri == f"{account_id}/defenderForAISettings/Default"
    for kind in (OutcomeKind.COMPLIANT, OutcomeKind.EXCLUDED, OutcomeKind.FAILED, OutcomeKind.IGNORED):
        assert lookup_for(Outcome(SUB, kind, trigger)) is None
    assert lookup_for(Outcome(SUB, OutcomeKind.REMEDIATED, trigger, new_subscription=True)) is None
