// Who watches the enforcer: an action group (email and/or a Teams webhook) and the log alert rules on the
// enforcer's own metrics in Application Insights (customMetrics, exported by enforcer/adapters/telemetry.py).
// Dead-lettered events are alerted per event subscription by dead-letter-alert.bicep (events.bicep deploys it).
//
// Metric names below are the ones enforcer/adapters/telemetry.py defines; tests/infra/test_bicep_alerts.py
// checks that they match.
// Source: https://learn.microsoft.com/azure/templates/microsoft.insights/2021-08-01/scheduledqueryrules
// Source: https://learn.microsoft.com/azure/templates/microsoft.insights/2023-01-01/actiongroups

param location string
param tags object
param resourceToken string

@description('Name of the action group; events.bicep derives the same name (ag-<function app name>).')
param actionGroupName string

@description('Application Insights the app exports its metrics to (the scope of the log alert rules).')
param applicationInsightsName string

@description('Email addresses that receive the alerts.')
param alertEmailAddresses array = []

@description('Also post alerts to the Teams webhook URL (Azure Monitor common alert schema, not an Adaptive Card).')
param alertsToTeams bool = false

@secure()
@description('Teams Workflows / incoming-webhook URL (the same secret as ENFORCER_TEAMS_WEBHOOK_URL).')
param teamsWebhookUrl string = ''

@description('Interval of the sweep schedule in minutes; the no-sweep alert fires after 3 intervals without one.')
param sweepIntervalMinutes int = 15

@description('Alert when more subscriptions than this fail in one sweep.')
param sweepFailureThreshold int = 5

@description('Alert when a Teams card has waited in the outbox longer than this (minutes).')
param outboxMaxAgeMinutes int = 60

var missedSweepMinutes = 3 * sweepIntervalMinutes

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: actionGroupName
  // Action groups are global resources.
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'enforcer'
    enabled: true
    emailReceivers: [for (address, i) in alertEmailAddresses: {
      name: 'email-${i}'
      emailAddress: address
      useCommonAlertSchema: true
    }]
    webhookReceivers: alertsToTeams && !empty(teamsWebhookUrl) ? [
      {
        name: 'teams'
        serviceUri: teamsWebhookUrl
        useCommonAlertSchema: true
        useAadAuth: false
      }
    ] : []
  }
}

// One rule per condition; each fires when its query returns a row (Count > 0). Sweeps are the timer's (kind
// "sweep"): a CLI dry run ("sweep-dry-run") writes nothing, so it does not count.
var rules = [
  {
    name: 'alert-enforcer-no-sweep-${resourceToken}'
    displayName: 'Defender for AI Enforcer: no sweep finished in ${missedSweepMinutes} minutes'
    description: 'No drift sweep finished within 3 schedule intervals: enforcement has stopped. Run `python -m enforcer health` and check that drift_sweep is enabled, the identity keeps its roles and the storage account is reachable.'
    severity: 1
    // An empty window counts as missed: max() over no rows is null.
    query: 'customMetrics\n| where name == "enforcer.sweeps" and tostring(customDimensions.kind) == "sweep"\n| summarize last_sweep = max(timestamp)\n| where isnull(last_sweep) or last_sweep < ago(${missedSweepMinutes}m)'
    // Look back far enough to see the last sweep even when the schedule is long.
    overrideQueryTimeRange: 'P2D'
  }
  {
    name: 'alert-enforcer-sweep-failures-${resourceToken}'
    displayName: 'Defender for AI Enforcer: more than ${sweepFailureThreshold} failures in a sweep'
    description: 'A sweep failed on more subscriptions than the threshold: often a lost role or a changed storage firewall. See `python -m enforcer status` for each error and what to do.'
    severity: 2
    // A histogram: one row per sweep, in the export interval the sweep ended in; valueMax is its failures.
    query: 'customMetrics\n| where name == "enforcer.sweep.failures" and tostring(customDimensions.kind) == "sweep"\n| where valueMax > ${sweepFailureThreshold}'
    overrideQueryTimeRange: ''
  }
  {
    name: 'alert-enforcer-outbox-${resourceToken}'
    displayName: 'Defender for AI Enforcer: Teams cards pending for more than ${outboxMaxAgeMinutes} minutes'
    description: 'Teams cards are not getting through: check ENFORCER_TEAMS_WEBHOOK_URL (the Workflows flow may be off or its URL rotated).'
    severity: 2
    query: 'customMetrics\n| where name == "enforcer.outbox.oldest_age"\n| where value > ${outboxMaxAgeMinutes * 60}'
    overrideQueryTimeRange: ''
  }
]

resource alertRules 'Microsoft.Insights/scheduledQueryRules@2021-08-01' = [for rule in rules: {
  name: rule.name
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: rule.displayName
    description: rule.description
    severity: rule.severity
    enabled: true
    scopes: [
      applicationInsights.id
    ]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT15M'
    overrideQueryTimeRange: empty(rule.overrideQueryTimeRange) ? null : rule.overrideQueryTimeRange
    criteria: {
      allOf: [
        {
          query: rule.query
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: true
    actions: {
      actionGroups: [
        actionGroup.id
      ]
    }
  }
}]

output actionGroupId string = actionGroup.id
