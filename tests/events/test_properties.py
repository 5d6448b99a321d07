"""Property-based tests: parse_event never raises, stays bounded, and never enforces on a contradiction."""

from __future__ import annotations

import copy
import re
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from enforcer.core.events import (
    AI_ACCOUNT_OPERATIONS,
    EVENT_ID_MAX_CHARS,
    NAME_MAX_CHARS,
    POLICY_EVENT_TYPES,
    REASON_MAX_CHARS,
    RESOURCE_EVENT_TYPES,
    SUBSCRIPTION_OPERATIONS,
    VENDING_EVENT_TYPE,
    EnforceRequest,
    EventEnvelope,
    EventSkipped,
    Route,
    envelope_from_dict,
    parse_event,
)
from enforcer.core.models import OutcomeKind
from tests.events.samples import sample, sample_names

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
GUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
SAMPLES = {name: sample(name) for name in sample_names()}

guids = st.uuids().map(str)
odd_text = st.text(max_size=40)  # any unicode, control and format characters included
huge_text = st.builds(lambda ch, n: ch * n, st.characters(), st.integers(min_value=1_000, max_value=200_000))
interesting_strings = st.one_of(
    odd_text,
    huge_text,
    guids,
    guids.map(str.upper),
    st.sampled_from(
        [
            *sorted(RESOURCE_EVENT_TYPES | POLICY_EVENT_TYPES | AI_ACCOUNT_OPERATIONS | SUBSCRIPTION_OPERATIONS),
            VENDING_EVENT_TYPE,
            "1.0",
            "0.3",
            "",
            "Microsoft.Security/pricings/write",
            "/subscriptions/",
            "/subscriptions",
        ]
    ),
    guids.map(lambda g: f"/subscriptions/{g}"),
    guids.map(lambda g: f"/subscriptions/{g}/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/a"),
    guids.map(lambda g: f"/providers/Microsoft.Management/managementGroups/mg/subscriptions/{g}"),
    odd_text.map(lambda t: f"/subscriptions/{t}"),
)
json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True), interesting_strings
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(odd_text, children, max_size=4),
    max_leaves=12,
)
ENVELOPE_KEYS = ["id", "type", "eventType", "specversion", "source", "topic", "subject", "time", "eventTime", "data"]
DATA_KEYS = ["subscriptionId", "resourceUri", "operationName", "policyDefinitionId", "displayName", "requestedBy"]
data_dicts = st.dictionaries(st.sampled_from(DATA_KEYS) | odd_text, json_values, max_size=6)
envelope_dicts = st.dictionaries(
    st.sampled_from(ENVELOPE_KEYS) | odd_text,
    st.one_of(json_values, data_dicts),
    max_size=8,
)
routes = st.sampled_from(list(Route))
extra_ids = st.lists(st.one_of(guids, odd_text), max_size=3)

NAMING_FIELDS = ("data.subscriptionId", "data.resourceUri", "subject", "source")


def subscriptions_named(raw: Any) -> set[str]:
    """An independent, simple oracle: the GUIDs the naming fields spell out (lower-cased)."""
    named: set[str] = set()
    if not isinstance(raw, dict):
        return named
    data_value = raw.get("data")
    data: dict[str, Any] = data_value if isinstance(data_value, dict) else {}
    subscription_value = data.get("subscriptionId")
    if isinstance(subscription_value, str) and GUID_RE.fullmatch(subscription_value.lower()):
        named.add(subscription_value.lower())
    source = raw.get("source") if "specversion" in raw else raw.get("topic")
    for value in (data.get("resourceUri"), raw.get("subject")):
        if isinstance(value, str):
            low = value.lower()
            for prefix in ("/subscriptions/", "/providers/microsoft.management/managementgroups/"):
                if low.startswith(prefix):
                    match = re.search(r"/subscriptions/([0-9a-f-]{36})(?:/|$)", low)
                    if match and GUID_RE.fullmatch(match.group(1)):
                        named.add(match.group(1))
    if isinstance(source, str):
        match = re.fullmatch(r"/subscriptions/([0-9a-f-]{36})(?:/resourcegroups/[^/]+)?/?", source.lower())
        if match and GUID_RE.fullmatch(match.group(1)):
            named.add(match.group(1))
    return named


def check_invariants(raw: Any, result: object) -> None:
    assert isinstance(result, EnforceRequest | EventSkipped)
    if isinstance(result, EventSkipped):
        assert result.outcome in (OutcomeKind.IGNORED, OutcomeKind.REJECTED)
        assert 0 < len(result.reason) <= REASON_MAX_CHARS
        assert len(result.event_id) <= REASON_MAX_CHARS and len(result.event_type) <= REASON_MAX_CHARS
        # The catch-all is a safety net; no input here should need it.
        assert "could not be parsed" not in result.reason and "could not be read" not in result.reason
        assert result.subscription_id is None or GUID_RE.fullmatch(result.subscription_id)
    else:
        assert GUID_RE.fullmatch(result.subscription_id)
        assert 0 < len(result.event_id) <= EVENT_ID_MAX_CHARS
        assert result.kind in {
            "ai_account",
            "subscription_vending",
            "policy_state",
            "subscription_alias",
            "management_group_move",
            "pricing_write",
            "account_setting_write",
        }
        for name in (result.display_name, result.requested_by):
            assert name is None or 0 < len(name) <= NAME_MAX_CHARS
        # Never enforce on an event whose fields name different subscriptions.
        assert subscriptions_named(raw) <= {result.subscription_id}


@SETTINGS
@given(raw=json_values, route=routes, extra=extra_ids)
def test_any_json_value(raw: Any, route: Route, extra: list[str]):
    check_invariants(raw, parse_event(raw, route, extra))
    envelope = envelope_from_dict(raw)
    assert isinstance(envelope, EventEnvelope | EventSkipped)


@SETTINGS
@given(raw=envelope_dicts, route=routes, extra=extra_ids)
def test_envelope_shaped_junk(raw: dict[str, Any], route: Route, extra: list[str]):
    check_invariants(raw, parse_event(raw, route, extra))


def _set_path(raw: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    target: Any = raw
    for key in path[:-1]:
        if not isinstance(target.get(key), dict):
            target[key] = {}
        target = target[key]
    target[path[-1]] = value


def _all_paths(value: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = []
    if isinstance(value, dict):
        for key, child in value.items():
            paths.append((*prefix, key))
            paths.extend(_all_paths(child, (*prefix, key)))
    return paths


@st.composite
def mutated_samples(draw: st.DrawFn) -> dict[str, Any]:
    raw = copy.deepcopy(SAMPLES[draw(st.sampled_from(sorted(SAMPLES)))])
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        paths = _all_paths(raw)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        action = draw(st.sampled_from(["drop", "replace", "retype"]))
        parent: Any = raw
        for key in path[:-1]:
            parent = parent[key]
        if action == "drop":
            del parent[path[-1]]
        elif action == "replace":
            parent[path[-1]] = draw(json_values)
        else:
            old = parent[path[-1]]
            parent[path[-1]] = [old] if not isinstance(old, list) else {"v": old}
    return raw


@SETTINGS
@given(raw=mutated_samples(), route=routes, extra=extra_ids)
def test_mutated_samples(raw: dict[str, Any], route: Route, extra: list[str]):
    check_invariants(raw, parse_event(raw, route, extra))


def _name_in(raw: dict[str, Any], field: str, guid: str) -> None:
    if field == "data.subscriptionId":
        _set_path(raw, ("data", "subscriptionId"), guid)
    elif field == "data.resourceUri":
        _set_path(raw, ("data", "resourceUri"), f"/subscriptions/{guid}/resourceGroups/rg")
    elif field == "subject":
        raw["subject"] = f"/subscriptions/{guid}"
    else:
        raw["source" if "specversion" in raw else "topic"] = f"/subscriptions/{guid}"


@SETTINGS
@given(
    name=st.sampled_from(sorted(SAMPLES)),
    route=routes,
    fields=st.lists(st.sampled_from(NAMING_FIELDS), min_size=2, max_size=2, unique=True),
    ids=st.lists(guids, min_size=2, max_size=2, unique=True),
    upper=st.booleans(),
)
def test_samples_naming_two_different_subscriptions_are_rejected(
    name: str, route: Route, fields: list[str], ids: list[str], upper: bool
):
    raw = copy.deepcopy(SAMPLES[name])
    _name_in(raw, fields[0], ids[0].upper() if upper else ids[0])
    _name_in(raw, fields[1], ids[1])
    result = parse_event(raw, route)
    assert isinstance(result, EventSkipped)
    assert result.outcome is OutcomeKind.REJECTED
    assert "disagree" in result.reason
    check_invariants(raw, result)


@SETTINGS
@given(name=st.sampled_from(sorted(SAMPLES)), route=routes, field=st.sampled_from(NAMING_FIELDS), bad=odd_text)
def test_samples_naming_a_non_guid_subscription_are_rejected(name: str, route: Route, field: str, bad: str):
    assume("/" not in bad and not GUID_RE.fullmatch(bad.lower()))
    raw = copy.deepcopy(SAMPLES[name])
    if field == "data.subscriptionId":
        assume(bad.strip())  # an empty id counts as absent
    _name_in(raw, field, bad)
    result = parse_event(raw, route)
    assert isinstance(result, EventSkipped) and result.outcome is OutcomeKind.REJECTED
    assert "not a GUID" in result.reason
    check_invariants(raw, result)
