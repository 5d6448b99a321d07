"""Building the audit store from settings: table names, secrets kept out of logs, https only (no network)."""

from __future__ import annotations

import logging

import pytest

from enforcer.adapters.audit_store import AuditStore
from enforcer.core.settings import ConfigError, Settings


def test_from_settings_without_storage_is_none() -> None:
    assert AuditStore.from_settings(Settings.from_env({})) is None


def test_from_settings_uses_table_names_and_hides_the_connection_string(caplog: pytest.LogCaptureFixture) -> None:
    key = "c2VjcmV0LWtleS1ub3QtdG8tYmUtc2hvd24="
    settings = Settings.from_env(
        {
            "ENFORCER_STORAGE": f"DefaultEndpointsProtocol=https;AccountName=acct;AccountKey={key};"
            "EndpointSuffix=core.windows.net",
            "ENFORCER_AUDIT_TABLE": "MyAudit",
            "ENFORCER_RUNS_TABLE": "MyRuns",
        }
    )
    store = AuditStore.from_settings(settings)
    assert store is not None
    assert (store.audit_table, store.runs_table) == ("MyAudit", "MyRuns")
    assert key not in repr(store)
    store.close()
    # The key is registered with the log redaction as soon as a store is built from it.
    caplog.set_level(logging.INFO)
    logging.getLogger("enforcer.test").info("connecting with %s", settings.storage)
    assert key not in caplog.text and "AccountKey=***" in caplog.text


def test_account_url_must_be_https_unless_loopback() -> None:
    with pytest.raises(ConfigError):
        AuditStore("http://acct.table.core.windows.net")
    AuditStore("https://acct.table.core.windows.net").close()  # no network and no credential until first use
    AuditStore("http://127.0.0.1:10002/devstoreaccount1").close()
