"""Values the Bicep takes from Azure's documentation, read from the Bicep text and checked against what the
documentation says (each value's Bicep comment names its source)."""

from __future__ import annotations

from tests.infra.bicep_text import INFRA, blocks, call_arguments, declarations, interpolate, literal, read

EVENT_SUBSCRIPTION = "modules/event-subscription.bicep"


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
