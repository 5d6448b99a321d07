"""`doctor`: read what the enforcer assumes about the tenant and check it (the checks are pure: core/doctor.py).

Read-only: the only writes are the table probe row (written, read back, deleted) and, when asked, one Teams card.
Each check is isolated: a failure of one read becomes that check's evidence, never the end of the report.

Also the sweep's daily catalogue step (`daily_catalogue`): the first sweep of a UTC day reads the AI plan's
extensions from a Standard subscription; a configured name the plan does not offer is reported once that day
(one record, one card) and that component is left alone by every sweep of the day, instead of failing on
every subscription.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, Protocol, runtime_checkable

from enforcer.core import doctor
from enforcer.core.doctor import (
    CatalogueDay,
    Check,
    GraphSample,
    Report,
    ScopePermissions,
)
from enforcer.core.models import Mode, PricingState, RunSummary, utc_now_iso
from enforcer.core.scope import exclusion_by_id
from enforcer.core.settings import SETTINGS, Settings
from enforcer.core.wiring import WiringMode, resources_topic
from enforcer.usecases.enforce import Enforcer
from enforcer.usecases.ports import DoctorProbe, TableProbes
from enforcer.usecases.services import Services

logger = logging.getLogger(__name__)

# Subscriptions read (one GET each) while looking for one whose AI plan is Standard.
MAX_CATALOGUE_READS: Final = 10
CATALOGUE_MARKER: Final = "doctor-catalogue"
CATALOGUE_KIND: Final = "catalogue"
# How long an instance trusts the catalogue it holds before an event reads the runs table's marker again.
EVENT_CATALOGUE_REFRESH: Final = timedelta(hours=1)
_CATALOGUE_READ_AT: Final = "doctor-catalogue-read-at"  # in sweep_memory: when this process last learned it
DOCTOR_KIND: Final = "doctor"
_DEFAULT_SCHEDULE: Final = next(s.default for s in SETTINGS if s.name == "ENFORCER_SWEEP_SCHEDULE")


@runtime_checkable
class CardPoster(Protocol):
    """A notifier that can post any card (the Teams notifier can)."""

    def post(self, card: dict[str, Any], what: str, *, kind: str = ..., important: bool = ...) -> str: ...


@dataclass(frozen=True)
class DoctorInputs:
    """What doctor reads besides the settings: the CLI gathers it from the arguments, environment and host.json."""

    subscription: str | None = None
    management_group: str | None = None
    raw_delivery_key: str = ""
    app_insights_connection: str = ""
    function_timeout_seconds: int | None = None
    schedule: str = _DEFAULT_SCHEDULE
    teams_form_problem: str | None = None
    # ENFORCER_TEAMS_WEBHOOK_URL is a Key Vault reference (as the deployment sets it): only the app resolves it.
    teams_key_vault_reference: bool = False
    send_test_card: bool = False


def _why(error: Exception) -> str:
    return str(error) or type(error).__name__


def sample_subscriptions(services: Services, first: str | None, limit: int = MAX_CATALOGUE_READS) -> list[str]:
    """Subscriptions in scope to read from: `first`, then the listed scope or what the identity can see."""
    settings = services.settings
    candidates: list[str] = [first] if first else []
    if settings.subscriptions is not None:
        candidates += list(settings.subscriptions)
    elif len(candidates) < limit:
        try:
            listing = services.arm.list_subscriptions()
            candidates += sorted(
                s.subscription_id for s in listing.subscriptions if (s.state or "Enabled").lower() == "enabled"
            )
        except Exception as error:
            logger.warning("doctor: cannot list subscriptions: %s", _why(error))
    in_scope = [s for s in dict.fromkeys(c.lower() for c in candidates) if exclusion_by_id(s, settings) is None]
    return in_scope[:limit]


def read_catalogue(
    services: Services, candidates: Sequence[str], known: Mapping[str, PricingState | None] | None = None
) -> tuple[str | None, tuple[str, ...] | None]:
    """(subscription, offered extension names) from the first candidate whose AI plan is Standard. `known`:
    pricings already read (the sweep's Resource Graph rows); a Standard one there costs no call. Our reading:
    Resource Graph's `properties.extensions` lists what a GET lists (it indexes the same resource)."""
    for sub in candidates:
        state = (known or {}).get(sub)
        if state is not None and state.tier.lower() == "standard":
            return sub, tuple(e.name for e in state.extensions)
    for sub in candidates:
        state = services.arm.get_pricing(sub)
        if state.tier.lower() == "standard":
            return sub, tuple(e.name for e in state.extensions)
    return None, None


def _catalogue_check(services: Services, candidates: Sequence[str]) -> Check:
    try:
        sub, offered = read_catalogue(services, candidates)
    except Exception as error:
        return doctor.catalogue_check(None, None, services.settings.desired, error=_why(error))
    return doctor.catalogue_check(sub, offered, services.settings.desired)


def _graph_check(settings: Settings, probe: DoctorProbe, candidates: Sequence[str]) -> Check:
    if not settings.use_resource_graph:
        return Check("resource graph", doctor.Status.PASS, ("ENFORCER_RESOURCE_GRAPH=off: the sweep does not use it",))
    try:
        samples = probe.graph_samples(list(candidates) or None)
    except Exception as error:
        samples = [GraphSample("inventory", (), error=_why(error))]
    return doctor.resource_graph_check(samples)


def _tables_check(settings: Settings, tables: TableProbes | None) -> Check:
    if tables is None or not settings.storage:
        return doctor.tables_check([], configured=False)
    return doctor.tables_check([tables.probe(t) for t in (settings.audit_table, settings.runs_table)], configured=True)


def _permissions_check(services: Services, probe: DoctorProbe, sample: str | None, group: str | None) -> Check:
    settings = services.settings
    scopes: list[tuple[str, str]] = []
    if sample:
        scopes.append((f"subscription {sample}", f"/subscriptions/{sample}"))
    if group:
        scopes.append((f"management group {group}", f"/providers/Microsoft.Management/managementGroups/{group}"))
    results = []
    for label, scope in scopes:
        try:
            results.append(ScopePermissions(label, scope, probe.permissions(scope)))
        except Exception as error:
            results.append(ScopePermissions(label, scope, error=_why(error)))
    features = doctor.required_features(
        "Security Admin or Owner (ENFORCER_PRICING_ROLE)",
        settings.wiring.mode,
        settings.account_protection,
        audit_only=settings.mode is Mode.AUDIT,
    )
    check = doctor.permissions_check(results, features)
    if not group and check.status is doctor.Status.PASS:
        evidence = (*check.evidence, "no management group given (--management-group or ENFORCER_MANAGEMENT_GROUP_ID)")
        return dataclasses.replace(check, evidence=evidence)
    return check


def _wiring_check(services: Services, inputs: DoctorInputs, sample: str | None) -> Check:
    config = services.settings.wiring
    key_problem = doctor.delivery_key_problem(inputs.raw_delivery_key)
    gateway = services.wiring
    if config.mode is WiringMode.OFF or gateway is None or sample is None:
        return doctor.event_wiring_check(config, key_problem, None, None, None)
    try:
        topic = resources_topic(sample, gateway.list_topics(sample))
        view = gateway.get_event_subscription(topic, config.event_subscription_name) if topic else None
    except Exception as error:
        return doctor.event_wiring_check(config, key_problem, sample, None, None, error=_why(error))
    return doctor.event_wiring_check(config, key_problem, sample, topic.id if topic else None, view)


def _teams_check(services: Services, inputs: DoctorInputs) -> Check:
    if inputs.teams_key_vault_reference:
        return Check(
            "teams",
            doctor.Status.WARN,
            ("ENFORCER_TEAMS_WEBHOOK_URL is a Key Vault reference: the app resolves it, doctor here cannot",),
            "set ENFORCER_TEAMS_WEBHOOK_URL to the URL itself and run doctor --send-test-card to post a test card",
        )
    configured = bool(services.settings.teams_webhook_url) or inputs.teams_form_problem is not None
    sent: str | None = None
    if configured and inputs.teams_form_problem is None and inputs.send_test_card:
        notifier: object = services.notifier  # any notifier that can post a card (CardPoster)
        if isinstance(notifier, CardPoster):
            card = doctor.test_card(utc_now_iso())
            sent = notifier.post(card, "doctor test card", kind="doctor", important=True)
        else:
            sent = "no Teams notifier configured"
    return doctor.teams_check(configured, inputs.teams_form_problem, sent)


def run_doctor(
    services: Services,
    probe: DoctorProbe,
    tables: TableProbes | None,
    inputs: DoctorInputs,
) -> Report:
    """Every check, in the README's order ("First day in your tenant")."""
    settings = services.settings
    try:
        identity = doctor.identity_check(probe.token_claims(), None)
    except Exception as error:
        identity = doctor.identity_check(None, _why(error))
    candidates = sample_subscriptions(services, inputs.subscription)
    sample = candidates[0] if candidates else None
    checks = [
        identity,
        _permissions_check(services, probe, sample, inputs.management_group),
        _catalogue_check(services, candidates),
        _graph_check(settings, probe, candidates),
        _wiring_check(services, inputs, sample),
        _tables_check(settings, tables),
        _teams_check(services, inputs),
        doctor.app_insights_check(inputs.app_insights_connection),
        doctor.schedule_check(inputs.schedule, settings.sweep_time_budget_seconds, inputs.function_timeout_seconds),
    ]
    return Report(tuple(checks), generated_at=utc_now_iso())


# ---------------------------------------------------------------------------------------------- in the sweep


@dataclass(frozen=True)
class DailyCatalogue:
    """The sweep's view of the catalogue for today: the settings to enforce with, and any note for the run."""

    settings: Settings
    day: CatalogueDay | None
    notes: tuple[str, ...] = ()


def daily_catalogue(
    services: Services,
    candidates: Sequence[str],
    now: datetime,
    *,
    known: Mapping[str, PricingState | None] | None = None,
    record: bool = True,
) -> DailyCatalogue:
    """Today's catalogue: read once a day (the marker in the runs table, or this process's memory without a
    store), reported once (one run record, one card) when a configured name is not offered, then applied to
    every sweep of the day by leaving that component unmanaged.

    With the services' doctor probes (the function app has them), the first sweep of the day also runs
    doctor's other cheap checks (Resource Graph, tables) and records the three results as a `doctor` run,
    which `health` shows. `record=False` (a dry run) decides with the catalogue but records, remembers and
    posts nothing."""
    settings = services.settings
    today = doctor.utc_day(now)
    remembered = _remembered(services)
    if remembered is not None and remembered.day == today:
        return _apply(settings, remembered, ())
    try:
        sub, offered = read_catalogue(services, candidates, known)
    except Exception as error:
        logger.warning("catalogue: cannot read the AI plan's extensions: %s", _why(error))
        return DailyCatalogue(settings, None, (f"catalogue not read ({_why(error)}); the next sweep tries again",))
    day = CatalogueDay(today, sub, offered, tuple(doctor.catalogue_gaps(offered, settings.desired)) if offered else ())
    if not record:  # a dry run: decide with what it learned, leave the day's reporting to the real sweep
        return _apply(settings, day, ())
    _remember(services, day, now)
    if day.gaps:
        _report_gaps(services, day, now)
    if services.doctor_probe is not None:
        _record_cheap_checks(services, day, services.doctor_probe, services.table_probes, candidates)
    return _apply(settings, day, tuple(gap.message for gap in day.gaps))


def _apply(settings: Settings, day: CatalogueDay, notes: tuple[str, ...]) -> DailyCatalogue:
    gaps = _gaps_now(settings, day)
    if not gaps:
        return DailyCatalogue(settings, day, notes)
    skipped = ", ".join(f"{g.component} ({g.configured})" for g in gaps)
    return DailyCatalogue(
        _without(settings, gaps), day, (*notes, f"left alone today, the plan does not offer it: {skipped}")
    )


def _gaps_now(settings: Settings, day: CatalogueDay) -> tuple[doctor.CatalogueGap, ...]:
    """The day's gaps for today's settings: a setting fixed since the catalogue was read counts at once (the
    offered names are kept with the day; an old marker without them keeps its gaps)."""
    if day.offered is None:
        return day.gaps
    return tuple(doctor.catalogue_gaps(day.offered, settings.desired))


def _without(settings: Settings, gaps: Sequence[doctor.CatalogueGap]) -> Settings:
    return dataclasses.replace(settings, desired=doctor.without_gaps(settings.desired, gaps))


def event_enforcer(services: Services, now: datetime) -> Enforcer:
    """The enforcer an event decides the plan with. Like the sweep's, it leaves out a component whose configured
    extension name the plan does not offer, as the last catalogue a sweep read says (so a wrong name fails no
    event either, and the sweep's one card a day has said it). No catalogue read yet: the configured names."""
    enforcer = services.enforcer
    day = _catalogue_for_events(services, now)
    gaps = _gaps_now(enforcer.settings, day) if day is not None else ()
    return enforcer.with_settings(_without(enforcer.settings, gaps)) if gaps else enforcer


def _catalogue_for_events(services: Services, now: datetime) -> CatalogueDay | None:
    """The catalogue this process knows: its own sweep's, or the runs table's marker, read at most once per
    EVENT_CATALOGUE_REFRESH (an instance that only handles events pays one Table read an hour, not one per
    event). A marker that cannot be read is logged and tried again after the same interval."""
    memory = services.sweep_memory
    read_at = memory.get(_CATALOGUE_READ_AT)
    stale = read_at is None or now - datetime.fromisoformat(read_at) >= EVENT_CATALOGUE_REFRESH
    if stale and services.audit is not None:
        memory[_CATALOGUE_READ_AT] = now.isoformat()
        try:
            stored = services.audit.marker(CATALOGUE_MARKER)
        except Exception as error:
            logger.warning("catalogue: marker not read for events (%s); the configured names apply", _why(error))
        else:
            if stored:
                memory[CATALOGUE_MARKER] = stored
    text = memory.get(CATALOGUE_MARKER)
    return CatalogueDay.from_json(text) if text else None


def _remembered(services: Services) -> CatalogueDay | None:
    text = services.sweep_memory.get(CATALOGUE_MARKER)
    if services.audit is not None:
        try:
            text = services.audit.marker(CATALOGUE_MARKER) or text
        except Exception as error:
            logger.warning("catalogue: marker not read: %s", _why(error))
    return CatalogueDay.from_json(text) if text else None


def _remember(services: Services, day: CatalogueDay, now: datetime) -> None:
    services.sweep_memory[CATALOGUE_MARKER] = day.to_json()
    services.sweep_memory[_CATALOGUE_READ_AT] = now.isoformat()  # events on this instance use it at once
    if services.audit is not None:
        try:
            services.audit.set_marker(CATALOGUE_MARKER, day.to_json())
        except Exception as error:
            logger.warning("catalogue: marker not written: %s", _why(error))


def _report_gaps(services: Services, day: CatalogueDay, now: datetime) -> None:
    """One run record and one card for the day, whatever the number of subscriptions."""
    summary = RunSummary(
        run_id=f"catalogue-{day.day}",
        kind=CATALOGUE_KIND,
        mode=services.settings.mode,
        started_at=utc_now_iso(),
        counts={"catalogue_gap": len(day.gaps)},
        notes=[gap.message for gap in day.gaps],
        complete=False,
    )
    if services.audit is not None:
        try:
            services.audit.record_run(summary)
        except Exception as error:
            logger.error("catalogue: record not written (%s): %s", _why(error), "; ".join(summary.notes))
    logger.warning("catalogue: %s", "; ".join(summary.notes))
    notifier: object = services.notifier
    if isinstance(notifier, CardPoster):
        notifier.post(doctor.catalogue_card(day), f"catalogue {day.day}", kind="catalogue", important=True)


def _record_cheap_checks(
    services: Services,
    day: CatalogueDay,
    probe: DoctorProbe,
    tables: TableProbes | None,
    candidates: Sequence[str],
) -> None:
    settings = services.settings
    checks = (
        doctor.catalogue_check(day.subscription_id, day.offered, settings.desired),
        _graph_check(settings, probe, candidates),
        _tables_check(settings, tables),
    )
    report = Report(checks, generated_at=utc_now_iso())
    if services.audit is None:
        return
    summary = RunSummary(
        run_id=f"doctor-{day.day}",
        kind=DOCTOR_KIND,
        mode=settings.mode,
        started_at=report.generated_at,
        counts={s.value: sum(1 for c in checks if c.status is s) for s in doctor.Status},
        notes=[doctor.summary_line(report), *(f"{c.name}: {'; '.join(c.evidence)}" for c in checks)],
        complete=report.status is not doctor.Status.FAIL,
    )
    try:
        services.audit.record_run(summary)
    except Exception as error:
        logger.warning("doctor: daily result not recorded: %s", _why(error))
