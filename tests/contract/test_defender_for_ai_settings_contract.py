"""Replays the official Microsoft.CognitiveServices defenderForAISettings examples against the ARM emulator.

Source: /work/shared/reference/arm-cognitiveservices-defenderforaisettings/ (copies of azure-rest-api-specs
`specification/cognitiveservices/.../stable/*/examples/*DefenderForAISetting.json`). Each example is replayed over
HTTP with its own api-version (2025-09-01 for Get/List/Update, 2024-10-01 for Put); the answer must have a documented
status code, the documented keys, and the documented values except `systemData` and `etag`, which the emulator
fills with its own times, callers and tags (they only have to be present with the documented keys).

Seeding: the account of the example (`resourceGroupName`/`accountName`) exists under the example's subscription.
Get and List: its setting is the documented response's state. Put: the account has no setting yet (the emulator's
reading: a PUT creates it, 201), and a second run with a setting (200). Update: the setting starts `Disabled`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests

from localdev.emulator import Emulator

pytestmark = pytest.mark.contract

EXAMPLES_DIR = Path("/work/shared/reference/arm-cognitiveservices-defenderforaisettings")
VOLATILE = {"systemData", "etag"}
AUTH = {"Authorization": "Bearer contract-test"}

if not EXAMPLES_DIR.is_dir():
    pytest.skip(f"reference examples not found at {EXAMPLES_DIR}", allow_module_level=True)

ALL_EXAMPLES = sorted(p.name for p in EXAMPLES_DIR.glob("*.json"))
METHODS = {"Get": "GET", "List": "GET", "Put": "PUT", "Update": "PATCH"}


def load(name: str) -> dict[str, Any]:
    example: dict[str, Any] = json.loads((EXAMPLES_DIR / name).read_text())
    return example


def url(emulator: Emulator, params: dict[str, Any], name: str) -> str:
    base = (
        f"{emulator.url}/subscriptions/{params['subscriptionId']}/resourceGroups/{params['resourceGroupName']}"
        f"/providers/Microsoft.CognitiveServices/accounts/{params['accountName']}/defenderForAISettings"
    )
    if not name.startswith("List"):
        base += f"/{params['defenderForAISettingName']}"
    return base + f"?api-version={params['api-version']}"


def assert_matches(actual: Any, documented: Any, path: str = "") -> None:
    if isinstance(documented, dict):
        assert isinstance(actual, dict), path
        assert set(actual) == set(documented), f"{path}: keys {sorted(actual)} != {sorted(documented)}"
        for key, value in documented.items():
            if key in VOLATILE:
                if isinstance(value, dict):
                    assert set(actual[key]) == set(value), f"{path}.{key}"
                continue
            assert_matches(actual[key], value, f"{path}.{key}")
    elif isinstance(documented, list):
        assert isinstance(actual, list) and len(actual) == len(documented), path
        for i, (a, d) in enumerate(zip(actual, documented, strict=True)):
            assert_matches(a, d, f"{path}[{i}]")
    else:
        assert actual == documented, f"{path}: {actual!r} != {documented!r}"


def documented_body(example: dict[str, Any], status: int) -> Any:
    return example["responses"][str(status)]["body"]


# Only a PUT can create the setting, so only the Put example is also replayed on an account without one.
CASES = [(n, True) for n in ALL_EXAMPLES] + [(n, False) for n in ALL_EXAMPLES if n.startswith("Put")]


@pytest.mark.parametrize(("name", "existing"), CASES)
def test_example_replays(emulator: Emulator, name: str, existing: bool) -> None:
    example = load(name)
    params = example["parameters"]
    operation = next(op for op in METHODS if name.startswith(op))
    emulator.add_subscription(params["subscriptionId"])
    first = next(iter(example["responses"].values()))["body"]
    documented_state = (first["value"][0] if "value" in first else first)["properties"]["state"]
    seeded = {"Get": documented_state, "List": documented_state, "Put": "Disabled" if existing else None}.get(
        operation, "Disabled"
    )
    emulator.cognitive.add(params["subscriptionId"], params["resourceGroupName"], params["accountName"], state=seeded)
    body = params.get("defenderForAISettings")

    response = requests.request(METHODS[operation], url(emulator, params, name), json=body, headers=AUTH, timeout=10)

    assert str(response.status_code) in example["responses"], response.text
    if operation == "Put":
        assert response.status_code == (200 if existing else 201)
    assert_matches(response.json(), documented_body(example, response.status_code))


def test_sdk_reads_and_writes_the_setting(emulator: Emulator) -> None:
    """azure-mgmt-cognitiveservices (its default api-version) against the same routes."""
    from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient
    from azure.mgmt.cognitiveservices.models import DefenderForAISetting

    from tests.fixtures.emulator import sdk_client_kwargs

    sub = "00000000-0000-0000-0000-000000000000"
    emulator.add_subscription(sub)
    emulator.cognitive.add(sub, "rg", "acct", state="Disabled")
    with CognitiveServicesManagementClient(subscription_id=sub, **sdk_client_kwargs(emulator)) as client:
        ops = client.defender_for_ai_settings
        assert ops.get("rg", "acct", "Default").state == "Disabled"
        assert [s.state for s in ops.list("rg", "acct")] == ["Disabled"]
        assert ops.update("rg", "acct", "Default", DefenderForAISetting(state="Enabled")).state == "Enabled"
        assert ops.create_or_update("rg", "acct", "Default", DefenderForAISetting(state="Disabled")).state == "Disabled"
        assert [a.name for a in client.accounts.list()] == ["acct"]
        assert client.accounts.get("rg", "acct").kind == "OpenAI"


def test_wrong_api_version_is_refused(emulator: Emulator) -> None:
    sub = "00000000-0000-0000-0000-000000000000"
    emulator.add_subscription(sub)
    emulator.cognitive.add(sub, "rg", "acct")
    response = requests.get(
        f"{emulator.url}/subscriptions/{sub}/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/acct"
        "/defenderForAISettings/Default?api-version=2023-05-01",
        headers=AUTH,
        timeout=10,
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "NoRegisteredProviderFound"
