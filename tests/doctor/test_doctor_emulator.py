"""`python -m enforcer doctor` against the ARM emulator, Azurite and the webhook sink, with the real SDK clients:
every check passes on a healthy tenant and fails on the broken variant the issue names; doctor writes nothing
unless asked."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from enforcer.adapters.arm import ArmGateway
from enforcer.adapters.doctor import TenantProbe
from enforcer.cli.main import main
from enforcer.usecases.doctor import DoctorInputs, run_doctor
from localdev.azurite import AzuriteProcess, free_port
from localdev.emulator import Emulator
from localdev.emulator.authorization import plans_offering
from localdev.webhook_sink import WebhookSink
from tests.fixtures.azurite import unique_table_names
from tests.fixtures.services import services_for
from tests.wiring.helpers import WIRING_ENV

SUB = "00000000-0000-4000-8000-000000000001"
GROUP = "mg-enforcer"
APP_INSIGHTS = (
    "InstrumentationKey=00000000-0000-4000-8000-0000000000aa;"
    "IngestionEndpoint=https://westeurope-5.in.applicationinsights.azure.com/"
)
KEY_VAULT_REFERENCE = "@Microsoft.KeyVault(SecretUri=https://kv-enforcer.vault.azure.net/secrets/eventgrid-key)"

Doctor = Callable[..., tuple[int, dict[str, Any]]]


def standard_pricing(emulator: Emulator) -> dict[str, Any]:
    """The AI plan at Standard listing every extension the emulator's catalogue offers (as a GET shows it)."""
    return {
        "pricingTier": "Standard",
        "extensions": [{"name": e.name, "isEnabled": "True"} for e in emulator.plans["AI"].extensions],
    }


def by_name(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["check"]: c for c in report["checks"]}


def write_calls(emulator: Emulator) -> dict[str, int]:
    return {kind: n for kind, n in emulator.calls.items() if kind.endswith((".put", ".register", ".delete", ".post"))}


def table_rows(azurite: AzuriteProcess, *tables: str) -> dict[str, list[dict[str, Any]]]:
    from azure.data.tables import TableServiceClient

    with TableServiceClient.from_connection_string(azurite.connection_string) as service:
        return {t: sorted((dict(e) for e in service.get_table_client(t).list_entities()), key=str) for t in tables}


@pytest.fixture
def tenant(
    azurite: AzuriteProcess, webhook_sink: WebhookSink, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Emulator, dict[str, str]]]:
    """A healthy tenant: one Standard subscription, wired by one sweep, one AI account, both tables in use."""
    if not azurite.running:
        azurite.start()
    emulator = Emulator()
    emulator.start()
    emulator.add_subscription(SUB, "Contoso AI", pricing=standard_pricing(emulator))
    emulator.cognitive.add(SUB, "rg-ai", "contoso-openai")
    audit_table, runs_table = unique_table_names()
    env = {
        **WIRING_ENV,
        "ENFORCER_ARM_ENDPOINT": emulator.url,
        "ENFORCER_SUBSCRIPTIONS": SUB,
        "ENFORCER_STORAGE": azurite.connection_string,
        "ENFORCER_AUDIT_TABLE": audit_table,
        "ENFORCER_RUNS_TABLE": runs_table,
        "ENFORCER_TEAMS_WEBHOOK_URL": webhook_sink.url,
        "ENFORCER_MANAGEMENT_GROUP_ID": GROUP,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("APPLICATIONINSIGHTS_CONNECTION_STRING", raising=False)  # the sweep exports nothing
    assert main(["sweep"]) == 0  # wires the subscription and creates both tables
    monkeypatch.setenv("APPLICATIONINSIGHTS_CONNECTION_STRING", APP_INSIGHTS)  # doctor only reads it
    emulator.reset_calls()
    webhook_sink.clear()
    yield emulator, env
    emulator.stop()


@pytest.fixture
def doctor(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Doctor:
    def run(*args: str, **env: str) -> tuple[int, dict[str, Any]]:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        capsys.readouterr()
        code = main(["doctor", "--json", *args])
        return code, json.loads(capsys.readouterr().out)

    return run


def test_a_healthy_tenant_passes_every_check_and_doctor_writes_nothing(
    tenant: tuple[Emulator, dict[str, str]], doctor: Doctor, azurite: AzuriteProcess, webhook_sink: WebhookSink
) -> None:
    emulator, env = tenant
    before = table_rows(azurite, env["ENFORCER_AUDIT_TABLE"], env["ENFORCER_RUNS_TABLE"])

    code, report = doctor()

    checks = by_name(report)
    assert {name: c["status"] for name, c in checks.items()} == {
        "identity": "pass",
        "permissions": "pass",
        "extension catalogue": "pass",
        "resource graph": "pass",
        "event wiring": "pass",
        "table storage": "pass",
        "teams": "pass",
        "application insights": "pass",
        "schedule": "pass",
    }
    assert code == 0 and report["status"] == "pass"
    assert f"management group {GROUP}: all" in " ".join(checks["permissions"]["evidence"])
    assert emulator.call_count("authorization.permissions") == 2  # the subscription and the management group
    # Read-only: no ARM write, the tables as they were (the probe row is gone), no card.
    assert write_calls(emulator) == {}
    assert table_rows(azurite, env["ENFORCER_AUDIT_TABLE"], env["ENFORCER_RUNS_TABLE"]) == before
    assert webhook_sink.messages == []


def test_send_test_card_posts_one_card(tenant: Any, doctor: Doctor, webhook_sink: WebhookSink) -> None:
    code, report = doctor("--send-test-card")
    assert code == 0
    assert "test card delivered" in by_name(report)["teams"]["evidence"]
    assert len(webhook_sink.messages) == 1


def test_a_card_that_cannot_be_delivered_fails_teams(tenant: Any, doctor: Doctor, webhook_sink: WebhookSink) -> None:
    webhook_sink.set_mode("down")
    code, report = doctor("--send-test-card")
    assert code == 1
    assert by_name(report)["teams"]["status"] == "fail"


def test_a_webhook_url_of_the_wrong_form_fails_teams(tenant: Any, doctor: Doctor) -> None:
    code, report = doctor(ENFORCER_TEAMS_WEBHOOK_URL="https://example.com/hook")
    assert code == 1
    teams = by_name(report)["teams"]
    assert teams["status"] == "fail" and "example.com" not in json.dumps(teams)  # the URL is a secret


def test_a_missing_role_is_named_with_its_scope(tenant: tuple[Emulator, dict[str, str]], doctor: Doctor) -> None:
    emulator, _ = tenant
    # Reader only on the subscription: no pricing role, no account-settings role, no wiring role.
    emulator.permissions.grant(f"/subscriptions/{SUB}", [(["*/read"], [])])
    code, report = doctor()
    permissions = by_name(report)["permissions"]
    assert code == 1 and permissions["status"] == "fail"
    evidence = " ".join(permissions["evidence"])
    assert f"subscription {SUB}: missing Microsoft.Security/pricings/write (plan writes)" in evidence
    assert "Microsoft.EventGrid/systemTopics/eventSubscriptions/write" in evidence
    assert (
        f"assign Security Admin or Owner (ENFORCER_PRICING_ROLE) to the identity at /subscriptions/{SUB}"
        in (permissions["fix"])
    )
    assert f"management group {GROUP}: all" in evidence


def test_a_role_missing_at_the_management_group_is_named(tenant: Any, doctor: Doctor) -> None:
    emulator, _ = tenant
    group_scope = f"/providers/Microsoft.Management/managementGroups/{GROUP}"
    # The wiring role's writes excluded by a notActions entry: a role that grants * but not these.
    emulator.permissions.grant(group_scope, [(["*"], ["Microsoft.EventGrid/*/write"])])
    code, report = doctor()
    permissions = by_name(report)["permissions"]
    assert code == 1
    assert f"management group {GROUP}: missing Microsoft.EventGrid/systemTopics/write" in " ".join(
        permissions["evidence"]
    )
    assert f"event wiring (custom, infra/mg/main.bicep) to the identity at {group_scope}" in permissions["fix"]


def test_an_extension_name_that_is_not_offered_fails_with_the_setting_and_the_offered_name(
    azurite: AzuriteProcess, doctor: Doctor, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Emulator(plans=plans_offering("AIModelSecurity")) as emulator:
        emulator.add_subscription(SUB, pricing=standard_pricing(emulator))
        code, report = doctor(
            ENFORCER_ARM_ENDPOINT=emulator.url, ENFORCER_SUBSCRIPTIONS=SUB, ENFORCER_EVENT_WIRING="off"
        )
        catalogue = by_name(report)["extension catalogue"]
        assert code == 1 and catalogue["status"] == "fail"
        assert (
            "configured AIModelScanner, Azure offers AIModelSecurity: set ENFORCER_MODEL_SECURITY_EXTENSION"
            in catalogue["evidence"]
        )
        assert write_calls(emulator) == {}

        # Configured with the offered name, it passes.
        code, report = doctor(ENFORCER_MODEL_SECURITY_EXTENSION="AIModelSecurity")
        assert by_name(report)["extension catalogue"]["status"] == "pass"


def test_an_offered_extension_no_setting_names_is_a_warning(doctor: Doctor) -> None:
    with Emulator(plans=plans_offering("AIModelSecurity")) as emulator:
        emulator.add_subscription(SUB, pricing=standard_pricing(emulator))
        _, report = doctor(
            ENFORCER_ARM_ENDPOINT=emulator.url,
            ENFORCER_SUBSCRIPTIONS=SUB,
            ENFORCER_EVENT_WIRING="off",
            ENFORCER_MODEL_SECURITY="unmanaged",
        )
        catalogue = by_name(report)["extension catalogue"]
        assert catalogue["status"] == "warn"
        assert "offered but named by no setting: AIModelSecurity" in catalogue["evidence"]


def test_no_standard_subscription_says_how_to_get_one(doctor: Doctor) -> None:
    with Emulator() as emulator:
        emulator.add_subscription(SUB)  # Free
        _, report = doctor(ENFORCER_ARM_ENDPOINT=emulator.url, ENFORCER_SUBSCRIPTIONS=SUB, ENFORCER_EVENT_WIRING="off")
        catalogue = by_name(report)["extension catalogue"]
        assert catalogue["status"] == "warn"
        assert "python -m enforcer enforce -s" in catalogue["fix"]


# managementGroups: the ancestry rules on management groups match on (issue 20).
@pytest.mark.parametrize("column", ["pricingTier", "managementGroups"])
def test_a_missing_resource_graph_column_fails(
    tenant: tuple[Emulator, dict[str, str]], doctor: Doctor, column: str
) -> None:
    emulator, _ = tenant
    emulator.graph_missing_columns.add(column)
    code, report = doctor()
    graph = by_name(report)["resource graph"]
    assert code == 1 and graph["status"] == "fail"
    assert graph["evidence"][0].startswith(f"inventory query: column(s) missing: {column}")
    assert (
        graph["evidence"][1] == "accounts query: id, name, subscriptionId, resourceGroup, location, kind, tags present"
    )


def test_a_bad_delivery_key_fails_event_wiring(tenant: Any, doctor: Doctor) -> None:
    code, report = doctor(ENFORCER_EVENT_DELIVERY_KEY=KEY_VAULT_REFERENCE)
    wiring = by_name(report)["event wiring"]
    assert code == 1 and wiring["status"] == "fail"
    assert "unresolved Key Vault reference" in wiring["evidence"][0]
    assert "kv-enforcer" not in json.dumps(report)


def test_an_event_subscription_that_differs_fails_event_wiring(tenant: Any, doctor: Doctor) -> None:
    code, report = doctor(
        ENFORCER_EVENT_DELIVERY_URL="https://func-other.azurewebsites.net/runtime/webhooks/EventGrid?functionName=x"
    )
    wiring = by_name(report)["event wiring"]
    assert code == 1 and wiring["status"] == "fail"
    assert "delivers to another endpoint" in wiring["evidence"][0]


def test_an_unreachable_table_fails(tenant: Any, doctor: Doctor) -> None:
    closed = (
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey="
        "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;"
        f"TableEndpoint=http://127.0.0.1:{free_port()}/devstoreaccount1;"
    )
    code, report = doctor(ENFORCER_STORAGE=closed)
    tables = by_name(report)["table storage"]
    assert code == 1 and tables["status"] == "fail"
    assert "cannot connect to the endpoint" in tables["evidence"][0]
    assert "Eby8vdM02" not in json.dumps(report)  # the account key never shows


def test_a_table_that_does_not_exist_fails_and_is_not_created(
    tenant: Any, doctor: Doctor, azurite: AzuriteProcess
) -> None:
    code, report = doctor(ENFORCER_AUDIT_TABLE="DoesNotExist")
    assert code == 1
    assert by_name(report)["table storage"]["evidence"][0].startswith("DoesNotExist: HTTP 404")
    from azure.data.tables import TableServiceClient

    with TableServiceClient.from_connection_string(azurite.connection_string) as service:
        assert "DoesNotExist" not in {t.name for t in service.list_tables()}


def test_a_time_budget_longer_than_the_schedule_interval_fails(tenant: Any, doctor: Doctor) -> None:
    code, report = doctor(ENFORCER_SWEEP_SCHEDULE="0 */2 * * * *")
    schedule = by_name(report)["schedule"]
    assert code == 1 and schedule["status"] == "fail"
    assert schedule["evidence"][0] == (
        "the time budget (240 s) is not below the schedule's interval (120 s): sweeps would overlap"
    )


def test_a_malformed_application_insights_connection_fails(tenant: Any, doctor: Doctor) -> None:
    code, report = doctor(APPLICATIONINSIGHTS_CONNECTION_STRING="InstrumentationKey=oops")
    assert code == 1
    assert by_name(report)["application insights"]["status"] == "fail"


def test_no_token_fails_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    """A real azure-identity credential that has nothing to sign in with (no environment variables)."""
    from azure.identity import EnvironmentCredential

    for name in ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET", "AZURE_USERNAME"):
        monkeypatch.delenv(name, raising=False)
    with Emulator() as emulator:
        emulator.add_subscription(SUB)
        services = services_for(emulator.url, {"ENFORCER_SUBSCRIPTIONS": SUB, "ENFORCER_EVENT_WIRING": "off"})
        probe = TenantProbe(ArmGateway(emulator.url, credential=EnvironmentCredential()))
        try:
            report = run_doctor(services, probe, None, DoctorInputs())
        finally:
            probe.close()
    identity = report.checks[0]
    assert identity.name == "identity" and identity.status.value == "fail"
    assert identity.evidence[0].startswith("no ARM token: CredentialUnavailableError")
    assert "az login" in identity.fix


def test_usage_errors_exit_2_with_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doctor", "--json", "--subscription", "not-a-guid"]) == 2
    assert json.loads(capsys.readouterr().out)["status"] == "usage"
