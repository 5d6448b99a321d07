"""Values the Bicep takes from Azure's documentation, read from the Bicep text and checked against what the
documentation says (each value's Bicep comment names its source)."""

from __future__ import annotations

import re
from collections.abc import Mapping

import pytest

from enforcer.core.settings import ConfigError, Settings
from tests.infra.bicep_text import (
    INFRA,
    blocks,
    call_arguments,
    declarations,
    entry_value,
    interpolate,
    literal,
    object_entries,
    param_heads,
    read,
    strip_comments,
)

REPO = INFRA.parent
EVENT_SUBSCRIPTION = "modules/event-subscription.bicep"
FLEX_CONSUMPTION_DOC = "https://learn.microsoft.com/azure/azure-functions/flex-consumption-plan"

# environment() in global Azure, as the Bicep deployment-functions doc prints it:
# https://learn.microsoft.com/azure/azure-resource-manager/bicep/bicep-functions-deployment#environment
GLOBAL_AZURE = {
    "environment().resourceManager": "https://management.azure.com/",
    "environment().authentication.audiences": ["https://management.core.windows.net/", "https://management.azure.com/"],
    "environment().suffixes.storage": "core.windows.net",
}


# --- the function host's keys -------------------------------------------------------------------------


def test_no_resource_of_the_untyped_host_type() -> None:
    # Bicep's type data has no Microsoft.Web/sites/host: declaring one (even `existing`) is warning BCP081.
    for path in sorted(INFRA.rglob("*.bicep")):
        assert "Microsoft.Web/sites/host@" not in path.read_text(encoding="utf-8"), path


def test_the_host_keys_are_listed_by_resource_id_and_api_version() -> None:
    module = read(EVENT_SUBSCRIPTION)
    variables = declarations(module).variables
    resource_id, api_version = call_arguments(variables["hostKeys"], "listKeys")
    site = next(b for b in blocks(module) if b.target.startswith("Microsoft.Web/sites@"))
    assert site.existing and site.name == "functionApp"
    assert interpolate(resource_id, {"functionApp.id": "<site>"}) == "<site>/host/default"
    # The site's API version: WebApps_ListHostKeys is an operation of that same API.
    assert literal(api_version, {}) == site.target.split("@")[1]
    assert "hostKeys.systemKeys.eventgrid_extension" in variables["endpointUrl"]


# --- this cloud's endpoints --------------------------------------------------------------------------

# Host names of global Azure that a template deployed to a sovereign cloud must not contain.
GLOBAL_AZURE_HOSTS = ("core.windows.net", "management.azure.com", "management.core.windows.net", "vault.azure.net")


def test_no_endpoint_of_global_azure_is_written_into_the_bicep() -> None:
    for path in sorted(INFRA.rglob("*.bicep")):
        code = strip_comments(path.read_text(encoding="utf-8"))
        for host in GLOBAL_AZURE_HOSTS:
            assert host not in code, f"{path.relative_to(INFRA)}: {host} is global Azure's; use environment()"


def host_storage_settings() -> dict[str, str]:
    app = (INFRA / "modules" / "app.bicep").read_text(encoding="utf-8")
    config = next(b for b in blocks(app) if b.target.startswith("Microsoft.Web/sites/config@"))
    _, platform_settings = call_arguments(entry_value(config.body, "properties"), "union")
    return {k: v for k, v in object_entries(platform_settings).items() if k.startswith("AzureWebJobsStorage__")}


def test_host_storage_is_reached_by_service_uris_of_this_cloud() -> None:
    # Functions identity-based host storage: __accountName infers global Azure endpoints, which the doc says
    # does not work in a sovereign cloud or with custom DNS; the service URIs do.
    settings = host_storage_settings()
    assert "AzureWebJobsStorage__accountName" not in settings
    sovereign = {"storage.name": "stenfabc", "environment().suffixes.storage": "core.chinacloudapi.cn"}
    for service in ("blob", "queue", "table"):
        uri = interpolate(settings[f"AzureWebJobsStorage__{service}ServiceUri"], sovereign)
        assert uri == f"https://stenfabc.{service}.core.chinacloudapi.cn", uri
    assert literal(settings["AzureWebJobsStorage__credential"], {}) == "managedidentity"
    assert settings["AzureWebJobsStorage__clientId"] == "identity.properties.clientId"


def _environment_value(term: str, environment: Mapping[str, object]) -> object:
    indexed = re.fullmatch(r"(.+)\[(\d+)\]", term.strip())
    if indexed:
        values = environment[indexed.group(1)]
        assert isinstance(values, list)
        return values[int(indexed.group(2))]
    return environment[term.strip()]


def arm_audience(environment: Mapping[str, object]) -> object:
    """main.bicep's armAudience (`contains(list, x) ? a : b` over environment() terms) in that environment."""
    expression = declarations(read("main.bicep")).variables["armAudience"]
    match = re.fullmatch(r"contains\((.+), (.+)\) \? (.+) : (.+)", expression)
    assert match, f"armAudience is no longer `contains(...) ? ... : ...`; update this test: {expression}"
    values = [_environment_value(term, environment) for term in match.groups()]
    haystack, needle, when_found, otherwise = values
    assert isinstance(haystack, list)
    return when_found if needle in haystack else otherwise


def test_arm_endpoint_and_audience_come_from_environment() -> None:
    main = declarations(read("main.bicep"))
    settings = object_entries(main.variables["enforcerAppSettings"])
    assert settings["ENFORCER_ARM_ENDPOINT"] == "armEndpoint"
    assert settings["ENFORCER_ARM_AUDIENCE"] == "armAudience"
    assert "environment().resourceManager" in main.variables["armEndpoint"]
    # Global Azure: the audience the app asks for today (https://management.azure.com/.default).
    assert arm_audience(GLOBAL_AZURE) == "https://management.azure.com/"
    # A cloud whose endpoint is not itself an audience: its first audience.
    other = {
        "environment().resourceManager": "https://management.example.cloud/",
        "environment().authentication.audiences": ["https://management.core.example.cloud/"],
    }
    assert arm_audience(other) == "https://management.core.example.cloud/"


# --- limits and allowed values, each with its source ----------------------------------------------------

CONSTRAINTS = ("minValue", "maxValue", "allowed")


def constrained_params() -> list[tuple[str, str, list[str], dict[str, str]]]:
    """(file, param, source comments, constraint decorators) of every param with a value constraint."""
    found = []
    for path in sorted(INFRA.rglob("*.bicep")):
        for name, head in param_heads(path.read_text(encoding="utf-8")).items():
            constraints = {k: v for k, v in head.decorators.items() if k in CONSTRAINTS}
            if constraints:
                sources = [c[len("Source:") :].strip() for c in head.comments if c.startswith("Source:")]
                found.append((path.relative_to(INFRA).as_posix(), name, sources, constraints))
    return found


def test_every_limit_and_allowed_list_names_its_source() -> None:
    params = constrained_params()
    assert len(params) >= 10, params
    for path, name, sources, _ in params:
        assert sources, f"{path}: param {name} has @minValue/@maxValue/@allowed but no '// Source:' comment above"
        for source in sources:
            target = source.split()[0]
            if target.startswith("https://"):
                assert target.startswith("https://learn.microsoft.com/"), f"{path}: {name}: cite the doc: {target}"
            else:
                assert (REPO / target).is_file(), f"{path}: {name}: source {target} is neither a URL nor a file here"


def test_flex_consumption_limits_are_the_documented_ones() -> None:
    heads = param_heads((INFRA / "main.bicep").read_text(encoding="utf-8"))
    instances = heads["maximumInstanceCount"]
    # "The lowest maximum scale is currently 1. The highest currently supported value is 1000."
    assert (instances.decorators["minValue"], instances.decorators["maxValue"]) == ("1", "1000")
    assert f"Source: {FLEX_CONSUMPTION_DOC}#considerations" in instances.comments
    memory = heads["instanceMemoryMB"]
    # Instance sizes: 512 MB (0.25 core), 2048 MB (1 core), 4096 MB (2 cores).
    assert literal(memory.decorators["allowed"], {}) == [512, 2048, 4096]
    assert f"Source: {FLEX_CONSUMPTION_DOC}#instance-sizes" in memory.comments
    main = declarations(read("main.bicep"))
    for param in ("maximumInstanceCount", "instanceMemoryMB"):
        default = literal(main.params[param] or "", {})
        assert isinstance(default, int)
        decorators = heads[param].decorators
        if "allowed" in decorators:
            allowed = literal(decorators["allowed"], {})
            assert isinstance(allowed, list) and default in allowed
        else:
            assert int(decorators["minValue"]) <= default <= int(decorators["maxValue"])


def app_setting_params() -> dict[str, str]:
    """main.bicep parameter -> the ENFORCER_* app setting it feeds (`param` or `string(param)`)."""
    settings = object_entries(declarations(read("main.bicep")).variables["enforcerAppSettings"])
    return {re.sub(r"^string\((\w+)\)$", r"\1", expr): name for name, expr in settings.items()}


def constrained_setting_values() -> list[tuple[str, str]]:
    """(setting, value) for every allowed value and every bound of the parameters behind app settings."""
    feeds = app_setting_params()
    cases = []
    for path, name, _, constraints in constrained_params():
        if path != "main.bicep" or name not in feeds:
            continue
        values = literal(constraints["allowed"], {}) if "allowed" in constraints else []
        assert isinstance(values, list)
        values += [int(constraints[k]) for k in ("minValue", "maxValue") if k in constraints]
        cases += [(feeds[name], str(value)) for value in values]
    return cases


@pytest.mark.parametrize(("setting", "value"), constrained_setting_values())
def test_the_app_accepts_every_value_the_bicep_allows(setting: str, value: str) -> None:
    try:
        Settings.from_env({setting: value})
    except ConfigError as exc:
        pytest.fail(f"the Bicep allows {setting}={value} but the app rejects it: {exc}")


# --- deploying twice ---------------------------------------------------------------------------------------


def test_no_template_draws_a_name_or_value_that_changes_between_runs() -> None:
    # README.md "Running azd up again" promises that a second run updates the same resources in place.
    for path in sorted(INFRA.rglob("*.bicep")):
        code = strip_comments(path.read_text(encoding="utf-8"))
        for function in ("utcNow(", "newGuid("):
            assert function not in code, f"{path.relative_to(INFRA)}: {function} differs on every deployment"


def test_deployments_into_shared_scopes_are_named_per_environment() -> None:
    # Managed subscriptions, and the resource group of a reused system topic, may receive deployments from
    # several azd environments. At subscription scope a deployment name keeps the location it was first used
    # with (https://learn.microsoft.com/azure/azure-resource-manager/bicep/deploy-to-subscription), so a shared
    # name fails from another region; elsewhere it lets two environments overwrite each other's history.
    per_environment = ("resourceToken", "functionAppName")
    shared_scopes = ("scope: subscription(", "scope: resourceGroup(split(", "scope: resourceGroup(policyTopicIdParts")
    checked = 0
    for path in ("main.bicep", "events.bicep"):
        for block in blocks(read(path)):
            if block.kind == "module" and any(scope in block.body for scope in shared_scopes):
                name = entry_value(block.body, "name")
                assert any(token in name for token in per_environment), f"{path}:{block.name}: name {name}"
                checked += 1
    assert checked == 4, checked
