"""App settings (environment variables), read and validated once.

Every setting the code reads is declared in `SETTINGS` below, so the README
table, the Bicep app settings and the validation all come from one list.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import urlsplit

from enforcer.core.accounts import AccountProtection
from enforcer.core.models import Component, ComponentSetting, DesiredState, Mode
from enforcer.core.text import is_guid


class ConfigError(ValueError):
    """A setting has a value the enforcer cannot use; the message names the setting and what it accepts."""


@dataclass(frozen=True)
class SettingSpec:
    name: str
    default: str
    description: str


SETTINGS: Final[tuple[SettingSpec, ...]] = (
    SettingSpec("ENFORCER_MODE", "enforce", "`enforce` writes changes; `audit` decides and reports but never writes."),
    SettingSpec("ENFORCER_PROMPT_EVIDENCE", "on", "Suspicious prompt evidence: `on`, `off` or `unmanaged`."),
    SettingSpec(
        "ENFORCER_DATA_SECURITY",
        "unmanaged",
        "Data security for AI interactions (Purview; needs its own licence): `on`, `off` or `unmanaged`.",
    ),
    SettingSpec("ENFORCER_MODEL_SECURITY", "on", "AI model security: `on`, `off` or `unmanaged`."),
    SettingSpec(
        "ENFORCER_PROMPT_EVIDENCE_EXTENSION", "AIPromptEvidence", "Pricing extension name for prompt evidence."
    ),
    SettingSpec(
        "ENFORCER_DATA_SECURITY_EXTENSION",
        "AIPromptSharingWithPurview",
        "Pricing extension name for data security (Purview).",
    ),
    SettingSpec(
        "ENFORCER_MODEL_SECURITY_EXTENSION",
        "AIModelScanner",
        "Pricing extension name for AI model security (not in the published spec; override if Azure differs).",
    ),
    SettingSpec(
        "ENFORCER_ARM_ENDPOINT",
        "https://management.azure.com",
        "Azure Resource Manager endpoint. `http://` is accepted for loopback (the local emulator) only.",
    ),
    SettingSpec(
        "ENFORCER_STORAGE",
        "",
        "Audit store: a Table storage connection string (`UseDevelopmentStorage=true` for Azurite) or a table "
        "account URL (`https://<account>.table.core.windows.net`, used with the managed identity). "
        "Required by the function app; the CLI runs without it only with a warning.",
    ),
    SettingSpec("ENFORCER_AUDIT_TABLE", "EnforcerAudit", "Table for one record per decision."),
    SettingSpec("ENFORCER_RUNS_TABLE", "EnforcerRuns", "Table for run summaries (CLI run, event batch, sweep)."),
    SettingSpec(
        "ENFORCER_TEAMS_WEBHOOK_URL",
        "",
        "Secret. Teams Workflows or incoming-webhook URL for Adaptive Cards; empty disables notifications.",
    ),
    SettingSpec(
        "ENFORCER_SUBSCRIPTIONS",
        "*",
        "Subscriptions in scope: `*` (every subscription the identity can see) or a comma-separated list of ids.",
    ),
    SettingSpec("ENFORCER_EXCLUDE_SUBSCRIPTIONS", "", "Comma-separated subscription ids never touched."),
    SettingSpec(
        "ENFORCER_EXEMPT_TAG",
        "defender-ai-exempt",
        "A subscription carrying this tag is excluded; the tag's value is recorded as the reason.",
    ),
    SettingSpec(
        "ENFORCER_POLICY_DEFINITION_IDS",
        "",
        "Extra policy definition ids (comma-separated) whose PolicyStates events count as a new subscription.",
    ),
    SettingSpec(
        "ENFORCER_SWEEP_SCHEDULE",
        "0 */15 * * * *",
        "NCRONTAB schedule of the drift sweep (read by the timer binding as %ENFORCER_SWEEP_SCHEDULE%).",
    ),
    SettingSpec("ENFORCER_SWEEP_CONCURRENCY", "16", "Subscriptions checked at once by the sweep (1-256)."),
    SettingSpec(
        "ENFORCER_SWEEP_TIME_BUDGET_SECONDS",
        "480",
        "Seconds a sweep may run before it stops cleanly and leaves the rest to the next run (< function timeout).",
    ),
    SettingSpec(
        "ENFORCER_ACCOUNT_PROTECTION",
        "on",
        "Each AI account's own `defenderForAISettings`: `on` sets a `Disabled` account to `Enabled`; `report` "
        "records and notifies but never writes; `unmanaged` does not read accounts. An account tagged "
        "ENFORCER_EXEMPT_TAG is excluded.",
    ),
    SettingSpec(
        "ENFORCER_RESOURCE_GRAPH",
        "on",
        "`on`: the sweep asks Azure Resource Graph for candidates first; `off`: one GET per subscription.",
    ),
)

_COMPONENTS: Final = (
    ("prompt_evidence", "ENFORCER_PROMPT_EVIDENCE", "ENFORCER_PROMPT_EVIDENCE_EXTENSION"),
    ("data_security", "ENFORCER_DATA_SECURITY", "ENFORCER_DATA_SECURITY_EXTENSION"),
    ("model_security", "ENFORCER_MODEL_SECURITY", "ENFORCER_MODEL_SECURITY_EXTENSION"),
)

_TABLE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]{2,62}$")
_EXTENSION_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,127}$")

_DEFAULTS: Final = {s.name: s.default for s in SETTINGS}


def is_loopback_host(host: str | None) -> bool:
    """True for `localhost` and any 127.0.0.0/8 or ::1 address."""
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def validate_endpoint(name: str, url: str) -> str:
    """An https URL, or http to a loopback host only; returns it without a trailing slash."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ConfigError(f"{name} must be an https:// URL (or http:// to a loopback address), got {url!r}")
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise ConfigError(
            f"{name} uses plain http:// to a non-loopback host {parts.hostname!r}; "
            "bearer tokens are only sent over https (http is allowed for 127.0.0.1/localhost only)"
        )
    return url.rstrip("/")


def _choice(env: Mapping[str, str], name: str, allowed: tuple[str, ...]) -> str:
    raw = env.get(name, "").strip() or _DEFAULTS[name]
    value = raw.lower()
    if value not in allowed:
        raise ConfigError(f"{name}={raw!r} is not valid; allowed values: {', '.join(allowed)}")
    return value


def _value(env: Mapping[str, str], name: str) -> str:
    return env.get(name, "").strip() or _DEFAULTS[name]


def _subscription_list(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    items = tuple(i.strip().lower() for i in _value(env, name).split(",") if i.strip())
    bad = [i for i in items if not is_guid(i)]
    if bad:
        raise ConfigError(
            f"{name} must be '*' or comma-separated subscription ids (GUIDs); not valid: {', '.join(bad)}"
        )
    return items


def _int(env: Mapping[str, str], name: str, low: int, high: int) -> int:
    raw = _value(env, name)
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number; allowed: {low} to {high}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name}={value} is out of range; allowed: {low} to {high}")
    return value


@dataclass(frozen=True)
class Settings:
    mode: Mode
    desired: DesiredState
    arm_endpoint: str
    storage: str | None = field(default=None, repr=False)  # may hold an account key
    audit_table: str = "EnforcerAudit"
    runs_table: str = "EnforcerRuns"
    teams_webhook_url: str | None = field(default=None, repr=False)  # a secret: never logged
    # None means every subscription the identity can see.
    subscriptions: tuple[str, ...] | None = None
    exclude_subscriptions: frozenset[str] = frozenset()
    exempt_tag: str = "defender-ai-exempt"
    extra_policy_definition_ids: tuple[str, ...] = ()
    sweep_concurrency: int = 16
    sweep_time_budget_seconds: int = 480
    use_resource_graph: bool = True
    account_protection: AccountProtection = AccountProtection.ON

    def for_dry_run(self, dry_run: bool) -> Settings:
        """`--dry-run`: audit mode (decide and report, never write), whatever ENFORCER_MODE says."""
        return dataclasses.replace(self, mode=Mode.AUDIT) if dry_run else self

    @property
    def arm_is_loopback(self) -> bool:
        return is_loopback_host(urlsplit(self.arm_endpoint).hostname)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        mode = Mode(_choice(env, "ENFORCER_MODE", tuple(m.value for m in Mode)))
        allowed = tuple(s.value for s in ComponentSetting)
        components = []
        for key, setting_name, extension_setting in _COMPONENTS:
            setting = ComponentSetting(_choice(env, setting_name, allowed))
            extension = _value(env, extension_setting)
            if not _EXTENSION_NAME.match(extension):
                raise ConfigError(
                    f"{extension_setting}={extension!r} is not a valid extension name "
                    "(letters, digits, '.', '_' or '-', starting with a letter)"
                )
            components.append(Component(key, extension, setting))
        names = [c.extension_name.lower() for c in components]
        if len(set(names)) != len(names):
            raise ConfigError(
                "ENFORCER_*_EXTENSION settings must name three different extensions, got "
                + ", ".join(c.extension_name for c in components)
            )
        arm_endpoint = validate_endpoint("ENFORCER_ARM_ENDPOINT", _value(env, "ENFORCER_ARM_ENDPOINT"))
        for table_setting in ("ENFORCER_AUDIT_TABLE", "ENFORCER_RUNS_TABLE"):
            if not _TABLE_NAME.match(_value(env, table_setting)):
                raise ConfigError(
                    f"{table_setting}={_value(env, table_setting)!r} is not a valid table name "
                    "(3-63 letters or digits, starting with a letter)"
                )
        scope = _value(env, "ENFORCER_SUBSCRIPTIONS")
        policy_ids = tuple(
            i.strip().lower() for i in _value(env, "ENFORCER_POLICY_DEFINITION_IDS").split(",") if i.strip()
        )
        resource_graph = _choice(env, "ENFORCER_RESOURCE_GRAPH", ("on", "off"))
        return cls(
            mode=mode,
            desired=DesiredState(tuple(components)),
            arm_endpoint=arm_endpoint,
            storage=_value(env, "ENFORCER_STORAGE") or None,
            audit_table=_value(env, "ENFORCER_AUDIT_TABLE"),
            runs_table=_value(env, "ENFORCER_RUNS_TABLE"),
            teams_webhook_url=_value(env, "ENFORCER_TEAMS_WEBHOOK_URL") or None,
            subscriptions=None if scope == "*" else _subscription_list(env, "ENFORCER_SUBSCRIPTIONS"),
            exclude_subscriptions=frozenset(_subscription_list(env, "ENFORCER_EXCLUDE_SUBSCRIPTIONS")),
            exempt_tag=_value(env, "ENFORCER_EXEMPT_TAG"),
            extra_policy_definition_ids=policy_ids,
            sweep_concurrency=_int(env, "ENFORCER_SWEEP_CONCURRENCY", 1, 256),
            sweep_time_budget_seconds=_int(env, "ENFORCER_SWEEP_TIME_BUDGET_SECONDS", 10, 3600),
            use_resource_graph=resource_graph == "on",
            account_protection=AccountProtection(
                _choice(env, "ENFORCER_ACCOUNT_PROTECTION", tuple(p.value for p in AccountProtection))
            ),
        )
