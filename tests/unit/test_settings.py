from __future__ import annotations

import pytest

from enforcer.core.models import ComponentSetting, Mode
from enforcer.core.settings import SETTINGS, ConfigError, Settings


def test_defaults():
    s = Settings.from_env({})
    assert s.mode is Mode.ENFORCE
    assert [(c.extension_name, c.setting) for c in s.desired.components] == [
        ("AIPromptEvidence", ComponentSetting.ON),
        ("AIPromptSharingWithPurview", ComponentSetting.UNMANAGED),
        ("AIModelScanner", ComponentSetting.ON),
    ]
    assert s.arm_endpoint == "https://management.azure.com"
    assert s.subscriptions is None
    assert s.exempt_tag == "defender-ai-exempt"


def test_values_are_case_insensitive_and_trimmed():
    s = Settings.from_env({"ENFORCER_MODE": " Audit ", "ENFORCER_DATA_SECURITY": "ON"})
    assert s.mode is Mode.AUDIT
    assert s.desired.components[1].setting is ComponentSetting.ON


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("ENFORCER_MODE", "yolo", "ENFORCER_MODE='yolo' is not valid; allowed values: enforce, audit"),
        (
            "ENFORCER_PROMPT_EVIDENCE",
            "yes",
            "ENFORCER_PROMPT_EVIDENCE='yes' is not valid; allowed values: on, off, unmanaged",
        ),
        ("ENFORCER_MODEL_SECURITY_EXTENSION", "bad name", "ENFORCER_MODEL_SECURITY_EXTENSION='bad name'"),
        ("ENFORCER_ARM_ENDPOINT", "http://example.com", "non-loopback host 'example.com'"),
        ("ENFORCER_ARM_ENDPOINT", "ftp://127.0.0.1", "must be an https:// URL"),
        ("ENFORCER_ARM_ENDPOINT", "https://management.azure.co", "'management.azure.co', which is not an Azure"),
        ("ENFORCER_ARM_AUDIENCE", "https://evil.example/", "ENFORCER_ARM_AUDIENCE='https://evil.example/' is not"),
        ("ENFORCER_STORAGE", "nonsense", "ENFORCER_STORAGE is neither a table account URL nor a storage connection"),
        ("ENFORCER_STORAGE", "AccountKey=k", "ENFORCER_STORAGE is a connection string without a table endpoint"),
        ("ENFORCER_STORAGE", "TableEndpoint=http://example.com/x", "non-loopback host 'example.com'"),
        ("ENFORCER_STORAGE", "http://example.com", "non-loopback host 'example.com'"),
        ("ENFORCER_SUBSCRIPTIONS", "abc", "ENFORCER_SUBSCRIPTIONS must be '*' or comma-separated subscription ids"),
        ("ENFORCER_SWEEP_CONCURRENCY", "0", "ENFORCER_SWEEP_CONCURRENCY=0 is out of range"),
        ("ENFORCER_SWEEP_CONCURRENCY", "many", "ENFORCER_SWEEP_CONCURRENCY='many' is not a whole number"),
        ("ENFORCER_AUDIT_TABLE", "a-b", "ENFORCER_AUDIT_TABLE='a-b' is not a valid table name"),
        ("ENFORCER_RESOURCE_GRAPH", "maybe", "ENFORCER_RESOURCE_GRAPH='maybe' is not valid; allowed values: on, off"),
    ],
)
def test_bad_values_name_the_setting_and_allowed_values(name: str, value: str, expected: str):
    with pytest.raises(ConfigError) as info:
        Settings.from_env({name: value})
    assert expected in str(info.value)


def test_duplicate_extension_names_are_refused():
    with pytest.raises(ConfigError, match="three different extensions"):
        Settings.from_env({"ENFORCER_MODEL_SECURITY_EXTENSION": "aipromptevidence"})


@pytest.mark.parametrize("endpoint", ["http://127.0.0.1:8181", "http://localhost:1", "http://[::1]:8080/"])
def test_http_is_allowed_for_loopback_only(endpoint: str):
    s = Settings.from_env({"ENFORCER_ARM_ENDPOINT": endpoint})
    assert s.arm_is_loopback
    assert not s.arm_endpoint.endswith("/")


def test_scope_lists_are_lower_cased():
    sub = "AAAAAAAA-0000-0000-0000-000000000001"
    s = Settings.from_env({"ENFORCER_SUBSCRIPTIONS": f"{sub}, ", "ENFORCER_EXCLUDE_SUBSCRIPTIONS": sub})
    assert s.subscriptions == (sub.lower(),)
    assert s.exclude_subscriptions == frozenset({sub.lower()})


def test_secrets_are_not_in_repr():
    s = Settings.from_env(
        {
            "ENFORCER_TEAMS_WEBHOOK_URL": "https://x.webhook.office.com/secret-path",
            "ENFORCER_STORAGE": "AccountName=a;AccountKey=k",
        }
    )
    assert "secret-path" not in repr(s)
    assert "AccountKey" not in repr(s)


def test_every_setting_has_a_description_and_a_unique_name():
    names = [spec.name for spec in SETTINGS]
    assert len(names) == len(set(names))
    assert all(spec.description and spec.name.startswith("ENFORCER_") for spec in SETTINGS)


def test_dry_run_forces_audit_mode_and_leaves_everything_else():
    s = Settings.from_env({"ENFORCER_MODE": "enforce", "ENFORCER_SWEEP_CONCURRENCY": "4"})
    assert s.for_dry_run(False) is s
    dry = s.for_dry_run(True)
    assert dry.mode is Mode.AUDIT
    assert dry.sweep_concurrency == 4 and dry.desired == s.desired


@pytest.mark.parametrize(
    "storage",
    [
        "UseDevelopmentStorage=true",
        "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=a2V5;EndpointSuffix=core.windows.net",
        "DefaultEndpointsProtocol=http;AccountName=dev;AccountKey=a2V5;TableEndpoint=http://127.0.0.1:10002/dev;",
        "https://acct.table.core.windows.net",
    ],
)
def test_storage_accepts_connection_strings_and_table_urls(storage: str):
    assert Settings.from_env({"ENFORCER_STORAGE": storage}).storage


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("ENFORCER_ARM_ENDPOINT", "http://[::1"),
        ("ENFORCER_ARM_ENDPOINT", "http://127.0.0.1:99999"),
        ("ENFORCER_ARM_AUDIENCE", "https://[management.azure.com"),
        ("ENFORCER_STORAGE", "http://[::1"),
        ("ENFORCER_STORAGE", "https://acct.table.core.windows.net:port"),
        ("ENFORCER_STORAGE", "AccountName=a;AccountKey=a2V5;TableEndpoint=http://[::1"),
        ("ENFORCER_EVENT_DELIVERY_URL", "https://[app.azurewebsites.net/runtime"),
        # A table URL is used with a token, which the Tables client sends over https only.
        ("ENFORCER_STORAGE", "http://127.0.0.1:10002/devstoreaccount1"),
    ],
)
def test_a_malformed_url_setting_is_a_config_error_naming_the_setting(setting: str, value: str):
    with pytest.raises(ConfigError, match=setting):
        Settings.from_env({setting: value})


def test_a_bad_storage_value_is_never_echoed():
    with pytest.raises(ConfigError) as info:
        Settings.from_env({"ENFORCER_STORAGE": "AccountName=a;AccountKey=topsecret;Bogus=1"})
    assert "topsecret" not in str(info.value)


@pytest.mark.parametrize(
    ("endpoint", "scope"),
    [
        ("https://management.azure.com", "https://management.azure.com/.default"),
        ("https://management.usgovcloudapi.net/", "https://management.usgovcloudapi.net/.default"),
        ("https://management.chinacloudapi.cn", "https://management.chinacloudapi.cn/.default"),
        ("http://127.0.0.1:8181", "https://management.azure.com/.default"),
    ],
)
def test_the_token_scope_is_derived_from_the_arm_endpoint(endpoint: str, scope: str):
    assert Settings.from_env({"ENFORCER_ARM_ENDPOINT": endpoint}).arm_scope == scope


def test_the_arm_audience_setting_overrides_the_derived_scope():
    s = Settings.from_env({"ENFORCER_ARM_AUDIENCE": "https://management.core.windows.net/"})
    assert s.arm_scope == "https://management.core.windows.net/.default"


def test_the_gateway_asks_for_tokens_with_the_settings_scope():
    from enforcer.adapters.arm import ArmGateway
    from enforcer.composition import build_services
    from tests.fixtures.emulator import StaticTokenCredential

    settings = Settings.from_env({"ENFORCER_ARM_ENDPOINT": "https://management.usgovcloudapi.net"})
    services = build_services(settings)
    assert isinstance(services.arm, ArmGateway)
    assert services.arm.scope == "https://management.usgovcloudapi.net/.default"
    services.close()
    with ArmGateway(settings.arm_endpoint, StaticTokenCredential(), scope=settings.arm_scope) as arm:
        policy = arm.client_kwargs()["authentication_policy"]
        assert policy._scopes == ("https://management.usgovcloudapi.net/.default",)


def test_excluding_every_subscription_is_refused_with_a_message_that_does_not_contradict_itself():
    with pytest.raises(ConfigError) as info:
        Settings.from_env({"ENFORCER_EXCLUDE_SUBSCRIPTIONS": "*"})
    message = str(info.value)
    assert "would exclude every subscription" in message and "must be '*'" not in message


@pytest.mark.parametrize("value", [",", " , ,"])
def test_a_subscription_list_with_no_ids_is_refused_as_empty(value: str):
    with pytest.raises(ConfigError, match="lists no subscription"):
        Settings.from_env({"ENFORCER_SUBSCRIPTIONS": value})


@pytest.mark.parametrize("argv", [["-v", "status"], ["status", "-v"], ["status", "--verbose", "--json"]])
def test_verbose_works_before_and_after_the_command(argv: list[str]):
    from enforcer.cli.main import build_parser

    assert build_parser().parse_args(argv).verbose is True
    assert build_parser().parse_args(["status"]).verbose is False


def test_unlisted_components_and_retry_deadlines():
    settings = Settings.from_env({})
    assert settings.desired.unlisted_off is False
    assert (settings.arm_retry_deadline_seconds, settings.event_retry_deadline_seconds) == (120, 20)
    settings = Settings.from_env(
        {
            "ENFORCER_UNLISTED_COMPONENTS": "OFF",
            "ENFORCER_ARM_RETRY_DEADLINE_SECONDS": "300",
            "ENFORCER_EVENT_RETRY_DEADLINE_SECONDS": "15",
        }
    )
    assert settings.desired.unlisted_off is True
    assert (settings.arm_retry_deadline_seconds, settings.event_retry_deadline_seconds) == (300, 15)
    with pytest.raises(ConfigError, match="ENFORCER_EVENT_RETRY_DEADLINE_SECONDS"):
        Settings.from_env({"ENFORCER_EVENT_RETRY_DEADLINE_SECONDS": "60"})
    with pytest.raises(ConfigError, match="ENFORCER_UNLISTED_COMPONENTS"):
        Settings.from_env({"ENFORCER_UNLISTED_COMPONENTS": "drop"})
