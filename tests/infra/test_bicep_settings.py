"""The Bicep sets every app setting the code reads, with the code's defaults, and azd passes them through."""

from __future__ import annotations

import json
import re

import pytest

from enforcer.core.settings import SETTINGS
from tests.infra.bicep_text import INFRA, NotLiteral, blocks, declarations, entry_value, literal, object_entries, read

MAIN = read("main.bicep")
MAIN_DECLARATIONS = declarations(MAIN)
SPEC_BY_NAME = {spec.name: spec for spec in SETTINGS}

# Settings whose value the Bicep computes from the deployment instead of a parameter.
COMPUTED = {
    "ENFORCER_ARM_ENDPOINT",
    "ENFORCER_ARM_AUDIENCE",
    "ENFORCER_STORAGE",
    "ENFORCER_TEAMS_WEBHOOK_URL",
    # Event wiring: where to deliver and what to create, fixed by the deployment (names, region, storage, key).
    "ENFORCER_EVENT_DELIVERY_URL",
    "ENFORCER_EVENT_DELIVERY_KEY",
    "ENFORCER_EVENT_SUBSCRIPTION_NAME",
    "ENFORCER_EVENTS_LOCATION",
    "ENFORCER_EVENTS_TOPIC_NAME",
    "ENFORCER_EVENT_DEAD_LETTER_ACCOUNT_ID",
    "ENFORCER_EVENT_DEAD_LETTER_CONTAINER",
    # Learned from the managed identity's token; the setting is for runs elsewhere (issue 19).
    "ENFORCER_IDENTITY_OBJECT_ID",
}

# Settings the Bicep sets before enforcer/core/settings.py reads them (the app side is wired separately).
SET_AHEAD_OF_CODE = {"ENFORCER_ARM_AUDIENCE"}


def enforcer_app_settings() -> dict[str, str]:
    """The `enforcerAppSettings` object of main.bicep: setting name -> Bicep expression."""
    return object_entries(MAIN_DECLARATIONS.variables["enforcerAppSettings"])


def test_every_setting_the_code_reads_is_an_app_setting() -> None:
    missing = sorted(set(SPEC_BY_NAME) - set(enforcer_app_settings()))
    assert not missing, f"set in enforcer/core/settings.py but not in infra/main.bicep enforcerAppSettings: {missing}"


def test_no_app_setting_the_code_does_not_read() -> None:
    unknown = sorted(name for name in enforcer_app_settings() if name not in SPEC_BY_NAME.keys() | SET_AHEAD_OF_CODE)
    assert not unknown, f"ENFORCER_* app settings the code never reads (typo?): {unknown}"


def test_the_settings_reach_the_function_app() -> None:
    app_module = next(b for b in blocks(MAIN) if b.kind == "module" and b.target == "modules/app.bicep")
    params = object_entries(entry_value(app_module.body, "params"))
    assert params["enforcerAppSettings"] == "enforcerAppSettings"

    app_bicep = (INFRA / "modules" / "app.bicep").read_text(encoding="utf-8")
    config = [b for b in blocks(app_bicep) if b.target.startswith("Microsoft.Web/sites/config@")]
    assert len(config) == 1, "expected one Microsoft.Web/sites/config resource in modules/app.bicep"
    assert literal(entry_value(config[0].body, "name"), {}) == "appsettings"
    properties = entry_value(config[0].body, "properties")
    assert re.match(r"union\(\s*enforcerAppSettings\s*,", properties), properties


@pytest.mark.parametrize("name", sorted(set(SPEC_BY_NAME) - COMPUTED))
def test_parameter_default_equals_the_code_default(name: str) -> None:
    expression = enforcer_app_settings()[name]
    wrapped = re.fullmatch(r"string\((\w+)\)", expression)
    param = wrapped.group(1) if wrapped else expression
    assert param in MAIN_DECLARATIONS.params, f"{name} = {expression}: expected a parameter (or string(parameter))"
    default = MAIN_DECLARATIONS.params[param]
    assert default is not None, f"parameter {param} ({name}) has no default"
    value = literal(default, {})
    code_default = SPEC_BY_NAME[name].default
    assert str(value) == code_default, f"{param} defaults to {value!r}, the code to {code_default!r}"


def test_computed_settings() -> None:
    settings = enforcer_app_settings()
    arm = settings["ENFORCER_ARM_ENDPOINT"]
    assert arm == "armEndpoint"
    assert "environment().resourceManager" in MAIN_DECLARATIONS.variables["armEndpoint"]
    # The identity-based table endpoint, not a connection string.
    storage = settings["ENFORCER_STORAGE"]
    assert storage == "'https://${storageAccountName}.table.${environment().suffixes.storage}'", storage
    # A Key Vault reference (or empty, which disables notifications), never the secret itself.
    teams = settings["ENFORCER_TEAMS_WEBHOOK_URL"]
    assert "@Microsoft.KeyVault(SecretUri=https://${keyVaultName}" in teams
    assert re.fullmatch(r"empty\(teamsWebhookUrl\) \? '' : '@Microsoft\.KeyVault\(SecretUri=[^']*\)'", teams), teams


def setting_parameter(name: str, expression: str) -> str:
    """The main.bicep parameter behind an app setting (`param` or `string(param)`)."""
    if name == "ENFORCER_TEAMS_WEBHOOK_URL":
        return "teamsWebhookUrl"
    return re.sub(r"^string\((\w+)\)$", r"\1", expression)


def _azd_parameters() -> dict[str, object]:
    # azd substitutes ${VAR} / ${VAR=default} before parsing; do the same with the defaults.
    raw = (INFRA / "main.parameters.json").read_text(encoding="utf-8")
    substituted = re.sub(r"\$\{[A-Z0-9_]+(?:=([^}]*))?\}", lambda m: m.group(1) or "", raw)
    parameters = json.loads(substituted)["parameters"]
    assert isinstance(parameters, dict)
    return {name: entry["value"] for name, entry in parameters.items()}


def test_azd_parameters_exist_and_keep_the_bicep_defaults() -> None:
    parameters = _azd_parameters()
    unknown = sorted(set(parameters) - set(MAIN_DECLARATIONS.params))
    assert not unknown, f"main.parameters.json sets parameters main.bicep does not declare: {unknown}"
    drift = {}
    for name, value in parameters.items():
        default = MAIN_DECLARATIONS.params[name]
        if default is None or value == "":
            continue
        try:
            bicep_default = literal(default, {})
        except NotLiteral:
            continue
        if value != bicep_default:
            drift[name] = (value, bicep_default)
    assert not drift, f"azd default differs from the Bicep default (azd, bicep): {drift}"


def test_every_setting_parameter_is_settable_through_azd() -> None:
    parameters = _azd_parameters()
    for name, expression in enforcer_app_settings().items():
        if name in COMPUTED and name != "ENFORCER_TEAMS_WEBHOOK_URL":
            continue
        param = setting_parameter(name, expression)
        assert param in parameters, f"{name}: parameter {param} is missing from main.parameters.json"


def test_env_names_in_azd_parameters_match_the_app_setting_names() -> None:
    raw = (INFRA / "main.parameters.json").read_text(encoding="utf-8")
    env_by_param = dict(re.findall(r'"(\w+)": \{\s*"value": "?\$\{([A-Z0-9_]+)', raw))
    for name, expression in enforcer_app_settings().items():
        if name in COMPUTED:
            continue
        param = setting_parameter(name, expression)
        if param in env_by_param:
            assert env_by_param[param] == name, f"azd env {env_by_param[param]} feeds {name}; use the same name"


def test_the_sweep_budget_cannot_exceed_the_function_timeout() -> None:
    host = json.loads((INFRA.parent / "host.json").read_text(encoding="utf-8"))
    hours, minutes, seconds = (int(part) for part in host["functionTimeout"].split(":"))
    timeout = hours * 3600 + minutes * 60 + seconds
    raw = (INFRA / "main.bicep").read_text(encoding="utf-8")
    match = re.search(r"@maxValue\((\d+)\)\n(?:@[^\n]*\n)*param sweepTimeBudgetSeconds ", raw)
    assert match, "sweepTimeBudgetSeconds needs a @maxValue below the function timeout"
    assert int(match.group(1)) < timeout, f"@maxValue {match.group(1)} s is not below functionTimeout {timeout} s"


def test_event_wiring_settings_come_from_the_deployment() -> None:
    settings = enforcer_app_settings()
    # A Key Vault reference to the secret events.bicep stores, never the key itself.
    key = settings["ENFORCER_EVENT_DELIVERY_KEY"]
    pattern = (
        r"'@Microsoft\.KeyVault\(SecretUri=https://\$\{keyVaultName\}[^']*/secrets/\$\{eventDeliveryKeySecretName\}/\)'"
    )
    assert re.fullmatch(pattern, key), key
    # The same event subscription name events.bicep gives ours.
    assert settings["ENFORCER_EVENT_SUBSCRIPTION_NAME"] == "'${functionAppName}-ai-account-created'"
    events = (INFRA / "events.bicep").read_text(encoding="utf-8")
    assert "subscriptionName: '${systemTopicSubscriptionPrefix}-ai-account-created'" in events
    assert "var systemTopicSubscriptionPrefix = functionAppName" in events
    # The delivery URL is filled in by app.bicep from the site's host name, without a key.
    app = (INFRA / "modules" / "app.bicep").read_text(encoding="utf-8")
    url = re.search(r"ENFORCER_EVENT_DELIVERY_URL: '([^']*)'", app)
    assert url and "functionApp.properties.defaultHostName" in url.group(1) and "code=" not in url.group(1)
    assert settings["ENFORCER_EVENTS_TOPIC_NAME"] == "resourceEventsTopicName"
    assert settings["ENFORCER_EVENTS_RESOURCE_GROUP"] == "eventsResourceGroupName"
    assert settings["ENFORCER_EVENT_DEAD_LETTER_CONTAINER"] == "deadLetterContainerName"
