"""Values the Bicep takes from Azure's documentation, read from the Bicep text and checked against what the
documentation says (each value's Bicep comment names its source)."""

from __future__ import annotations

import re
from collections.abc import Mapping

from tests.infra.bicep_text import (
    INFRA,
    blocks,
    call_arguments,
    declarations,
    entry_value,
    interpolate,
    literal,
    object_entries,
    read,
    strip_comments,
)

EVENT_SUBSCRIPTION = "modules/event-subscription.bicep"

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
