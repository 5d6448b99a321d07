"""App settings (environment variables), read and validated once.

Every setting the code reads is declared in `SETTINGS` below, so the README
table, the Bicep app settings and the validation all come from one list.

Longer than the other core modules on purpose: every setting's parsing and validation (with the message that
names the setting and its allowed values) is in this one file, next to the list the README and Bicep are checked
against, so that a setting cannot be read anywhere without being validated here.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import SplitResult, urlsplit

from enforcer.core.accounts import AccountProtection, is_resource_group_name
from enforcer.core.models import Component, ComponentSetting, DesiredState, Mode
from enforcer.core.text import is_guid
from enforcer.core.wiring import WiringConfig, WiringMode


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
        "ENFORCER_UNLISTED_COMPONENTS",
        "keep",
        "Plan components no setting above names (e.g. one Microsoft adds, which a PUT turns on by default): "
        "`keep` leaves what Azure chose (and records it); `off` turns them off, with one follow-up PUT if needed.",
    ),
    SettingSpec(
        "ENFORCER_ARM_RETRY_DEADLINE_SECONDS",
        "120",
        "Seconds one ARM, Resource Graph or subscriptions call (sweep, CLI) keeps retrying throttling "
        "(429, 503 with Retry-After), never before Retry-After; only then is it recorded `throttled` (5-3600).",
    ),
    SettingSpec(
        "ENFORCER_EVENT_RETRY_DEADLINE_SECONDS",
        "20",
        "The same deadline for one event's whole enforcement (all its ARM calls): inside Event Grid's 30 s wait "
        "for an answer (5-25).",
    ),
    # Issue 22: a sick store (trickling, hung, garbage) ends every call in seconds.
    SettingSpec(
        "ENFORCER_STORE_DEADLINE_SECONDS",
        "10",
        "Seconds one audit store (Table storage) call may take in all, retries and the whole answer included; "
        "then the store is reported unavailable (2-25: inside Event Grid's 30 s wait).",
    ),
    SettingSpec(
        "ENFORCER_ARM_ENDPOINT",
        "https://management.azure.com",
        "Azure Resource Manager endpoint: a known cloud's Resource Manager host (`management.azure.com`, "
        "`management.usgovcloudapi.net`, `management.chinacloudapi.cn`), or `http://` to loopback (the local "
        "emulator). Any other host is refused at start: it would be sent an ARM token.",
    ),
    SettingSpec(
        "ENFORCER_ARM_AUDIENCE",
        "",
        "Token audience for ARM (e.g. `https://management.core.windows.net/`); empty: derived from "
        "`ENFORCER_ARM_ENDPOINT` (`https://<host>/.default`). Only the known clouds' ARM audiences are accepted.",
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
        "0 */5 * * * *",
        "NCRONTAB schedule of the drift sweep (read by the timer binding as %ENFORCER_SWEEP_SCHEDULE%).",
    ),
    SettingSpec("ENFORCER_SWEEP_CONCURRENCY", "16", "Subscriptions checked at once by the sweep (1-256)."),
    SettingSpec(
        "ENFORCER_SWEEP_TIME_BUDGET_SECONDS",
        "240",
        "Seconds a sweep may run before it stops cleanly and leaves the rest to the next run (< function timeout).",
    ),
    SettingSpec(
        "ENFORCER_ACCOUNT_PROTECTION",
        "on",
        "Each AI account's own `defenderForAISettings`: `on` sets a `Disabled` account to `Enabled`; `report` "
        "records and notifies but never writes; `unmanaged` does not read accounts. An account tagged "
        "ENFORCER_EXEMPT_TAG is excluded.",
    ),
    # Drift in seconds (issue 19): who the enforcer is, and the tug-of-war rule of the event path.
    SettingSpec(
        "ENFORCER_IDENTITY_OBJECT_ID",
        "",
        "The enforcer's own object id, to recognise its own writes in events; empty: read from its access token.",
    ),
    SettingSpec(
        "ENFORCER_TUG_OF_WAR_RESTORES",
        "3",
        "Event-driven restores of one subscription or AI account within ENFORCER_TUG_OF_WAR_MINUTES after which "
        "the event path stops restoring it and records `conflict` (1-100).",
    ),
    SettingSpec(
        "ENFORCER_TUG_OF_WAR_MINUTES",
        "60",
        "The tug-of-war window in minutes (1-1440); the sweep still enforces on its schedule.",
    ),
    SettingSpec(
        "ENFORCER_RESOURCE_GRAPH",
        "on",
        "`on`: the sweep lists subscriptions and their AI pricing from Azure Resource Graph in one pass and reads "
        "only candidates from ARM; `off`: the subscriptions API and one GET per subscription.",
    ),
    SettingSpec(
        "ENFORCER_FULL_LISTING_MINUTES",
        "60",
        "How often (minutes, 0 = every sweep) the sweep also lists subscriptions from the subscriptions API, to catch "
        "any that Resource Graph has not indexed yet.",
    ),
    SettingSpec(
        "ENFORCER_AUDIT_RETENTION_DAYS",
        "400",
        "History rows older than this many days are deleted (in batches, once a day, within a sweep's time budget).",
    ),
    SettingSpec(
        "ENFORCER_HEARTBEAT_HOURS",
        "24",
        'Hours between Teams heartbeats ("All N subscription(s) compliant, checked at …") after sweeps that changed '
        "nothing; `0` turns them off (0-168). Needs the audit store: the last heartbeat is read from the runs table.",
    ),
    SettingSpec(
        "ENFORCER_EVENT_WIRING",
        "on",
        "Event wiring for new AI accounts in each subscription in scope: `on` (the sweep and new-subscription "
        "events create what is missing), `report` (record what is missing, write nothing), `off`. `on` needs the "
        "delivery URL, key and location below; until they are set it skips the wiring and says so in the run notes.",
    ),
    SettingSpec(
        "ENFORCER_EVENT_DELIVERY_URL",
        "",
        "Webhook of the `ai_account_created` function without its key: "
        "`https://<app>/runtime/webhooks/EventGrid?functionName=ai_account_created` (set by the deployment).",
    ),
    SettingSpec(
        "ENFORCER_EVENT_DELIVERY_KEY",
        "",
        "Secret. The Functions host's `eventgrid_extension` system key (a Key Vault reference in the deployment).",
    ),
    SettingSpec(
        "ENFORCER_EVENT_SUBSCRIPTION_NAME",
        "defender-ai-enforcer-ai-account-created",
        "Name of the enforcer's event subscription on each system topic (the deployment uses "
        "`<function app>-ai-account-created`).",
    ),
    SettingSpec(
        "ENFORCER_EVENTS_RESOURCE_GROUP",
        "rg-defender-ai-enforcer-events",
        "Resource group the enforcer creates (if missing) in a subscription that has no system topic yet.",
    ),
    SettingSpec(
        "ENFORCER_EVENTS_LOCATION",
        "",
        "Region of that resource group (the topic itself is global); set by the deployment.",
    ),
    SettingSpec(
        "ENFORCER_EVENTS_TOPIC_NAME",
        "evgst-enforcer-resources",
        "Name of the `Microsoft.Resources.Subscriptions` system topic the enforcer creates.",
    ),
    SettingSpec(
        "ENFORCER_EVENT_DEAD_LETTER_ACCOUNT_ID",
        "",
        "Resource id of the storage account for undeliverable events (empty: no dead-lettering).",
    ),
    SettingSpec(
        "ENFORCER_EVENT_DEAD_LETTER_CONTAINER",
        "eventgrid-deadletter",
        "Blob container for undeliverable events.",
    ),
    # Issue 20: desired state per scope.
    SettingSpec(
        "ENFORCER_DESIRED_STATE",
        "",
        "Desired-state document (YAML or JSON) deployed with the app, as a path relative to the app root; empty: "
        "the ENFORCER_* component settings apply everywhere.",
    ),
)

_COMPONENTS: Final = (
    ("prompt_evidence", "ENFORCER_PROMPT_EVIDENCE", "ENFORCER_PROMPT_EVIDENCE_EXTENSION"),
    ("data_security", "ENFORCER_DATA_SECURITY", "ENFORCER_DATA_SECURITY_EXTENSION"),
    ("model_security", "ENFORCER_MODEL_SECURITY", "ENFORCER_MODEL_SECURITY_EXTENSION"),
)


def component_setting_names(key: str) -> tuple[str, str]:
    """(setting, extension-name setting) of a component by its key, e.g. model_security."""
    for component_key, setting, extension_setting in _COMPONENTS:
        if component_key == key:
            return setting, extension_setting
    raise KeyError(key)


_TABLE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]{2,62}$")
_EXTENSION_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,127}$")

_DEFAULTS: Final = {s.name: s.default for s in SETTINGS}

# The Resource Manager hosts of the Azure clouds (public, US Government, China); any other host is refused.
ARM_HOSTS: Final = frozenset({"management.azure.com", "management.usgovcloudapi.net", "management.chinacloudapi.cn"})
# Audiences ARM accepts tokens for: each cloud's Resource Manager URL and its classic management URL.
ARM_AUDIENCE_HOSTS: Final = ARM_HOSTS | frozenset(
    {"management.core.windows.net", "management.core.usgovcloudapi.net", "management.core.chinacloudapi.cn"}
)
PUBLIC_ARM_SCOPE: Final = "https://management.azure.com/.default"
# Keys a Table storage connection string may hold (case-insensitive).
_CONNECTION_STRING_KEYS: Final = frozenset(
    {
        "usedevelopmentstorage",
        "developmentstorageproxyuri",
        "defaultendpointsprotocol",
        "accountname",
        "accountkey",
        "endpointsuffix",
        "tableendpoint",
        "blobendpoint",
        "queueendpoint",
        "fileendpoint",
        "tablesecondaryendpoint",
        "blobsecondaryendpoint",
        "queuesecondaryendpoint",
        "filesecondaryendpoint",
        "sharedaccesssignature",
    }
)
# Azure's naming rules for what event wiring creates: event subscription names 3-64 letters, digits and '-';
# system topic names 3-128 of the same; resource group names as core/accounts reads them (one rule, one place); a
# storage account resource id for dead-lettering. Each check takes the whole (stripped) value.
_WIRING_NAMES: Final[tuple[tuple[str, Callable[[str], object], str], ...]] = (
    ("ENFORCER_EVENT_SUBSCRIPTION_NAME", re.compile(r"[A-Za-z0-9-]{3,64}").fullmatch, "3-64 letters, digits or '-'"),
    ("ENFORCER_EVENTS_TOPIC_NAME", re.compile(r"[A-Za-z0-9-]{3,128}").fullmatch, "3-128 letters, digits or '-'"),
    (
        "ENFORCER_EVENTS_RESOURCE_GROUP",
        is_resource_group_name,
        "1-90 letters, digits, '_', '-', '.', '(' or ')', not ending in '.'",
    ),
    (
        "ENFORCER_EVENT_DEAD_LETTER_ACCOUNT_ID",
        re.compile(
            r"|/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Storage/storageAccounts/[a-z0-9]{3,24}",
            re.IGNORECASE,
        ).fullmatch,
        "empty or /subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.Storage/storageAccounts/<name>",
    ),
)


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


def split_url(name: str, url: str) -> SplitResult:
    """The URL's parts, its host and port read once; a URL Python cannot parse (`http://[::1`, a port of 99999)
    is a ConfigError naming the setting (the value is not echoed: a setting may carry a secret)."""
    try:
        parts = urlsplit(url)
        _ = parts.hostname, parts.port  # both raise ValueError for a malformed host or port
    except ValueError as error:
        raise ConfigError(f"{name} is not a valid URL ({error}); give it as https://<host>[:<port>][/<path>]") from None
    return parts


def validate_endpoint(name: str, url: str) -> str:
    """An https URL, or http to a loopback host only; returns it without a trailing slash."""
    parts = split_url(name, url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ConfigError(f"{name} must be an https:// URL (or http:// to a loopback address), got {url!r}")
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise ConfigError(
            f"{name} uses plain http:// to a non-loopback host {parts.hostname!r}; "
            "bearer tokens are only sent over https (http is allowed for 127.0.0.1/localhost only)"
        )
    return url.rstrip("/")


def validate_arm_endpoint(url: str) -> str:
    """ENFORCER_ARM_ENDPOINT: https to a known cloud's Resource Manager host, or http(s) to loopback."""
    name = "ENFORCER_ARM_ENDPOINT"
    url = validate_endpoint(name, url)
    host = (urlsplit(url).hostname or "").lower()
    if host not in ARM_HOSTS and not is_loopback_host(host):
        raise ConfigError(
            f"{name} names {host!r}, which is not an Azure Resource Manager host; an ARM token would be sent "
            f"to it. Fix: set {name} to https://management.azure.com (or https://management.usgovcloudapi.net, "
            "https://management.chinacloudapi.cn), or to http://127.0.0.1:<port> for the local emulator"
        )
    return url


def arm_scope(endpoint: str, audience: str = "") -> str:
    """The token scope for ARM: `<audience>/.default`; without an audience, the endpoint's own host."""
    name = "ENFORCER_ARM_AUDIENCE"
    if not audience.strip():
        host = (urlsplit(endpoint).hostname or "").lower()
        return f"https://{host}/.default" if host in ARM_HOSTS else PUBLIC_ARM_SCOPE
    audience = audience.strip()
    parts = split_url(name, audience)
    if parts.scheme != "https" or (parts.hostname or "").lower() not in ARM_AUDIENCE_HOSTS:
        raise ConfigError(
            f"{name}={audience[:200]!r} is not an Azure Resource Manager audience. Fix: leave it empty (derived "
            "from ENFORCER_ARM_ENDPOINT) or use https://management.azure.com/ or "
            "https://management.core.windows.net/ (or the US Government / China equivalents)"
        )
    base = audience.rstrip("/")
    return base if base.endswith("/.default") else f"{base}/.default"


def validate_storage(value: str) -> str:
    """ENFORCER_STORAGE: a Table storage connection string with known keys, or a table account URL."""
    name = "ENFORCER_STORAGE"
    fix = (
        f"Fix: set {name} to a connection string (`UseDevelopmentStorage=true`, or "
        "`DefaultEndpointsProtocol=https;AccountName=...;AccountKey=...`, or one with `TableEndpoint=...`) "
        "or to a table account URL (`https://<account>.table.core.windows.net`)"
    )
    value = value.strip()
    if "://" in value and "=" not in value.split("?", 1)[0]:
        try:
            url = validate_endpoint(name, value)
        except ConfigError as error:
            raise ConfigError(f"{error}. {fix}") from None
        if urlsplit(url).scheme != "https":
            # The URL form is used with a token (managed identity, az login); the Tables client refuses to send
            # one over plain http (azure-data-tables 12.7 _base_client.py: "Token credential is only supported
            # with HTTPS."), so this could only fail later, with a traceback.
            raise ConfigError(
                f"{name} is an http:// table URL, but a table URL is used with a token, which is sent over https "
                "only. Fix: use https://<account>.table.core.windows.net, or for Azurite a connection string "
                "(`UseDevelopmentStorage=true` or one with AccountKey and TableEndpoint=http://127.0.0.1:<port>/...)"
            )
        return url
    pairs: dict[str, str] = {}
    for item in value.split(";"):
        if not item.strip():
            continue
        key, sep, val = item.partition("=")
        key = key.strip().lower()
        if not sep or key not in _CONNECTION_STRING_KEYS:
            # Never echo the value: it may hold an account key.
            raise ConfigError(f"{name} is neither a table account URL nor a storage connection string. {fix}")
        pairs[key] = val.strip()
    if pairs.get("usedevelopmentstorage", "").lower() == "true":
        return value
    if "tableendpoint" in pairs:
        validate_endpoint(f"{name} (TableEndpoint)", pairs["tableendpoint"])
        return value
    if pairs.get("accountname") and ("accountkey" in pairs or "sharedaccesssignature" in pairs):
        return value
    raise ConfigError(
        f"{name} is a connection string without a table endpoint, account name and key, or "
        f"UseDevelopmentStorage=true. {fix}"
    )


def _choice(env: Mapping[str, str], name: str, allowed: tuple[str, ...]) -> str:
    raw = env.get(name, "").strip() or _DEFAULTS[name]
    value = raw.lower()
    if value not in allowed:
        raise ConfigError(f"{name}={raw!r} is not valid; allowed values: {', '.join(allowed)}")
    return value


def _value(env: Mapping[str, str], name: str) -> str:
    return env.get(name, "").strip() or _DEFAULTS[name]


def _subscription_list(env: Mapping[str, str], name: str, *, star: bool) -> tuple[str, ...]:
    """Comma-separated subscription ids; `star`: the setting also accepts `*` (checked by the caller)."""
    raw = _value(env, name)
    items = tuple(i.strip().lower() for i in raw.split(",") if i.strip())
    accepted = "'*' or comma-separated subscription ids (GUIDs)" if star else "comma-separated subscription ids (GUIDs)"
    if not star and "*" in items:
        raise ConfigError(
            f"{name}='*' would exclude every subscription, so nothing would ever be enforced. Fix: list the "
            "subscription ids to leave alone, or set ENFORCER_MODE=audit to decide and report without writing"
        )
    bad = [i for i in items if not is_guid(i)]
    if bad:
        raise ConfigError(f"{name} must be {accepted}; not valid: {', '.join(bad)}")
    if star and not items:
        raise ConfigError(
            f"{name}={raw!r} lists no subscription, which would leave every subscription out of scope. "
            f"Fix: set {name} to '*' (every subscription the identity can see) or to subscription ids"
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


_DOCUMENT_SUFFIXES: Final = (".yaml", ".yml", ".json")


def _app_relative_path(env: Mapping[str, str], name: str) -> str:
    """A file deployed with the app: relative, inside the app root, YAML or JSON (the file is read at start)."""
    value = _value(env, name).strip().replace("\\", "/")
    if not value:
        return ""
    parts = value.split("/")
    if value.startswith("/") or ":" in parts[0] or ".." in parts or not value.lower().endswith(_DOCUMENT_SUFFIXES):
        raise ConfigError(
            f"{name}={value!r} must be a path relative to the app root, inside it, ending in "
            f"{' or '.join(_DOCUMENT_SUFFIXES)} (e.g. desired-state.yaml deployed with the app)"
        )
    return value


def _object_id(env: Mapping[str, str], name: str) -> str:
    raw = env.get(name, "").strip()
    if raw and not is_guid(raw):
        raise ConfigError(f"{name}={raw[:80]!r} is not an object id (GUID); leave it empty to read it from the token")
    return raw.lower()


@dataclass(frozen=True)
class Settings:
    mode: Mode
    desired: DesiredState
    arm_endpoint: str
    # The ARM token scope (`<audience>/.default`), derived from the endpoint or ENFORCER_ARM_AUDIENCE.
    arm_scope: str = PUBLIC_ARM_SCOPE
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
    sweep_time_budget_seconds: int = 240
    use_resource_graph: bool = True
    full_listing_minutes: int = 60
    audit_retention_days: int = 400
    arm_retry_deadline_seconds: float = 120.0
    event_retry_deadline_seconds: float = 20.0
    store_deadline_seconds: float = 10.0
    heartbeat_hours: int = 24
    wiring: WiringConfig = field(default_factory=WiringConfig)
    event_delivery_key: str | None = field(default=None, repr=False)  # a secret: never logged or recorded
    account_protection: AccountProtection = AccountProtection.ON
    identity_object_id: str = ""  # lower-case GUID, or "" (learned from the token)
    tug_of_war_restores: int = 3
    tug_of_war_minutes: int = 60
    desired_state_path: str = ""  # ENFORCER_DESIRED_STATE, relative to the app root; "" = no document

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
        arm_endpoint = validate_arm_endpoint(_value(env, "ENFORCER_ARM_ENDPOINT"))
        scope_for_arm = arm_scope(arm_endpoint, _value(env, "ENFORCER_ARM_AUDIENCE"))
        storage = _value(env, "ENFORCER_STORAGE")
        storage = validate_storage(storage) if storage else ""
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
        unlisted = _choice(env, "ENFORCER_UNLISTED_COMPONENTS", ("keep", "off"))
        delivery_url = _value(env, "ENFORCER_EVENT_DELIVERY_URL")
        if delivery_url:
            delivery_url = validate_endpoint("ENFORCER_EVENT_DELIVERY_URL", delivery_url)
            if "code=" in urlsplit(delivery_url).query.lower():
                raise ConfigError(
                    "ENFORCER_EVENT_DELIVERY_URL must not carry the key (code=...); "
                    "put the key in ENFORCER_EVENT_DELIVERY_KEY, which is kept secret"
                )
        for wiring_setting, is_valid, rule in _WIRING_NAMES:
            if not is_valid(_value(env, wiring_setting)):
                raise ConfigError(f"{wiring_setting}={_value(env, wiring_setting)!r} is not valid: {rule}")
        delivery_key = _value(env, "ENFORCER_EVENT_DELIVERY_KEY")
        # An unresolved App Service Key Vault reference arrives as its literal text: not a key (yet).
        if delivery_key.startswith("@Microsoft.KeyVault("):
            delivery_key = ""
        wiring = WiringConfig(
            mode=WiringMode(_choice(env, "ENFORCER_EVENT_WIRING", tuple(m.value for m in WiringMode))),
            event_subscription_name=_value(env, "ENFORCER_EVENT_SUBSCRIPTION_NAME"),
            resource_group=_value(env, "ENFORCER_EVENTS_RESOURCE_GROUP"),
            location=_value(env, "ENFORCER_EVENTS_LOCATION"),
            topic_name=_value(env, "ENFORCER_EVENTS_TOPIC_NAME"),
            delivery_url=delivery_url,
            dead_letter_account_id=_value(env, "ENFORCER_EVENT_DEAD_LETTER_ACCOUNT_ID"),
            dead_letter_container=_value(env, "ENFORCER_EVENT_DEAD_LETTER_CONTAINER"),
        )
        return cls(
            mode=mode,
            desired=DesiredState(tuple(components), unlisted_off=unlisted == "off"),
            arm_endpoint=arm_endpoint,
            arm_scope=scope_for_arm,
            storage=storage or None,
            audit_table=_value(env, "ENFORCER_AUDIT_TABLE"),
            runs_table=_value(env, "ENFORCER_RUNS_TABLE"),
            teams_webhook_url=_value(env, "ENFORCER_TEAMS_WEBHOOK_URL") or None,
            subscriptions=None if scope == "*" else _subscription_list(env, "ENFORCER_SUBSCRIPTIONS", star=True),
            exclude_subscriptions=frozenset(_subscription_list(env, "ENFORCER_EXCLUDE_SUBSCRIPTIONS", star=False)),
            exempt_tag=_value(env, "ENFORCER_EXEMPT_TAG"),
            extra_policy_definition_ids=policy_ids,
            sweep_concurrency=_int(env, "ENFORCER_SWEEP_CONCURRENCY", 1, 256),
            sweep_time_budget_seconds=_int(env, "ENFORCER_SWEEP_TIME_BUDGET_SECONDS", 10, 3600),
            use_resource_graph=resource_graph == "on",
            full_listing_minutes=_int(env, "ENFORCER_FULL_LISTING_MINUTES", 0, 10080),
            audit_retention_days=_int(env, "ENFORCER_AUDIT_RETENTION_DAYS", 1, 3650),
            arm_retry_deadline_seconds=_int(env, "ENFORCER_ARM_RETRY_DEADLINE_SECONDS", 5, 3600),
            event_retry_deadline_seconds=_int(env, "ENFORCER_EVENT_RETRY_DEADLINE_SECONDS", 5, 25),
            store_deadline_seconds=_int(env, "ENFORCER_STORE_DEADLINE_SECONDS", 2, 25),
            heartbeat_hours=_int(env, "ENFORCER_HEARTBEAT_HOURS", 0, 168),
            wiring=wiring,
            event_delivery_key=delivery_key or None,
            account_protection=AccountProtection(
                _choice(env, "ENFORCER_ACCOUNT_PROTECTION", tuple(p.value for p in AccountProtection))
            ),
            identity_object_id=_object_id(env, "ENFORCER_IDENTITY_OBJECT_ID"),
            tug_of_war_restores=_int(env, "ENFORCER_TUG_OF_WAR_RESTORES", 1, 100),
            tug_of_war_minutes=_int(env, "ENFORCER_TUG_OF_WAR_MINUTES", 1, 1440),
            desired_state_path=_app_relative_path(env, "ENFORCER_DESIRED_STATE"),
        )
