"""The alert rules in the Bicep: each one exists, queries the metric the code exports, and has its threshold
as a parameter with a default (issue 16). Read from the source text; the Bicep CLI cannot run here."""

from __future__ import annotations

import re

from enforcer.adapters import telemetry
from enforcer.core.health import MISSED_INTERVALS, OUTBOX_MAX_AGE, schedule_interval
from tests.infra.bicep_text import (
    INFRA,
    Declarations,
    blocks,
    declarations,
    entry_value,
    literal,
    object_entries,
    param_heads,
    read,
)

MAIN = read("main.bicep")
MAIN_DECLARATIONS = declarations(MAIN)
ALERTS = read("modules/alerts.bicep")
ALERTS_DECLARATIONS = declarations(ALERTS)
ALERTS_RAW = (INFRA / "modules" / "alerts.bicep").read_text(encoding="utf-8")
DEAD_LETTER = read("modules/dead-letter-alert.bicep")
EVENT_SUBSCRIPTION = read("modules/event-subscription.bicep")
EVENTS = read("events.bicep")
EVENTS_DECLARATIONS = declarations(EVENTS)


def block(text: str, target_prefix: str) -> str:
    [found] = [b.body for b in blocks(text) if b.target.startswith(target_prefix) and not b.existing]
    return found


def rule_queries() -> dict[str, str]:
    """The log alert rules of alerts.bicep: rule name expression -> its KQL query (Bicep string, unescaped)."""
    rules = ALERTS_DECLARATIONS.variables["rules"]
    found = {}
    for entry in re.findall(r"\{(.*?)\n  \}", rules, flags=re.DOTALL):
        fields = object_entries("{" + entry + "\n}")
        found[fields["name"]] = fields["query"].replace("\\n", "\n")
    return found


def default(declarations_: Declarations, name: str) -> object:
    params = declarations_.params
    assert name in params, f"missing parameter {name}"
    value = params[name]
    assert value is not None, f"parameter {name} has no default"
    return literal(value, {})


def test_the_log_alert_rules_query_the_metrics_the_code_exports():
    queries = rule_queries()
    assert len(queries) == 3
    by_metric = {re.search(r'name == "([^"]+)"', q).group(1): q for q in queries.values()}  # type: ignore[union-attr]
    for metric in (telemetry.SWEEPS, telemetry.SWEEP_FAILURES):  # the timer's sweeps, not CLI dry runs
        assert 'tostring(customDimensions.kind) == "sweep"' in by_metric[metric]
    assert set(by_metric) == {telemetry.SWEEPS, telemetry.SWEEP_FAILURES, telemetry.OUTBOX_OLDEST_AGE}
    # No completed sweep within 3 x the schedule: an empty window counts as missed.
    assert "isnull(last_sweep) or last_sweep < ago(${missedSweepMinutes}m)" in by_metric[telemetry.SWEEPS]
    assert ALERTS_DECLARATIONS.variables["missedSweepMinutes"] == f"{MISSED_INTERVALS} * sweepIntervalMinutes"
    # Failures above a threshold in one sweep (a histogram point per sweep).
    assert "valueMax > ${sweepFailureThreshold}" in by_metric[telemetry.SWEEP_FAILURES]
    # Cards pending for longer than the limit (seconds in the metric, minutes in the parameter).
    assert "value > ${outboxMaxAgeMinutes * 60}" in by_metric[telemetry.OUTBOX_OLDEST_AGE]


def test_the_rules_are_log_alerts_on_application_insights_with_the_action_group():
    rule = block(ALERTS, "Microsoft.Insights/scheduledQueryRules@")
    assert "[for rule in rules:" in ALERTS
    properties = entry_value(rule, "properties")
    assert "applicationInsights.id" in entry_value(properties, "scopes")
    criteria = entry_value(properties, "criteria")
    assert "timeAggregation: 'Count'" in criteria and "operator: 'GreaterThan'" in criteria
    assert "actionGroup.id" in entry_value(properties, "actions")
    assert literal(entry_value(properties, "evaluationFrequency"), {}) == "PT15M"


def test_the_action_group_mails_and_can_post_to_teams():
    group = entry_value(block(ALERTS, "Microsoft.Insights/actionGroups@"), "properties")
    assert "for (address, i) in alertEmailAddresses" in entry_value(group, "emailReceivers")
    webhooks = entry_value(group, "webhookReceivers")
    assert "alertsToTeams && !empty(teamsWebhookUrl)" in webhooks and "serviceUri: teamsWebhookUrl" in webhooks
    assert len(literal(entry_value(group, "groupShortName"), {})) <= 12  # type: ignore[arg-type]
    assert "secure" in param_heads(ALERTS_RAW)["teamsWebhookUrl"].decorators  # a secret, never an output


def test_thresholds_are_parameters_with_sane_defaults_passed_from_main():
    assert default(MAIN_DECLARATIONS, "sweepFailureAlertThreshold") == 5
    assert default(MAIN_DECLARATIONS, "outboxAlertMinutes") == OUTBOX_MAX_AGE.total_seconds() / 60
    assert default(MAIN_DECLARATIONS, "alertEmailAddresses") == ""
    assert default(MAIN_DECLARATIONS, "alertsToTeams") is False
    module = next(b for b in blocks(MAIN) if b.kind == "module" and b.target == "modules/alerts.bicep")
    params = object_entries(entry_value(module.body, "params"))
    assert params["sweepIntervalMinutes"] == "sweepIntervalMinutes"
    assert params["sweepFailureThreshold"] == "sweepFailureAlertThreshold"
    assert params["outboxMaxAgeMinutes"] == "outboxAlertMinutes"
    assert params["actionGroupName"] == "'ag-${functionAppName}'"


def test_the_sweep_interval_default_matches_the_schedule_default():
    schedule = default(MAIN_DECLARATIONS, "sweepSchedule")
    assert isinstance(schedule, str)
    interval = schedule_interval(schedule).total_seconds() / 60
    assert default(MAIN_DECLARATIONS, "sweepIntervalMinutes") == interval, (
        "sweepIntervalMinutes must equal the sweepSchedule interval, or the no-sweep alert fires late or early"
    )


def test_every_event_subscription_has_a_dead_letter_alert():
    alert = entry_value(block(DEAD_LETTER, "Microsoft.Insights/metricAlerts@"), "properties")
    criteria = entry_value(alert, "criteria")
    assert "metricName: 'DeadLetteredCount'" in criteria
    assert "'Microsoft.EventGrid/systemTopics'" in criteria and "'Microsoft.EventGrid/topics'" in criteria
    assert "name: 'EventSubscriptionName'" in criteria and "subscriptionName" in criteria  # ours only
    assert "threshold: threshold" in criteria
    module = next(b for b in blocks(EVENT_SUBSCRIPTION) if b.kind == "module")
    assert module.target == "dead-letter-alert.bicep"
    assert "module deadLetterAlert 'dead-letter-alert.bicep' = if (!empty(deadLetterAlertActionGroupId))" in (
        EVENT_SUBSCRIPTION
    )
    # events.bicep wires all three event subscriptions to the action group main.bicep creates.
    assert EVENTS.count("deadLetterAlertActionGroupId: alertActionGroupId") == 3
    assert "'ag-${functionAppName}'" in EVENTS_DECLARATIONS.variables["alertActionGroupId"]
    assert default(EVENTS_DECLARATIONS, "deadLetterAlertThreshold") == 0
