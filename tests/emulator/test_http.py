"""The emulator's behaviour over real loopback HTTP (plain `requests`, no SDK)."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
import requests

from localdev.emulator import Emulator, FaultConfig
from localdev.emulator.fleet import COMPLIANT_AI_PRICING as COMPLIANT
from localdev.emulator.server import CLIENT_OBJECT_ID

pytestmark = pytest.mark.integration

SUB = "11111111-1111-4111-8111-111111111111"
SUB2 = "22222222-2222-4222-8222-222222222222"
MISSING = "99999999-9999-4999-8999-999999999999"
AUTH = {"Authorization": "Bearer test-token"}
PRICINGS_API = "api-version=2024-01-01"
ARG_QUERY = (
    "securityresources | where type =~ 'microsoft.security/pricings' and name =~ 'AI' "
    "| project subscriptionId, pricingTier = tostring(properties.pricingTier), extensions = properties.extensions"
)


@pytest.fixture
def http():
    with requests.Session() as session:
        session.headers.update(AUTH)
        yield session


def pricing_url(emu: Emulator, sub: str = SUB, plan: str = "AI", api: str = PRICINGS_API) -> str:
    return f"{emu.url}/subscriptions/{sub}/providers/Microsoft.Security/pricings/{plan}?{api}"


def arg(http, emu: Emulator, subscriptions, options=None, query=ARG_QUERY):
    body = {"subscriptions": subscriptions, "query": query, "options": options or {"resultFormat": "objectArray"}}
    return http.post(f"{emu.url}/providers/Microsoft.ResourceGraph/resources?api-version=2021-03-01", json=body)


# ------------------------------------------------------------------ auth, routing, records


def test_missing_bearer_is_401_cloud_error_and_still_counted(emulator):
    emulator.add_subscription(SUB)
    response = requests.get(pricing_url(emulator))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "AuthenticationFailed"
    assert "WWW-Authenticate" in response.headers
    assert emulator.calls["pricings.get"] == 1
    assert emulator.requests[-1].had_bearer is False
    assert emulator.requests[-1].status == 401


def test_basic_auth_header_is_not_a_bearer_token(emulator):
    emulator.add_subscription(SUB)
    response = requests.get(pricing_url(emulator), headers={"Authorization": "Basic abc"})
    assert response.status_code == 401
    assert "invalid format" in response.json()["error"]["message"]


def test_auth_check_can_be_switched_off(emulator):
    emulator.add_subscription(SUB)
    emulator.faults = FaultConfig(require_auth=False)
    assert requests.get(pricing_url(emulator)).status_code == 200


def test_unknown_path_is_404_and_wrong_method_is_405(emulator, http):
    emulator.add_subscription(SUB)
    assert http.get(f"{emulator.url}/providers/Microsoft.Nothing/things?api-version=1").status_code == 404
    response = http.delete(pricing_url(emulator))
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "MethodNotAllowed"
    assert emulator.calls["unknown"] == 1


def test_request_records_calls_by_subscription_and_reset(emulator, http):
    emulator.add_subscription(SUB)
    emulator.add_subscription(SUB2)
    http.get(pricing_url(emulator))
    http.get(pricing_url(emulator))
    http.get(pricing_url(emulator, SUB2))
    assert emulator.call_count("pricings.get", SUB) == 2
    assert emulator.call_count("pricings.get", SUB2.upper()) == 1
    assert emulator.calls_by_subscription[("pricings.get", SUB2)] == 1
    record = emulator.requests[0]
    assert (record.method, record.kind, record.subscription_id, record.status, record.had_bearer) == (
        "GET",
        "pricings.get",
        SUB,
        200,
        True,
    )
    assert record.path == f"/subscriptions/{SUB}/providers/Microsoft.Security/pricings/AI"
    assert record.query == PRICINGS_API
    assert record.ended >= record.started
    emulator.reset_calls()
    assert emulator.calls == Counter()
    assert emulator.requests == []


def test_request_records_are_bounded():
    with Emulator(max_records=3) as emu, requests.Session() as session:
        emu.add_subscription(SUB)
        for _ in range(5):
            session.get(pricing_url(emu), headers=AUTH)
        assert len(emu.requests) == 3
        assert emu.calls["pricings.get"] == 5


def test_stop_closes_kept_alive_connections():
    emu = Emulator().start()
    emu.add_subscription(SUB)
    with requests.Session() as session:
        assert session.get(pricing_url(emu), headers=AUTH).status_code == 200
        emu.stop()
        with pytest.raises(requests.ConnectionError):
            session.get(pricing_url(emu), headers=AUTH, timeout=5)


# ------------------------------------------------------------------ subscriptions


def test_subscriptions_are_paged_with_absolute_next_links():
    ids = [f"{i:08d}-0000-4000-8000-000000000000" for i in range(5)]
    with Emulator(page_size=2) as emu, requests.Session() as session:
        for i, sub in enumerate(ids):
            emu.add_subscription(sub, f"sub-{i}", tags={"env": "prod"} if i == 0 else None)
        seen, url, pages = [], f"{emu.url}/subscriptions?api-version=2022-12-01", 0
        while url:
            page = session.get(url, headers=AUTH).json()
            seen += page["value"]
            url = page.get("nextLink")
            pages += 1
            if url:
                assert url.startswith(emu.url + "/subscriptions?")
        assert pages == 3
        assert [s["subscriptionId"] for s in seen] == ids
        first = seen[0]
        assert first["id"] == f"/subscriptions/{ids[0]}"
        assert first["tags"] == {"env": "prod"}
        assert "tags" not in seen[1]
        assert {"displayName", "state", "tenantId", "authorizationSource", "subscriptionPolicies"} <= set(first)


def test_subscription_get_and_not_found_and_malformed(emulator, http):
    emulator.add_subscription(SUB, "payments", state="Warned")
    body = http.get(f"{emulator.url}/subscriptions/{SUB}?api-version=2022-12-01").json()
    assert (body["displayName"], body["state"]) == ("payments", "Warned")
    assert body == emulator.subscription(SUB)
    missing = http.get(f"{emulator.url}/subscriptions/{MISSING}?api-version=2022-12-01")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "SubscriptionNotFound"
    assert http.get(f"{emulator.url}/subscriptions/not-a-guid?api-version=2022-12-01").status_code == 400
    assert http.get(f"{emulator.url}/subscriptions/{SUB}").json()["error"]["code"] == "MissingApiVersionParameter"


# ------------------------------------------------------------------ pricings


def test_get_never_written_pricing_is_free_without_extensions(emulator, http):
    emulator.add_subscription(SUB)
    body = http.get(pricing_url(emulator)).json()
    assert body["id"] == f"/subscriptions/{SUB}/providers/Microsoft.Security/pricings/AI"
    assert body["type"] == "Microsoft.Security/pricings"
    assert body["properties"]["pricingTier"] == "Free"
    assert "extensions" not in body["properties"]
    assert body == emulator.pricing(SUB)


def test_put_replaces_and_later_get_matches_without_operation_status(emulator, http):
    emulator.add_subscription(SUB, pricing=COMPLIANT)
    body = {"properties": {"pricingTier": "Standard", "extensions": [{"name": "AIModelScanner", "isEnabled": "false"}]}}
    put = http.put(pricing_url(emulator), json=body)
    assert put.status_code == 200
    returned = {
        e["name"]: (e["isEnabled"], e["operationStatus"]["code"]) for e in put.json()["properties"]["extensions"]
    }
    assert returned == {
        "AIPromptEvidence": ("True", "Succeeded"),
        "AIPromptSharingWithPurview": ("True", "Succeeded"),  # left out of the PUT: enabled
        "AIModelScanner": ("False", "Succeeded"),
    }
    got = http.get(pricing_url(emulator)).json()
    assert got == emulator.pricing(SUB)
    assert [e for e in got["properties"]["extensions"] if "operationStatus" in e] == []
    assert got["properties"]["enablementTime"] == put.json()["properties"]["enablementTime"]


def test_put_headers_carry_write_quota(emulator, http):
    emulator.add_subscription(SUB)
    put = http.put(pricing_url(emulator), json={"properties": {"pricingTier": "Standard"}})
    get = http.get(pricing_url(emulator))
    assert "x-ms-ratelimit-remaining-subscription-writes" in put.headers
    assert "x-ms-ratelimit-remaining-subscription-reads" in get.headers
    assert put.headers["Content-Type"].startswith("application/json")


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"{not json", 400, "InvalidRequestContent"),
        (b'{"properties": {"pricingTier": "Basic"}}', 400, "InvalidInput"),
        (
            b'{"properties": {"pricingTier": "Standard", "extensions": [{"name": "Nope", "isEnabled": "True"}]}}',
            400,
            "InvalidExtensionName",
        ),
    ],
)
def test_invalid_put_bodies_are_400_and_change_nothing(emulator, http, body, status, code):
    emulator.add_subscription(SUB, pricing=COMPLIANT)
    before = emulator.pricing(SUB)
    response = http.put(pricing_url(emulator), data=body, headers={"Content-Type": "application/json"})
    assert (response.status_code, response.json()["error"]["code"]) == (status, code)
    assert emulator.pricing(SUB) == before


def test_unknown_plan_and_wrong_api_version_are_400(emulator, http):
    emulator.add_subscription(SUB)
    unknown = http.get(pricing_url(emulator, plan="Quantum"))
    assert unknown.status_code == 400
    assert unknown.json()["error"]["code"] == "InvalidResourceName"
    assert "'Quantum' is not a valid name" in unknown.json()["error"]["message"]
    old = http.get(pricing_url(emulator, api="api-version=2023-01-01"))
    assert old.status_code == 400
    assert "2023-01-01" in old.json()["error"]["message"]
    assert http.get(pricing_url(emulator, plan="ai")).json()["name"] == "AI"


def test_list_and_filter(emulator, http):
    emulator.add_subscription(SUB, pricing=COMPLIANT, pricings={"KeyVaults": {"pricingTier": "Standard"}})
    base = f"{emulator.url}/subscriptions/{SUB}/providers/Microsoft.Security/pricings"
    everything = http.get(f"{base}?{PRICINGS_API}").json()["value"]
    assert [p["name"] for p in everything] == list(emulator.plans)
    filtered = http.get(f"{base}?{PRICINGS_API}", params={"$filter": "name in (KeyVaults, ai)"}).json()["value"]
    assert [(p["name"], p["properties"]["pricingTier"]) for p in filtered] == [
        ("KeyVaults", "Standard"),
        ("AI", "Standard"),
    ]
    bad = http.get(f"{base}?{PRICINGS_API}", params={"$filter": "tier eq 'Free'"})
    assert bad.status_code == 400


def test_unknown_subscription_is_404_on_pricings(emulator, http):
    response = http.get(pricing_url(emulator, MISSING))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "SubscriptionNotFound"


# ------------------------------------------------------------------ faults


def test_forbidden_write_names_the_action_and_scope(emulator, http):
    emulator.add_subscription(SUB)
    emulator.faults = FaultConfig(forbidden={SUB: "write"})
    assert http.get(pricing_url(emulator)).status_code == 200
    put = http.put(pricing_url(emulator), json={"properties": {"pricingTier": "Standard"}})
    assert put.status_code == 403
    error = put.json()["error"]
    assert error["code"] == "AuthorizationFailed"
    assert "'Microsoft.Security/pricings/write'" in error["message"]
    assert f"'/subscriptions/{SUB}/providers/Microsoft.Security/pricings/AI'" in error["message"]
    assert CLIENT_OBJECT_ID in error["message"]
    assert emulator.pricing(SUB)["properties"]["pricingTier"] == "Free"


def test_forbidden_all_blocks_reads_too(emulator, http):
    emulator.add_subscription(SUB)
    emulator.faults = FaultConfig(forbidden={SUB: "all"})
    response = http.get(pricing_url(emulator))
    assert response.status_code == 403
    assert "'Microsoft.Security/pricings/read'" in response.json()["error"]["message"]


def test_disabled_subscription_is_read_only(emulator, http):
    emulator.add_subscription(SUB, state="Disabled")
    assert http.get(pricing_url(emulator)).status_code == 200
    put = http.put(pricing_url(emulator), json={"properties": {"pricingTier": "Standard"}})
    assert put.status_code == 409
    assert put.json()["error"]["code"] == "ReadOnlyDisabledSubscription"
    assert SUB in put.json()["error"]["message"]


def test_unregistered_provider_then_register(emulator, http):
    emulator.add_subscription(SUB, registered=False)
    emulator.add_subscription(SUB2)
    emulator.faults = FaultConfig(unregistered={SUB2})
    for sub in (SUB, SUB2):
        response = http.get(pricing_url(emulator, sub))
        assert response.status_code == 409
        error = response.json()["error"]
        assert error["code"] == "MissingSubscriptionRegistration"
        assert error["message"].startswith("The subscription is not registered to use namespace 'Microsoft.Security'.")
        provider = http.get(f"{emulator.url}/subscriptions/{sub}/providers/Microsoft.Security?api-version=2016-02-01")
        assert provider.json()["registrationState"] == "NotRegistered"
        register = http.post(
            f"{emulator.url}/subscriptions/{sub}/providers/Microsoft.Security/register?api-version=2016-02-01"
        )
        assert register.status_code == 200
        provider = http.get(f"{emulator.url}/subscriptions/{sub}/providers/Microsoft.Security?api-version=2016-02-01")
        assert provider.json()["registrationState"] == "Registered"
        assert http.get(pricing_url(emulator, sub)).status_code == 200
    assert emulator.faults.unregistered == set()
    assert emulator.calls["providers.register"] == 2


def test_registration_can_be_forbidden(emulator, http):
    emulator.add_subscription(SUB, registered=False)
    emulator.faults = FaultConfig(registration_forbidden={SUB})
    register = http.post(
        f"{emulator.url}/subscriptions/{SUB}/providers/Microsoft.Security/register?api-version=2016-02-01"
    )
    assert register.status_code == 403
    assert "Microsoft.Security/register/action" in register.json()["error"]["message"]
    assert not emulator.is_registered(SUB)


def test_conflict_next_puts(emulator, http):
    emulator.add_subscription(SUB)
    emulator.faults = FaultConfig(conflict_next_puts={SUB: 2})
    statuses = [
        http.put(pricing_url(emulator), json={"properties": {"pricingTier": "Standard"}}).status_code for _ in range(3)
    ]
    assert statuses == [409, 409, 200]
    assert emulator.faults.conflict_next_puts[SUB] == 0


def test_overlapping_puts_on_one_subscription_conflict(emulator):
    emulator.add_subscription(SUB)
    emulator.add_subscription(SUB2)
    # The latency keeps whichever PUT arrives first in flight while the others arrive.
    emulator.faults = FaultConfig(latency_ms=600)
    barrier = threading.Barrier(3)
    results: dict[str, int] = {}
    messages: list[str] = []

    def put(name: str, sub: str) -> None:
        barrier.wait()
        response = requests.put(
            pricing_url(emulator, sub), json={"properties": {"pricingTier": "Standard"}}, headers=AUTH
        )
        results[name] = response.status_code
        if response.status_code == 409:
            messages.append(response.json()["error"]["message"])

    threads = [
        threading.Thread(target=put, args=("a", SUB)),
        threading.Thread(target=put, args=("b", SUB)),
        threading.Thread(target=put, args=("other_sub", SUB2)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted([results["a"], results["b"]]) == [200, 409]
    assert results["other_sub"] == 200
    assert messages == ["Another update operation is in progress. Please try again after the operation completes."]


def test_fail_extensions_answers_200_with_failed_status(emulator, http):
    emulator.add_subscription(SUB)
    emulator.faults = FaultConfig(fail_extensions={SUB: {"AIModelScanner": "Failed assigning roles to {identityName}"}})
    put = http.put(pricing_url(emulator), json={"properties": {"pricingTier": "Standard"}})
    assert put.status_code == 200
    scanner = put.json()["properties"]["extensions"][2]
    assert scanner["isEnabled"] == "True"
    assert scanner["operationStatus"] == {"code": "Failed", "message": "Failed assigning roles to {identityName}"}


def test_throttle_answers_429_with_retry_after_and_counts_early_retries(emulator, http):
    emulator.add_subscription(SUB)
    emulator.faults = FaultConfig(throttle_fraction=1.0, retry_after_seconds=30)
    first = http.get(pricing_url(emulator))
    assert first.status_code == 429
    assert first.headers["Retry-After"] == "30"
    assert first.headers["x-ms-ratelimit-remaining-subscription-reads"] == "0"
    assert first.json()["error"]["code"] == "TooManyRequests"
    assert emulator.early_retries == 0
    http.get(pricing_url(emulator))  # straight back: 30 s too early
    assert emulator.early_retries == 1
    http.get(f"{emulator.url}/subscriptions/{SUB}?api-version=2022-12-01")  # another kind: not a retry
    assert emulator.early_retries == 1


def test_throttle_next_calls_is_exact(emulator, http):
    emulator.add_subscription(SUB)
    emulator.faults = FaultConfig(throttle_next_calls=2, retry_after_seconds=0)
    assert [http.get(pricing_url(emulator)).status_code for _ in range(3)] == [429, 429, 200]
    assert emulator.early_retries == 0


def test_error_draws_are_seeded_and_use_cloud_errors(emulator, http):
    emulator.add_subscription(SUB)

    def statuses(seed: int) -> list[int]:
        emulator.faults = FaultConfig(error_fraction=0.5, seed=seed)
        return [http.get(pricing_url(emulator)).status_code for _ in range(30)]

    first = statuses(4)
    assert first == statuses(4)
    assert {500, 503, 200} == set(first)
    emulator.faults = FaultConfig(error_fraction=1.0)
    response = http.get(pricing_url(emulator))
    assert response.json()["error"]["code"] in {"InternalServerError", "ServiceUnavailable"}


def test_latency_delays_the_answer(emulator, http):
    emulator.add_subscription(SUB)
    emulator.faults = FaultConfig(latency_ms=120)
    http.get(pricing_url(emulator))
    record = emulator.requests[-1]
    # A lower bound only (sleep never returns early), so this cannot flake.
    assert record.ended - record.started >= 0.12


def test_faults_can_be_mutated_mid_run(emulator, http):
    emulator.add_subscription(SUB)
    assert http.get(pricing_url(emulator)).status_code == 200
    emulator.faults.forbidden[SUB] = "all"
    assert http.get(pricing_url(emulator)).status_code == 403
    del emulator.faults.forbidden[SUB]
    assert http.get(pricing_url(emulator)).status_code == 200


def test_fault_config_rejects_impossible_values():
    with pytest.raises(ValueError):
        FaultConfig(throttle_fraction=1.5)
    with pytest.raises(ValueError):
        FaultConfig(latency_ms=-1)


# ------------------------------------------------------------------ Resource Graph


def test_resource_graph_rows_and_paging(emulator, http):
    members = emulator.seed_fleet(25, drift_fraction=0.4, seed=3)
    ids = [m.subscription_id for m in members]
    rows, token, pages = [], None, 0
    while True:
        options = {"$top": 10, "resultFormat": "objectArray"}
        if token:
            options["$skipToken"] = token
        body = arg(http, emulator, ids, options).json()
        assert body["totalRecords"] == 25
        assert body["count"] == len(body["data"])
        assert body["resultTruncated"] == "false"
        assert body["facets"] == []
        rows += body["data"]
        pages += 1
        token = body.get("$skipToken")
        if not token:
            break
    assert pages == 3
    assert [r["subscriptionId"] for r in rows] == ids
    by_kind = {m.drift_kind: r for m, r in zip(members, rows, strict=True)}
    assert by_kind["free"]["pricingTier"] == "Free"
    assert by_kind["no_extensions"]["extensions"] is None
    assert (
        by_kind["compliant"]["extensions"]
        == emulator.pricing(by_kind["compliant"]["subscriptionId"])["properties"]["extensions"]
    )


def test_resource_graph_skip_and_order_by(emulator, http):
    ids = [m.subscription_id for m in emulator.seed_fleet(6, seed=2)]
    ordered = arg(http, emulator, ids, query=ARG_QUERY + " | order by subscriptionId asc").json()["data"]
    assert [r["subscriptionId"] for r in ordered] == sorted(ids)
    descending = arg(http, emulator, ids, query=ARG_QUERY + " | order by subscriptionId").json()["data"]
    assert [r["subscriptionId"] for r in descending] == sorted(ids, reverse=True)
    skipped = arg(http, emulator, ids, {"$skip": 4}).json()
    assert [r["subscriptionId"] for r in skipped["data"]] == ids[4:]


def test_resource_graph_leaves_out_what_real_arg_would_not_show(emulator, http):
    visible, deleted, unregistered, hidden = (
        f"{i}{i}{i}{i}{i}{i}{i}{i}-0000-4000-8000-000000000000" for i in range(1, 5)
    )
    emulator.add_subscription(visible, pricing=COMPLIANT)
    emulator.add_subscription(deleted, state="Deleted", pricing=COMPLIANT)
    emulator.add_subscription(unregistered, registered=False)
    emulator.add_subscription(hidden)
    emulator.faults = FaultConfig(forbidden={hidden: "all"})
    body = arg(http, emulator, [visible, deleted, unregistered, hidden, MISSING]).json()
    assert [r["subscriptionId"] for r in body["data"]] == [visible]


def test_resource_graph_lag_shows_the_past(emulator, http):
    emulator.add_subscription(SUB, pricing=COMPLIANT)
    emulator.faults = FaultConfig(resource_graph_lag_seconds=60)
    emulator.set_pricing(SUB, "AI", {"pricingTier": "Free"})
    assert arg(http, emulator, [SUB]).json()["data"][0]["pricingTier"] == "Standard"
    http.put(pricing_url(emulator), json={"properties": {"pricingTier": "Standard"}})
    assert arg(http, emulator, [SUB]).json()["data"][0]["extensions"] == COMPLIANT["extensions"]
    emulator.faults.resource_graph_lag_seconds = 0
    fresh = arg(http, emulator, [SUB]).json()["data"][0]
    assert fresh["pricingTier"] == "Standard"
    assert {e["isEnabled"] for e in fresh["extensions"]} == {"True"}


def test_resource_graph_unavailable_and_bad_requests(emulator, http):
    emulator.add_subscription(SUB)
    emulator.faults = FaultConfig(resource_graph_unavailable=True)
    assert arg(http, emulator, [SUB]).status_code == 503
    emulator.faults = FaultConfig()
    other = arg(http, emulator, [SUB], query="Resources | project id")
    assert other.status_code == 400
    assert "supports only these Resource Graph query shapes" in other.json()["error"]["message"]
    too_many = arg(http, emulator, [f"{i:08d}-0000-4000-8000-000000000000" for i in range(1001)])
    assert too_many.status_code == 400
    assert arg(http, emulator, [SUB], {"$top": 0}).status_code == 400
    assert arg(http, emulator, [SUB], {"$skipToken": "%%%"}).status_code == 400
    assert arg(http, emulator, [SUB], {"resultFormat": "table"}).status_code == 400
    assert emulator.calls["resourcegraph.resources"] == 6


def test_throttle_every_kth_call_with_bursts_per_subscription(emulator, http):
    emulator.add_subscription(SUB)
    emulator.faults = FaultConfig(throttle_every=3, throttle_burst=2, retry_after_seconds=0)
    statuses = [http.get(pricing_url(emulator)).status_code for _ in range(7)]
    # Every third counted call is throttled and followed by one more 429 for the same subscription
    # (calls inside a burst are not counted).
    assert statuses == [200, 200, 429, 429, 200, 200, 429]


def test_a_slow_plan_update_holds_the_409_for_overlapping_puts(emulator, http):
    emulator.add_subscription(SUB)
    emulator.faults = FaultConfig(put_hold_seconds=0.5)
    body = {"properties": {"pricingTier": "Standard"}}
    first = threading.Thread(target=lambda: http.put(pricing_url(emulator), json=body))
    first.start()
    time.sleep(0.2)
    second = requests.put(pricing_url(emulator), json=body, headers=dict(http.headers), timeout=10)
    during = requests.get(pricing_url(emulator), headers=dict(http.headers), timeout=10).json()
    first.join()
    assert second.status_code == 409
    assert "Another update operation is in progress" in second.text
    # The update shows once it has settled.
    assert during["properties"]["pricingTier"] == "Free"
    assert http.get(pricing_url(emulator)).json()["properties"]["pricingTier"] == "Standard"
