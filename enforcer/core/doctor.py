"""`doctor`: the enforcer's guesses about the tenant, checked. Pure: each check is a function of what the use case
(enforcer/usecases/doctor.py) read, and gives pass, warn or fail with the evidence it saw and the fix.

Text from Azure (extension names, column names, error messages) stays text: it is escaped for the terminal table
and JSON-encoded for `--json`.
"""

from __future__ import annotations

import dataclasses
import difflib
import enum
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from enforcer.core.accounts import AccountProtection
from enforcer.core.cards import notice_card
from enforcer.core.health import schedule_gaps
from enforcer.core.models import ComponentSetting, DesiredState
from enforcer.core.settings import component_setting_names
from enforcer.core.text import clip, escape_control
from enforcer.core.wiring import EventSubscriptionView, WiringConfig, WiringMode, differences


class Status(enum.StrEnum):
    PASS = "pass"  # noqa: S105 (a check status, not a password)
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True)
class Check:
    """One check's result: what it saw (`evidence`) and, unless it passed, what to do (`fix`)."""

    name: str
    status: Status
    evidence: tuple[str, ...]
    fix: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"check": self.name, "status": self.status.value, "evidence": list(self.evidence), "fix": self.fix}


@dataclass(frozen=True)
class Report:
    checks: tuple[Check, ...]
    generated_at: str = ""

    @property
    def status(self) -> Status:
        statuses = {c.status for c in self.checks}
        return Status.FAIL if Status.FAIL in statuses else Status.WARN if Status.WARN in statuses else Status.PASS

    @property
    def exit_code(self) -> int:
        """0 when nothing failed (warnings included), 1 when any check failed."""
        return 1 if self.status is Status.FAIL else 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "generated_at": self.generated_at,
            "checks": [c.to_dict() for c in self.checks],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)

    def table(self) -> str:
        """The terminal table: one line per check, its evidence and its fix indented below."""
        width = max((len(c.name) for c in self.checks), default=5)
        lines = [f"{'CHECK':<{width}}  STATUS  EVIDENCE"]
        for check in self.checks:
            evidence = [escape_control(e) for e in check.evidence] or [""]
            lines.append(f"{check.name:<{width}}  {check.status.value.upper():<6}  {evidence[0]}")
            lines += [f"{'':<{width}}          {line}" for line in evidence[1:]]
            if check.fix and check.status is not Status.PASS:
                lines.append(f"{'':<{width}}          fix: {escape_control(check.fix)}")
        counts = {s: sum(1 for c in self.checks if c.status is s) for s in Status}
        lines.append("")
        lines.append(
            f"doctor: {counts[Status.PASS]} pass, {counts[Status.WARN]} warn, {counts[Status.FAIL]} fail"
            f" -> {self.status.value}"
        )
        return "\n".join(lines)


def summary_line(report: Report) -> str:
    """One line for the runs table and `health`: the status and the names of the checks that did not pass."""
    failing = [f"{c.name}={c.status.value}" for c in report.checks if c.status is not Status.PASS]
    return f"{report.status.value}" + (f" ({', '.join(failing)})" if failing else "")


# ---------------------------------------------------------------------------------------------- identity


def identity_check(claims: Mapping[str, Any] | None, error: str | None) -> Check:
    """`claims`: the token's payload (None when it is not a JWT, as the local emulator's token is not)."""
    name = "identity"
    if error is not None:
        return Check(
            name,
            Status.FAIL,
            (f"no ARM token: {clip(error, 300)}",),
            "locally: `az login` (and `az account set`); deployed: the function app's managed identity must be "
            "enabled (infra/modules/app.bicep does this)",
        )
    if claims is None:
        return Check(name, Status.PASS, ("token issued (not a JWT: the local emulator's token)",))
    object_id = str(claims.get("oid") or "unknown")
    tenant = str(claims.get("tid") or "unknown")
    app = claims.get("appid") or claims.get("azp")
    evidence = [f"object id {object_id}", f"tenant {tenant}"]
    if app:
        evidence.append(f"application id {app}")
    return Check(name, Status.PASS, tuple(evidence))


# ---------------------------------------------------------------------------------------------- permissions


@dataclass(frozen=True)
class Permission:
    """One entry of `Microsoft.Authorization/permissions`: what one of the identity's roles grants at a scope."""

    actions: tuple[str, ...]
    not_actions: tuple[str, ...] = ()


@dataclass(frozen=True)
class ScopePermissions:
    label: str  # "subscription <id>" | "management group <id>"
    scope: str  # the ARM scope, e.g. /subscriptions/<id>
    permissions: tuple[Permission, ...] = ()
    error: str | None = None


@dataclass(frozen=True)
class Feature:
    """Something the enforcer does, the actions it needs, and the role that grants them (README, "Roles")."""

    name: str
    role: str
    actions: tuple[str, ...]


_READER: Final = "Reader"
_WIRING_ROLE: Final = "Defender for AI Enforcer event wiring (custom, infra/mg/main.bicep)"
_ACCOUNT_ROLE: Final = "Defender for AI Enforcer account settings (custom)"


def required_features(
    pricing_role: str, wiring: WiringMode, account_protection: AccountProtection, *, audit_only: bool
) -> tuple[Feature, ...]:
    """The features the current settings use. Action names: the roles the deployment assigns (infra/); the
    Activity Log and Resource Graph actions are those of the Reader role's `*/read` (our reading: Resource Graph
    shows only what the caller may read)."""
    features = [
        Feature(
            "plan reads",
            _READER,
            ("Microsoft.Security/pricings/read", "Microsoft.Resources/subscriptions/read"),
        ),
        Feature("Resource Graph", _READER, ("Microsoft.ResourceGraph/resources/read",)),
        Feature("Activity Log reads", _READER, ("Microsoft.Insights/eventtypes/values/read",)),
    ]
    if not audit_only:
        features.append(Feature("plan writes", pricing_role, ("Microsoft.Security/pricings/write",)))
    if account_protection is not AccountProtection.UNMANAGED:
        actions = [
            "Microsoft.CognitiveServices/accounts/read",
            "Microsoft.CognitiveServices/accounts/defenderForAISettings/read",
        ]
        if account_protection is AccountProtection.ON and not audit_only:
            actions.append("Microsoft.CognitiveServices/accounts/defenderForAISettings/write")
        features.append(Feature("account settings", _ACCOUNT_ROLE, tuple(actions)))
    if wiring is not WiringMode.OFF:
        actions = [
            "Microsoft.Resources/subscriptions/resourceGroups/read",
            "Microsoft.EventGrid/systemTopics/read",
            "Microsoft.EventGrid/systemTopics/eventSubscriptions/read",
        ]
        if wiring is WiringMode.ON and not audit_only:
            actions += [
                "Microsoft.Resources/subscriptions/resourceGroups/write",
                "Microsoft.EventGrid/systemTopics/write",
                "Microsoft.EventGrid/systemTopics/eventSubscriptions/write",
            ]
        features.append(Feature("event wiring", _WIRING_ROLE, tuple(actions)))
    return tuple(features)


def _matches(pattern: str, action: str) -> bool:
    """Azure RBAC action patterns: case-insensitive, `*` matches any run of characters (e.g. `*/read`)."""
    regex = ".*".join(re.escape(part) for part in pattern.split("*"))
    return re.fullmatch(regex, action, flags=re.IGNORECASE) is not None


def is_allowed(action: str, permissions: Sequence[Permission]) -> bool:
    """Allowed when one entry grants it and does not exclude it in its own notActions (a role's notActions
    subtract from that role only; deny assignments are not in this API)."""
    return any(
        any(_matches(p, action) for p in entry.actions) and not any(_matches(p, action) for p in entry.not_actions)
        for entry in permissions
    )


def permissions_check(scopes: Sequence[ScopePermissions], features: Sequence[Feature]) -> Check:
    name = "permissions"
    evidence: list[str] = []
    fixes: list[str] = []
    status = Status.PASS
    if not scopes:
        return Check(name, Status.WARN, ("no scope to check",), "pass --subscription ID")
    for scope in scopes:
        if scope.error is not None:
            status = Status.FAIL
            evidence.append(f"{scope.label}: cannot list permissions: {clip(scope.error, 300)}")
            fixes.append(f"give the identity at least {_READER} on {scope.scope}")
            continue
        missing = [(f, a) for f in features for a in f.actions if not is_allowed(a, scope.permissions)]
        if not missing:
            needed = sum(len(f.actions) for f in features)
            evidence.append(f"{scope.label}: all {needed} action(s) of {len(features)} feature(s) allowed")
            continue
        status = Status.FAIL
        for role in dict.fromkeys(f.role for f, _ in missing):
            actions = [a for f, a in missing if f.role == role]
            features_named = ", ".join(dict.fromkeys(f.name for f, _ in missing if f.role == role))
            evidence.append(f"{scope.label}: missing {', '.join(actions)} ({features_named})")
            fixes.append(f"assign {role} to the identity at {scope.scope}")
    return Check(
        name, status, tuple(evidence), "; ".join(fixes) + ("; then `azd up` or re-run doctor" if fixes else "")
    )


# ---------------------------------------------------------------------------------------------- extension catalogue


@dataclass(frozen=True)
class CatalogueGap:
    """A configured extension name the plan does not offer."""

    component: str  # e.g. model_security
    setting: str  # e.g. ENFORCER_MODEL_SECURITY_EXTENSION
    configured: str
    closest: tuple[str, ...]

    @property
    def message(self) -> str:
        offered = ", ".join(self.closest) if self.closest else "no similar name"
        return f"configured {self.configured}, Azure offers {offered}: set {self.setting}"


def catalogue_gaps(offered: Sequence[str], desired: DesiredState) -> list[CatalogueGap]:
    """Managed components (on/off) whose extension name the plan's catalogue lacks, with the offered names that
    look closest (or, failing that, the offered names no setting names)."""
    offered_lower = {o.lower() for o in offered}
    named = {c.extension_name.lower() for c in desired.components}
    unnamed = [o for o in offered if o.lower() not in named]
    gaps = []
    for component in desired.components:
        if component.setting is ComponentSetting.UNMANAGED or component.extension_name.lower() in offered_lower:
            continue
        close = difflib.get_close_matches(component.extension_name, list(offered), n=3, cutoff=0.5)
        closest = tuple(dict.fromkeys([*close, *unnamed]))[:3]
        gaps.append(
            CatalogueGap(component.key, component_setting_names(component.key)[1], component.extension_name, closest)
        )
    return gaps


def without_gaps(desired: DesiredState, gaps: Sequence[CatalogueGap]) -> DesiredState:
    """The desired state without the components whose extension name the plan does not offer. Not merely
    unmanaged: the decision lists every configured component in a PUT, and a PUT naming an extension the plan
    lacks fails (or is ignored) on every subscription. So the sweep leaves them out and says so once a day."""
    missing = {g.component for g in gaps}
    return dataclasses.replace(desired, components=tuple(c for c in desired.components if c.key not in missing))


def catalogue_check(
    subscription_id: str | None, offered: Sequence[str] | None, desired: DesiredState, error: str | None = None
) -> Check:
    """`offered`: the extensions a Standard subscription's AI pricing lists (None: no Standard subscription)."""
    name = "extension catalogue"
    if error is not None:
        return Check(name, Status.FAIL, (f"cannot read the AI plan: {clip(error, 300)}",), "see the permissions check")
    if subscription_id is None or offered is None:
        return Check(
            name,
            Status.WARN,
            ("no subscription in scope has the AI plan at Standard, so the offered extensions cannot be read",),
            "turn the plan on in one subscription (`python -m enforcer enforce -s <id>`, or wait for the first "
            "sweep in enforce mode), then run doctor again with --subscription <id>",
        )
    evidence = [f"subscription {subscription_id} (Standard) offers: {', '.join(offered) or 'no extension'}"]
    gaps = catalogue_gaps(offered, desired)
    named = {c.extension_name.lower() for c in desired.components}
    unmanaged = [o for o in offered if o.lower() not in named]
    if gaps:
        evidence += [gap.message for gap in gaps]
        return Check(
            name,
            Status.FAIL,
            tuple(evidence),
            "; ".join(f"set {g.setting} to the name Azure offers" for g in gaps)
            + " (until then the sweep leaves that component alone and says so once a day)",
        )
    if unmanaged:
        evidence.append(f"offered but named by no setting: {', '.join(unmanaged)}")
        return Check(
            name,
            Status.WARN,
            tuple(evidence),
            "if one of these is a component you configured under another name, set its ENFORCER_*_EXTENSION; "
            "ENFORCER_UNLISTED_COMPONENTS decides what happens to the rest",
        )
    return Check(name, Status.PASS, tuple(evidence))


# ---------------------------------------------------------------------------------------------- Resource Graph


def projected_columns(query: str) -> tuple[str, ...]:
    """The columns the last `| project` of a KQL query returns (`a, b = expr, c` -> a, b, c): what the code reads."""
    clauses = [c.strip() for c in query.split("|")]
    projects = [c for c in clauses if re.match(r"project\s", c, flags=re.IGNORECASE)]
    if not projects:
        return ()
    items = re.sub(r"^project\s+", "", projects[-1], flags=re.IGNORECASE)
    return tuple(item.split("=", 1)[0].strip() for item in items.split(",") if item.strip())


@dataclass(frozen=True)
class GraphSample:
    query: str  # "inventory" | "accounts"
    columns: tuple[str, ...]  # what the code reads
    row: Mapping[str, Any] | None = None  # the one row asked for; None when the query answered no row
    error: str | None = None


def resource_graph_check(samples: Sequence[GraphSample]) -> Check:
    name = "resource graph"
    evidence: list[str] = []
    status = Status.PASS
    fixes: list[str] = []
    for sample in samples:
        if sample.error is not None:
            status = Status.FAIL
            evidence.append(f"{sample.query} query failed: {clip(sample.error, 300)}")
            fixes.append(
                "give the identity Reader (Resource Graph shows only what it may read), "
                "or set ENFORCER_RESOURCE_GRAPH=off"
            )
            continue
        if sample.row is None:
            if status is Status.PASS:
                status = Status.WARN
            evidence.append(f"{sample.query} query ran but answered no row: columns not checked")
            continue
        present = {k.lower() for k in sample.row}
        missing = [c for c in sample.columns if c.lower() not in present]
        if missing:
            status = Status.FAIL
            evidence.append(
                f"{sample.query} query: column(s) missing: {', '.join(missing)} (has {', '.join(sample.row)})"
            )
            fixes.append(
                f"the {sample.query} query's columns differ from what the code reads: report it, and set "
                "ENFORCER_RESOURCE_GRAPH=off meanwhile"
            )
        else:
            evidence.append(f"{sample.query} query: {', '.join(sample.columns)} present")
    return Check(name, status, tuple(evidence), "; ".join(dict.fromkeys(fixes)))


# ---------------------------------------------------------------------------------------------- event wiring

_KEY_FORM: Final = re.compile(r"^[A-Za-z0-9_\-=/+]{20,}$")


def delivery_key_problem(raw_key: str) -> str | None:
    """What is wrong with ENFORCER_EVENT_DELIVERY_KEY's raw value (never echoed: it is a secret), or None.
    A Functions system key is a URL-safe base64 string (our reading: no published format, so only the form)."""
    key = raw_key.strip()
    if not key:
        return "ENFORCER_EVENT_DELIVERY_KEY is not set"
    if key.startswith("@Microsoft.KeyVault("):
        return (
            "ENFORCER_EVENT_DELIVERY_KEY is an unresolved Key Vault reference (the app cannot read the secret: "
            "check its Key Vault Secrets User role, then restart the app)"
        )
    if not _KEY_FORM.match(key):
        return "ENFORCER_EVENT_DELIVERY_KEY does not look like a Functions key (20 or more URL-safe base64 characters)"
    return None


def event_wiring_check(
    config: WiringConfig,
    key_problem: str | None,
    subscription_id: str | None,
    topic_id: str | None,
    view: EventSubscriptionView | None,
    error: str | None = None,
) -> Check:
    name = "event wiring"
    if config.mode is WiringMode.OFF:
        return Check(name, Status.PASS, ("ENFORCER_EVENT_WIRING=off: nothing to check",))
    evidence: list[str] = []
    problems: list[str] = []
    fixes: list[str] = []
    if config.delivery_url:
        evidence.append(f"delivery URL {config.endpoint_base_url}")
    else:
        problems.append("ENFORCER_EVENT_DELIVERY_URL is not set")
        fixes.append("set ENFORCER_EVENT_DELIVERY_URL (the deployment does)")
    if key_problem is None:
        evidence.append("delivery key set")
    else:
        problems.append(key_problem)
        fixes.append("set ENFORCER_EVENT_DELIVERY_KEY to the host's eventgrid_extension system key (azd up does)")
    if not config.location:
        problems.append("ENFORCER_EVENTS_LOCATION is not set")
        fixes.append("set ENFORCER_EVENTS_LOCATION")
    evidence.append(
        f"dead-letter destination {config.dead_letter_account_id}/{config.dead_letter_container}"
        if config.dead_letter_account_id
        else "no dead-letter destination (ENFORCER_EVENT_DEAD_LETTER_ACCOUNT_ID empty): undeliverable events are lost"
    )
    warn = not config.dead_letter_account_id
    if error is not None:
        problems.append(f"cannot read the event wiring: {clip(error, 300)}")
        fixes.append("see the permissions check (event wiring role)")
    elif subscription_id is None:
        warn = True
        evidence.append("no sample subscription to compare")
    elif topic_id is None or view is None:
        warn = True
        where = f"topic {topic_id}" if topic_id else "no Microsoft.Resources.Subscriptions system topic"
        evidence.append(
            f"subscription {subscription_id}: {where}, no event subscription {config.event_subscription_name} yet"
        )
        fixes.append("the next sweep wires it (ENFORCER_EVENT_WIRING=on), or `azd up` for managed subscriptions")
    else:
        diffs = differences(view, config)
        if diffs:
            problems.append(
                f"subscription {subscription_id}: {config.event_subscription_name} differs: {', '.join(diffs)}"
            )
            fixes.append("the next sweep repairs it (ENFORCER_EVENT_WIRING=on)")
        else:
            evidence.append(f"subscription {subscription_id}: {config.event_subscription_name} as desired")
    if problems:
        return Check(name, Status.FAIL, tuple(problems + evidence), "; ".join(fixes))
    return Check(
        name,
        Status.WARN if warn else Status.PASS,
        tuple(evidence),
        "; ".join(fixes)
        or (
            "set ENFORCER_EVENT_DEAD_LETTER_ACCOUNT_ID (the deployment does)"
            if not config.dead_letter_account_id
            else ""
        ),
    )


# ------------------------------------------------------------------------------- tables, Teams, telemetry


@dataclass(frozen=True)
class TableProbe:
    table: str
    error: str | None = None  # None: the probe row was written, read back and deleted


def tables_check(probes: Sequence[TableProbe], configured: bool) -> Check:
    name = "table storage"
    if not configured:
        return Check(
            name,
            Status.FAIL,
            ("ENFORCER_STORAGE is not set: nothing is recorded",),
            "set ENFORCER_STORAGE to the table account URL or a connection string",
        )
    failed = [p for p in probes if p.error is not None]
    evidence = tuple(
        f"{p.table}: {'write, read and delete of a probe row worked' if p.error is None else clip(p.error, 300)}"
        for p in probes
    )
    if failed:
        return Check(
            name,
            Status.FAIL,
            evidence,
            "check ENFORCER_STORAGE and that the identity has Storage Table Data Contributor on the account",
        )
    return Check(name, Status.PASS, evidence)


def teams_check(configured: bool, form_problem: str | None, sent: str | None) -> Check:
    """`sent`: the result of posting the test card (None: not asked)."""
    name = "teams"
    if not configured:
        return Check(
            name, Status.WARN, ("ENFORCER_TEAMS_WEBHOOK_URL is empty: no cards",), "set ENFORCER_TEAMS_WEBHOOK_URL"
        )
    if form_problem is not None:
        return Check(
            name, Status.FAIL, (form_problem,), "use the URL the Teams Workflows 'post to a channel' flow gives"
        )
    evidence = ["webhook URL has the form of a Teams/Workflows webhook"]
    if sent is None:
        evidence.append("no card sent (run with --send-test-card to post one)")
        return Check(name, Status.PASS, tuple(evidence))
    if sent != "sent":
        return Check(
            name, Status.FAIL, (*evidence, f"test card not delivered: {clip(sent, 300)}"), "check the flow or connector"
        )
    return Check(name, Status.PASS, (*evidence, "test card delivered"))


def app_insights_check(connection_string: str) -> Check:
    name = "application insights"
    if not connection_string.strip():
        return Check(
            name,
            Status.WARN,
            ("APPLICATIONINSIGHTS_CONNECTION_STRING is not set: no metrics, no alerts",),
            "the deployment sets it; locally this is expected",
        )
    pairs = dict(
        (k.strip().lower(), v.strip())
        for k, _, v in (p.partition("=") for p in connection_string.split(";") if p.strip())
    )
    key = pairs.get("instrumentationkey", "")
    endpoint = pairs.get("ingestionendpoint", "")
    if not re.fullmatch(r"[0-9a-fA-F-]{36}", key) or not endpoint.startswith("https://"):
        return Check(
            name,
            Status.FAIL,
            ("APPLICATIONINSIGHTS_CONNECTION_STRING lacks an InstrumentationKey or an https IngestionEndpoint",),
            "copy the connection string from the Application Insights resource's overview",
        )
    return Check(name, Status.PASS, (f"connection configured (ingestion {endpoint.split(';')[0]})",))


# ---------------------------------------------------------------------------------------------- schedule


def function_timeout_seconds(host_json: Mapping[str, Any]) -> int | None:
    """host.json's functionTimeout ("hh:mm:ss"), or None when absent (the plan's default applies)."""
    value = host_json.get("functionTimeout")
    if not isinstance(value, str):
        return None
    match = re.fullmatch(r"(\d+):(\d{2}):(\d{2})", value.strip())
    if match is None:
        return None
    h, m, s = (int(g) for g in match.groups())
    return int(timedelta(hours=h, minutes=m, seconds=s).total_seconds())


def schedule_check(schedule: str, budget_seconds: int, timeout_seconds: int | None) -> Check:
    name = "schedule"
    try:
        interval: int | None = min(schedule_gaps(schedule))
    except ValueError:
        interval = None
    evidence = [f"ENFORCER_SWEEP_SCHEDULE {schedule!r}", f"ENFORCER_SWEEP_TIME_BUDGET_SECONDS {budget_seconds}"]
    evidence.append(
        f"functionTimeout {timeout_seconds} s (host.json)"
        if timeout_seconds
        else "functionTimeout not set in host.json"
    )
    if interval is None:
        return Check(
            name,
            Status.WARN,
            (*evidence, "schedule not read (six fields, every day; numbers, ranges, lists and steps)"),
            "check by hand that the budget is below the interval",
        )
    evidence.insert(1, f"shortest interval {interval} s")
    problems = []
    if budget_seconds >= interval:
        problems.append(
            f"the time budget ({budget_seconds} s) is not below the schedule's interval ({interval} s): "
            "sweeps would overlap"
        )
    if timeout_seconds is not None and budget_seconds >= timeout_seconds:
        problems.append(
            f"the time budget ({budget_seconds} s) is not below the function timeout ({timeout_seconds} s): "
            "the host would stop the sweep"
        )
    if problems:
        limit = min(interval, timeout_seconds or interval)
        return Check(
            name,
            Status.FAIL,
            (*problems, *evidence),
            f"set ENFORCER_SWEEP_TIME_BUDGET_SECONDS below {limit} (e.g. {max(10, limit * 4 // 5)}), "
            "or run the sweep less often",
        )
    return Check(name, Status.PASS, tuple(evidence))


# ---------------------------------------------------------------------------------------------- daily record


@dataclass(frozen=True)
class CatalogueDay:
    """What the first sweep of a day learned from the catalogue; kept as a marker so later sweeps that day reuse
    it (and say nothing again)."""

    day: str  # YYYY-MM-DD (UTC)
    subscription_id: str | None
    offered: tuple[str, ...] | None
    gaps: tuple[CatalogueGap, ...] = field(default=())

    def to_json(self) -> str:
        return json.dumps(
            {
                "day": self.day,
                "subscription_id": self.subscription_id,
                "offered": list(self.offered) if self.offered is not None else None,
                "gaps": [
                    {
                        "component": g.component,
                        "setting": g.setting,
                        "configured": g.configured,
                        "closest": list(g.closest),
                    }
                    for g in self.gaps
                ],
            }
        )

    @classmethod
    def from_json(cls, text: str) -> CatalogueDay | None:
        try:
            data = json.loads(text)
            return cls(
                day=str(data["day"]),
                subscription_id=data.get("subscription_id"),
                offered=tuple(str(o) for o in data["offered"]) if data.get("offered") is not None else None,
                gaps=tuple(
                    CatalogueGap(str(g["component"]), str(g["setting"]), str(g["configured"]), tuple(g["closest"]))
                    for g in data.get("gaps", [])
                ),
            )
        except (ValueError, KeyError, TypeError):
            return None


def utc_day(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d")


def test_card(generated_at: str) -> dict[str, Any]:
    """The card `doctor --send-test-card` posts."""
    return notice_card(
        "Defender for AI Enforcer: test card",
        [f"Sent by `python -m enforcer doctor --send-test-card` at {generated_at}. Cards reach this channel."],
    )


def catalogue_card(day: CatalogueDay) -> dict[str, Any]:
    """The day's one card for configured extension names the AI plan does not offer."""
    return notice_card(
        "Defender for AI: a configured extension name is not offered",
        [
            *(gap.message for gap in day.gaps),
            "Until the setting is fixed, every sweep leaves that component alone (no per-subscription failures).",
        ],
        [("Read from subscription", day.subscription_id or "unknown"), ("Day (UTC)", day.day)],
    )
