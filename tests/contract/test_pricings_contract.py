"""Replays the official Microsoft.Security pricings 2024-01-01 examples against the ARM emulator.

Source: /work/shared/reference/arm-security-pricings-2024-01-01/examples/. For each example at
subscription scope (`scopeId` = `subscriptions/<id>`), the emulator is seeded from the example, the
request is replayed over HTTP, and the answer is checked against the documented response: status
code among the documented ones, the same keys, the same values for non-volatile fields
(`enablementTime` and `freeTrialRemainingTime` only have to be present), extensions in the same
order with the same `isEnabled`, `additionalExtensionProperties` and `operationStatus`.

Seeding per kind of example:
- GET and list examples: the documented response is stored as the subscription's state.
- PutPricingByName_example.json: nothing stored (the plan starts Free).
- PutPricingVMsByName_example.json: the response shows AgentlessVmScanning's ExclusionTags although
  the request sends none, so the state before the PUT is seeded with them (a PUT keeps an extension's
  additionalExtensionProperties it is not given).
- PutPricingByNamePartialSuccess_example.json: `fail_extensions` is set from the example's Failed
  extensions, and the CloudPosture catalogue is narrowed to the four extensions that example lists
  (PutPricingByName_example.json, for the same plan and request, lists five, with
  EntraPermissionsManagement: the two examples disagree, so this test follows each one).

Example quirks, allowed for: ListPricings_example.json and ListPricingsWithPlanFilter_example.json
return items whose `id` names another subscription (d34fd44c-...) than the request's scope, and one
(`Api`) whose id lacks the leading slash; those ids are not compared (the emulator answers ids under
the requested scope). The list responses of the emulator also include plans the example does not
(e.g. AI); only the example's plans, and their order, are checked.

Skipped as resource scope (the emulator serves subscription-scope pricings only; the enforcer never
uses resource-level pricing, which 2024-01-01 documents for VirtualMachines and Containers only):
- DeleteResourcePricingByNameContainers_example.json
- DeleteResourcePricing_example.json
- GetResourcePricingByNameContainers_example.json
- GetResourcePricingByNameVirtualMachines_example.json
- ListResourcePricings_example.json
- PutResourcePricingByNameContainersACR_example.json
- PutResourcePricingByNameContainers_example.json
- PutResourcePricingByNameVirtualMachines_example.json
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
import requests

from localdev.emulator import Emulator, ExtensionSpec, FaultConfig, PlanSpec

pytestmark = pytest.mark.contract

EXAMPLES_DIR = Path("/work/shared/reference/arm-security-pricings-2024-01-01/examples")
SKIPPED_RESOURCE_SCOPE = {
    "DeleteResourcePricingByNameContainers_example.json",
    "DeleteResourcePricing_example.json",
    "GetResourcePricingByNameContainers_example.json",
    "GetResourcePricingByNameVirtualMachines_example.json",
    "ListResourcePricings_example.json",
    "PutResourcePricingByNameContainersACR_example.json",
    "PutResourcePricingByNameContainers_example.json",
    "PutResourcePricingByNameVirtualMachines_example.json",
}
VOLATILE = {"enablementTime", "freeTrialRemainingTime"}
AUTH = {"Authorization": "Bearer contract-test"}
_SUBSCRIPTION_SCOPE = re.compile(r"^subscriptions/(?P<sub>[0-9a-fA-F-]{36})$")

if not EXAMPLES_DIR.is_dir():
    pytest.skip(f"reference examples not found at {EXAMPLES_DIR}", allow_module_level=True)

ALL_EXAMPLES = sorted(p.name for p in EXAMPLES_DIR.glob("*.json"))


def load(name: str) -> dict[str, Any]:
    example: dict[str, Any] = json.loads((EXAMPLES_DIR / name).read_text())
    return example


def subscription_scope(example: dict[str, Any]) -> str | None:
    match = _SUBSCRIPTION_SCOPE.match(example["parameters"]["scopeId"])
    return match.group("sub").lower() if match else None


REPLAYED = [name for name in ALL_EXAMPLES if subscription_scope(load(name)) is not None]


def test_every_example_is_either_replayed_or_documented_as_skipped():
    assert set(ALL_EXAMPLES) == set(REPLAYED) | SKIPPED_RESOURCE_SCOPE
    assert not set(REPLAYED) & SKIPPED_RESOURCE_SCOPE
    assert len(REPLAYED) == 8


def strip_status(properties: dict[str, Any]) -> dict[str, Any]:
    props = copy.deepcopy(properties)
    for ext in props.get("extensions") or []:
        ext.pop("operationStatus", None)
    return props


def assert_matches(actual: dict[str, Any], expected: dict[str, Any], scope_sub: str) -> None:
    assert set(actual) == set(expected), f"{expected.get('name')}: keys differ"
    assert actual["name"] == expected["name"]
    assert actual["type"] == expected["type"]
    if expected["id"].lower().startswith(f"/subscriptions/{scope_sub}/"):
        assert actual["id"].lower() == expected["id"].lower()
    actual_props, expected_props = actual["properties"], expected["properties"]
    assert set(actual_props) == set(expected_props), f"{expected['name']}: property keys differ"
    for key, value in expected_props.items():
        if key in VOLATILE:
            assert isinstance(actual_props[key], str) and actual_props[key]
        elif key == "extensions":
            got = actual_props["extensions"]
            assert [e["name"] for e in got] == [e["name"] for e in value]
            for got_ext, want_ext in zip(got, value, strict=True):
                assert set(got_ext) == set(want_ext), f"{want_ext['name']}: extension keys differ"
                assert got_ext["isEnabled"] == want_ext["isEnabled"]
                assert got_ext.get("additionalExtensionProperties") == want_ext.get("additionalExtensionProperties")
                assert got_ext.get("operationStatus") == want_ext.get("operationStatus")
        else:
            assert actual_props[key] == value, f"{expected['name']}.{key}"


def seed(emu: Emulator, name: str, example: dict[str, Any], sub: str) -> None:
    params = example["parameters"]
    ok = example["responses"].get("200", {}).get("body", {})
    if name.startswith(("Get", "List")):
        items = ok.get("value", [ok])
        emu.add_subscription(sub, pricings={item["name"]: item["properties"] for item in items})
    elif name == "PutPricingVMsByName_example.json":
        emu.add_subscription(sub, pricings={params["pricingName"]: strip_status(ok["properties"])})
    elif name == "PutPricingByNamePartialSuccess_example.json":
        extensions = ok["properties"]["extensions"]
        emu.plans["CloudPosture"] = PlanSpec("CloudPosture", tuple(ExtensionSpec(e["name"]) for e in extensions))
        failures = {
            e["name"]: e["operationStatus"]["message"] for e in extensions if e["operationStatus"]["code"] == "Failed"
        }
        emu.faults = FaultConfig(fail_extensions={sub: failures})
        emu.add_subscription(sub)
    else:
        emu.add_subscription(sub)


def replay(emu: Emulator, name: str, example: dict[str, Any]) -> requests.Response:
    params = example["parameters"]
    url = f"{emu.url}/{params['scopeId']}/providers/Microsoft.Security/pricings"
    if "pricingName" in params:
        url += f"/{params['pricingName']}"
    query = {"api-version": params["api-version"]}
    query.update({k: v for k, v in params.items() if k.lower() == "$filter"})
    if name.startswith("Put"):
        return requests.put(url, params=query, json=params["pricing"], headers=AUTH, timeout=10)
    return requests.get(url, params=query, headers=AUTH, timeout=10)


@pytest.mark.parametrize("name", REPLAYED)
def test_example_replays(emulator, name):
    example = load(name)
    sub = subscription_scope(example)
    assert sub is not None
    seed(emulator, name, example, sub)

    response = replay(emulator, name, example)

    assert str(response.status_code) in example["responses"], response.text
    expected = example["responses"][str(response.status_code)]["body"]
    actual = response.json()
    if "value" in expected:
        by_name = {item["name"]: item for item in actual["value"]}
        expected_names = [item["name"] for item in expected["value"]]
        assert [n for n in by_name if n in expected_names] == expected_names
        if any(k.lower() == "$filter" for k in example["parameters"]):
            assert list(by_name) == expected_names
        for item in expected["value"]:
            assert_matches(by_name[item["name"]], item, sub)
    else:
        assert_matches(actual, expected, sub)
    if name.startswith("Put"):
        # What the PUT stored is what a GET now returns: the same pricing without operationStatus.
        stored = emulator.pricing(sub, example["parameters"]["pricingName"])
        assert stored["properties"] == strip_status(actual["properties"])
