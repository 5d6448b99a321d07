// Defender for AI Enforcer: hosting (Function App on Flex Consumption, storage, monitoring, Key Vault, the
// vending Event Grid topic) and the role assignments in each managed subscription. Deployed by `azd provision`
// at subscription scope. Management-group parts (role assignments, audit policy) live in mg/main.bicep; the
// system topics (ours, or existing ones for the same source) and the event subscriptions in events.bicep: azd
// hooks deploy both (see README.md, "Deploy to Azure").
targetScope = 'subscription'

// ---------------------------------------------------------------------------------------------------
// azd
// ---------------------------------------------------------------------------------------------------

@minLength(1)
@maxLength(64)
@description('azd environment name; seeds resource names and the azd-env-name tag.')
param environmentName string

@minLength(1)
@description('Region of the hosting resources; it must offer the Flex Consumption plan.')
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Hosting resource group name; empty means rg-<environmentName>.')
param resourceGroupName string = ''

// ---------------------------------------------------------------------------------------------------
// App settings the enforcer reads (enforcer/core/settings.py SETTINGS). Defaults equal the code's defaults.
// ---------------------------------------------------------------------------------------------------

// Source: enforcer/core/settings.py (Settings.from_env accepts each of these values; tests/infra checks it)
@allowed([
  'enforce'
  'audit'
])
@description('ENFORCER_MODE: `enforce` writes changes; `audit` decides and reports but never writes.')
param enforcerMode string = 'enforce'

// Source: enforcer/core/settings.py (Settings.from_env accepts each of these values; tests/infra checks it)
@allowed([
  'on'
  'off'
  'unmanaged'
])
@description('ENFORCER_PROMPT_EVIDENCE: suspicious prompt evidence component.')
param promptEvidence string = 'on'

// Source: enforcer/core/settings.py (Settings.from_env accepts each of these values; tests/infra checks it)
@allowed([
  'on'
  'off'
  'unmanaged'
])
@description('ENFORCER_DATA_SECURITY: data security for AI interactions (Purview; needs its own licence).')
param dataSecurity string = 'unmanaged'

// Source: enforcer/core/settings.py (Settings.from_env accepts each of these values; tests/infra checks it)
@allowed([
  'on'
  'off'
  'unmanaged'
])
@description('ENFORCER_MODEL_SECURITY: AI model security component.')
param modelSecurity string = 'on'

@description('ENFORCER_PROMPT_EVIDENCE_EXTENSION: pricing extension name for prompt evidence.')
param promptEvidenceExtension string = 'AIPromptEvidence'

@description('ENFORCER_DATA_SECURITY_EXTENSION: pricing extension name for data security (Purview).')
param dataSecurityExtension string = 'AIPromptSharingWithPurview'

@description('ENFORCER_MODEL_SECURITY_EXTENSION: pricing extension name for AI model security (not in the published spec).')
param modelSecurityExtension string = 'AIModelScanner'

@description('ENFORCER_AUDIT_TABLE: table for one record per decision (created here).')
param auditTable string = 'EnforcerAudit'

@description('ENFORCER_RUNS_TABLE: table for run summaries (created here).')
param runsTable string = 'EnforcerRuns'

@secure()
@description('ENFORCER_TEAMS_WEBHOOK_URL: Teams Workflows or incoming-webhook URL, stored in Key Vault; empty disables notifications.')
param teamsWebhookUrl string = ''

@description('ENFORCER_SUBSCRIPTIONS: `*` (every subscription the identity can read) or comma-separated subscription ids.')
param subscriptionsInScope string = '*'

@description('ENFORCER_EXCLUDE_SUBSCRIPTIONS: comma-separated subscription ids never touched.')
param excludeSubscriptions string = ''

@description('ENFORCER_EXEMPT_TAG: a subscription carrying this tag is excluded.')
param exemptTag string = 'defender-ai-exempt'

@description('ENFORCER_POLICY_DEFINITION_IDS: extra policy definition ids whose PolicyStates events count as a new subscription.')
param extraPolicyDefinitionIds string = ''

@description('ENFORCER_SWEEP_SCHEDULE: NCRONTAB schedule of the drift sweep.')
param sweepSchedule string = '0 */5 * * * *'

// Source: enforcer/core/settings.py (Settings.from_env accepts 1 to 256)
@minValue(1)
@maxValue(256)
@description('ENFORCER_SWEEP_CONCURRENCY: subscriptions checked at once by the sweep.')
param sweepConcurrency int = 16

// Source: enforcer/core/settings.py (at least 10) and host.json (below its functionTimeout of 10 minutes)
@minValue(10)
@maxValue(570)
@description('ENFORCER_SWEEP_TIME_BUDGET_SECONDS: must stay below functionTimeout in host.json (10 minutes); the default fits the 5-minute schedule.')
param sweepTimeBudgetSeconds int = 240

// Source: enforcer/core/settings.py (Settings.from_env accepts 0 to 10080)
@minValue(0)
@maxValue(10080)
@description('ENFORCER_FULL_LISTING_MINUTES: how often the sweep also lists subscriptions from the subscriptions API (0 = every sweep).')
param fullListingMinutes int = 60

// Source: enforcer/core/settings.py (Settings.from_env accepts 1 to 3650)
@minValue(1)
@maxValue(3650)
@description('ENFORCER_AUDIT_RETENTION_DAYS: history rows older than this are deleted.')
param auditRetentionDays int = 400

// Source: enforcer/core/settings.py (Settings.from_env accepts each of these values; tests/infra checks it)
@allowed([
  'on'
  'off'
])
@description('ENFORCER_RESOURCE_GRAPH: `on` asks Azure Resource Graph for candidates first; `off` GETs each subscription.')
param resourceGraph string = 'on'

// Source: enforcer/core/settings.py (Settings.from_env accepts `keep` or `off`)
@allowed([
  'keep'
  'off'
])
@description('ENFORCER_UNLISTED_COMPONENTS: `keep` leaves plan components no setting names as Azure chose; `off` turns them off.')
param unlistedComponents string = 'keep'

// Source: enforcer/core/settings.py (Settings.from_env accepts 5 to 3600)
@minValue(5)
@maxValue(3600)
@description('ENFORCER_ARM_RETRY_DEADLINE_SECONDS: seconds one ARM call of the sweep keeps retrying throttling.')
param armRetryDeadlineSeconds int = 120

// Source: enforcer/core/settings.py (Settings.from_env accepts 5 to 25, inside Event Grid's 30 s wait)
@minValue(5)
@maxValue(25)
@description('ENFORCER_EVENT_RETRY_DEADLINE_SECONDS: seconds one event\'s enforcement keeps retrying throttling (Event Grid waits 30 s).')
param eventRetryDeadlineSeconds int = 20

// Source: enforcer/core/settings.py (Settings.from_env accepts 2 to 25, inside Event Grid's 30 s wait)
@minValue(2)
@maxValue(25)
@description('ENFORCER_STORE_DEADLINE_SECONDS: seconds one audit store call may take in all, retries and the whole answer included.')
param storeDeadlineSeconds int = 10

// Source: enforcer/core/settings.py (Settings.from_env accepts 0 to 168)
@minValue(0)
@maxValue(168)
@description('ENFORCER_HEARTBEAT_HOURS: hours between Teams heartbeats after sweeps that changed nothing; 0 turns them off.')
param heartbeatHours int = 24

// Source: enforcer/core/settings.py (Settings.from_env accepts each of these values; tests/infra checks it)
@allowed([
  'on'
  'report'
  'unmanaged'
])
@description('ENFORCER_ACCOUNT_PROTECTION: `on` enables Defender for AI on each AI account whose own setting is Disabled; `report` only records and notifies; `unmanaged` does not read accounts.')
param accountProtection string = 'on'

// Source: enforcer/core/settings.py (Settings.from_env accepts 1-100; tests/infra checks it)
@minValue(1)
@maxValue(100)
@description('ENFORCER_TUG_OF_WAR_RESTORES: event-driven restores of one subscription or AI account within the window after which the event path stops restoring it and records conflict.')
param tugOfWarRestores int = 3

// Source: enforcer/core/settings.py (Settings.from_env accepts 1-1440; tests/infra checks it)
@minValue(1)
@maxValue(1440)
@description('ENFORCER_TUG_OF_WAR_MINUTES: the tug-of-war window in minutes.')
param tugOfWarMinutes int = 60

// Issue 20. The document is a file of the deployed package (azd deploys the repository's app folder), so it is
// versioned and reviewed with the code; this names it. Source: enforcer/core/settings.py (relative, .yaml/.yml/.json).
@description('ENFORCER_DESIRED_STATE: desired-state document deployed with the app, relative to the app root (e.g. examples/desired-state/business-units.yaml). Empty: the component settings apply everywhere.')
param desiredState string = ''

// ---------------------------------------------------------------------------------------------------
// Scope of enforcement and permissions
// ---------------------------------------------------------------------------------------------------

@description('Comma-separated subscription ids to watch for new AI accounts (one Event Grid system topic each). When managementGroupId is empty they also get the role assignments.')
param managedSubscriptionIds string = ''

@description('Management group under enforcement (id, not display name). Empty: no PolicyStates topic and no management-group deployment.')
param managementGroupId string = ''

// The two built-in roles that write Microsoft.Security/pricings: Security Admin (fb1c8493) and Owner (8e3af657).
// Source: https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/security#security-admin
// Source: https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/privileged#owner
@allowed([
  'SecurityAdmin'
  'Owner'
])
@description('Role that writes Microsoft.Security/pricings. SecurityAdmin: plan tier and components that need no role assignment. Owner: also components whose enablement assigns roles (as built-in policy 359a48a3 does).')
param pricingRole string = 'SecurityAdmin'

@description('Resource group created (by the enforcer, or events.bicep for listed subscriptions) in each subscription that has no Microsoft.Resources.Subscriptions system topic yet, for ours.')
param eventsResourceGroupName string = 'rg-defender-ai-enforcer-events'

// Event wiring (issue 14): the enforcer itself gives every subscription in scope the event subscription for new
// AI accounts; it needs the custom role infra/mg/main.bicep assigns at the management group.
// Source: enforcer/core/settings.py (Settings.from_env accepts each of these values; tests/infra checks it)
@allowed([
  'on'
  'report'
  'off'
])
@description('Event wiring for new AI accounts: on (create what is missing), report (record only), off.')
param eventWiring string = 'on'

@description('Comma-separated object ids allowed to publish Enforcer.SubscriptionCreated to the vending topic (EventGrid Data Sender).')
param vendingPublisherPrincipalIds string = ''

@description('Comma-separated object ids allowed to read the audit tables (Storage Table Data Reader), e.g. the operators.')
param auditReaderPrincipalIds string = ''

// The Flex Consumption doc, Considerations: "The lowest maximum scale is currently 1. The highest currently
// supported value is 1000." (Versions of 2024-2025 said 40.) The default stays 40: every instance calls ARM as
// the one identity, whose requests Resource Manager throttles together; the region's default Flex Consumption
// quota (250 cores) is shared by every Flex Consumption app of the subscription.
// Source: https://learn.microsoft.com/azure/azure-functions/flex-consumption-plan#considerations
@minValue(1)
@maxValue(1000)
@description('Flex Consumption scale-out ceiling; one identity shares ARM throttling limits across instances.')
param maximumInstanceCount int = 40

// The Flex Consumption instance sizes (0.25, 1 and 2 cores); 2048 is the doc's default for most apps.
// Source: https://learn.microsoft.com/azure/azure-functions/flex-consumption-plan#instance-sizes
@allowed([
  512
  2048
  4096
])
@description('Flex Consumption instance memory (MB).')
param instanceMemoryMB int = 2048

// ---------------------------------------------------------------------------------------------------
// Alerts (modules/alerts.bicep): who watches the enforcer
// ---------------------------------------------------------------------------------------------------

@description('Comma-separated email addresses that receive the alerts (ENFORCER_ALERT_EMAILS).')
param alertEmailAddresses string = ''

@description('Also post alerts to the Teams webhook URL (Azure Monitor common alert schema; see README).')
param alertsToTeams bool = false

// Keep in step with sweepSchedule: tests/infra/test_bicep_alerts.py checks the defaults agree.
// Source: enforcer/core/health.py (schedule_interval; health and the alert allow MISSED_INTERVALS = 3 of them)
@minValue(1)
@description('Interval of ENFORCER_SWEEP_SCHEDULE in minutes; the no-sweep alert fires after 3 intervals without a sweep.')
param sweepIntervalMinutes int = 5

// Source: enforcer/adapters/telemetry.py (enforcer.sweep.failures counts subscriptions: never negative)
@minValue(0)
@description('Alert when more subscriptions than this fail in one sweep.')
param sweepFailureAlertThreshold int = 5

// Source: enforcer/core/health.py (OUTBOX_MAX_AGE, one hour, is what `health` allows; the alert defaults to it)
@minValue(1)
@description('Alert when a Teams card has waited in the outbox longer than this many minutes.')
param outboxAlertMinutes int = 60

// ---------------------------------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------------------------------

var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
  application: 'defender-ai-enforcer'
}
var hostingResourceGroupName = empty(resourceGroupName) ? 'rg-${environmentName}' : resourceGroupName
var functionAppName = 'func-enforcer-${resourceToken}'
var storageAccountName = 'stenf${resourceToken}'
var keyVaultName = 'kv-enf-${resourceToken}'
var teamsWebhookSecretName = 'teams-webhook-url'
// Written by events.bicep (post-deploy, once the code is deployed and the host has its system keys).
var eventDeliveryKeySecretName = 'eventgrid-extension-key'
var deploymentContainerName = 'app-package-${take(resourceToken, 7)}'
var deadLetterContainerName = 'eventgrid-deadletter'
var vendingTopicName = 'evgt-enforcer-vending-${resourceToken}'
var policyTopicName = 'evgst-enforcer-policy-${resourceToken}'
var resourceEventsTopicName = 'evgst-enforcer-resources'
var managedSubscriptions = empty(managedSubscriptionIds) ? [] : split(replace(managedSubscriptionIds, ' ', ''), ',')

// This cloud's Resource Manager endpoint and token audience, so the app works in sovereign clouds too.
// Source: https://learn.microsoft.com/azure/azure-resource-manager/bicep/bicep-functions-deployment#environment
// environment().resourceManager ends with a slash; the code wants none.
var armEndpoint = endsWith(environment().resourceManager, '/') ? substring(environment().resourceManager, 0, length(environment().resourceManager) - 1) : environment().resourceManager
// authentication.audiences lists the audiences Resource Manager accepts (global Azure:
// https://management.core.windows.net/ and https://management.azure.com/). Prefer the one that is the endpoint
// itself, as the app asks for today (https://management.azure.com/.default); else the cloud's first audience.
var armAudience = contains(environment().authentication.audiences, environment().resourceManager) ? environment().resourceManager : environment().authentication.audiences[0]

// Every setting the code reads (enforcer/core/settings.py SETTINGS); tests/infra checks this block against it.
var enforcerAppSettings = {
  ENFORCER_MODE: enforcerMode
  ENFORCER_PROMPT_EVIDENCE: promptEvidence
  ENFORCER_DATA_SECURITY: dataSecurity
  ENFORCER_MODEL_SECURITY: modelSecurity
  ENFORCER_PROMPT_EVIDENCE_EXTENSION: promptEvidenceExtension
  ENFORCER_DATA_SECURITY_EXTENSION: dataSecurityExtension
  ENFORCER_MODEL_SECURITY_EXTENSION: modelSecurityExtension
  ENFORCER_ARM_ENDPOINT: armEndpoint
  // Token audience for ARM, as environment() gives it (global Azure: https://management.azure.com/). Set
  // ahead of the code reading it (tests/infra/test_bicep_settings.py SET_AHEAD_OF_CODE).
  ENFORCER_ARM_AUDIENCE: armAudience
  // Table endpoint only: the app authenticates with its managed identity, the account has no shared keys.
  ENFORCER_STORAGE: 'https://${storageAccountName}.table.${environment().suffixes.storage}'
  ENFORCER_AUDIT_TABLE: auditTable
  ENFORCER_RUNS_TABLE: runsTable
  // Key Vault reference without a version: the app picks up a rotated secret within 24 hours.
  ENFORCER_TEAMS_WEBHOOK_URL: empty(teamsWebhookUrl) ? '' : '@Microsoft.KeyVault(SecretUri=https://${keyVaultName}${environment().suffixes.keyvaultDns}/secrets/${teamsWebhookSecretName}/)'
  ENFORCER_SUBSCRIPTIONS: subscriptionsInScope
  ENFORCER_EXCLUDE_SUBSCRIPTIONS: excludeSubscriptions
  ENFORCER_EXEMPT_TAG: exemptTag
  ENFORCER_POLICY_DEFINITION_IDS: extraPolicyDefinitionIds
  ENFORCER_SWEEP_SCHEDULE: sweepSchedule
  ENFORCER_SWEEP_CONCURRENCY: string(sweepConcurrency)
  ENFORCER_SWEEP_TIME_BUDGET_SECONDS: string(sweepTimeBudgetSeconds)
  ENFORCER_RESOURCE_GRAPH: resourceGraph
  ENFORCER_FULL_LISTING_MINUTES: string(fullListingMinutes)
  ENFORCER_AUDIT_RETENTION_DAYS: string(auditRetentionDays)
  ENFORCER_UNLISTED_COMPONENTS: unlistedComponents
  ENFORCER_ARM_RETRY_DEADLINE_SECONDS: string(armRetryDeadlineSeconds)
  ENFORCER_EVENT_RETRY_DEADLINE_SECONDS: string(eventRetryDeadlineSeconds)
  ENFORCER_STORE_DEADLINE_SECONDS: string(storeDeadlineSeconds)
  ENFORCER_HEARTBEAT_HOURS: string(heartbeatHours)
  ENFORCER_EVENT_WIRING: eventWiring
  // Filled in by modules/app.bicep from the site's defaultHostName (not known here); never carries the key.
  ENFORCER_EVENT_DELIVERY_URL: ''
  // Key Vault reference: the eventgrid_extension system key, stored by events.bicep after the code is deployed.
  // Until then the reference is unresolved and the app skips wiring (and says so in each sweep's notes).
  ENFORCER_EVENT_DELIVERY_KEY: '@Microsoft.KeyVault(SecretUri=https://${keyVaultName}${environment().suffixes.keyvaultDns}/secrets/${eventDeliveryKeySecretName}/)'
  // The same name events.bicep gives the event subscriptions it creates, so both see one event subscription.
  ENFORCER_EVENT_SUBSCRIPTION_NAME: '${functionAppName}-ai-account-created'
  ENFORCER_EVENTS_RESOURCE_GROUP: eventsResourceGroupName
  ENFORCER_EVENTS_LOCATION: location
  ENFORCER_EVENTS_TOPIC_NAME: resourceEventsTopicName
  ENFORCER_EVENT_DEAD_LETTER_ACCOUNT_ID: resourceId(subscription().subscriptionId, hostingResourceGroupName, 'Microsoft.Storage/storageAccounts', storageAccountName)
  ENFORCER_EVENT_DEAD_LETTER_CONTAINER: deadLetterContainerName
  ENFORCER_ACCOUNT_PROTECTION: accountProtection
  // Empty: the app reads its own object id from its managed identity's token (the identity is created in
  // modules/app.bicep, after these settings are fixed).
  ENFORCER_IDENTITY_OBJECT_ID: ''
  ENFORCER_TUG_OF_WAR_RESTORES: string(tugOfWarRestores)
  ENFORCER_TUG_OF_WAR_MINUTES: string(tugOfWarMinutes)
  ENFORCER_DESIRED_STATE: desiredState
}

// ---------------------------------------------------------------------------------------------------
// Hosting
// ---------------------------------------------------------------------------------------------------

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: hostingResourceGroupName
  location: location
  tags: tags
}

module app 'modules/app.bicep' = {
  name: 'enforcer-app'
  scope: rg
  params: {
    location: location
    tags: tags
    functionAppName: functionAppName
    storageAccountName: storageAccountName
    keyVaultName: keyVaultName
    resourceToken: resourceToken
    deploymentContainerName: deploymentContainerName
    deadLetterContainerName: deadLetterContainerName
    auditTable: auditTable
    runsTable: runsTable
    teamsWebhookSecretName: teamsWebhookSecretName
    teamsWebhookUrl: teamsWebhookUrl
    enforcerAppSettings: enforcerAppSettings
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
  }
}

module topics 'modules/topics.bicep' = {
  name: 'enforcer-topics'
  scope: rg
  params: {
    location: location
    tags: tags
    vendingTopicName: vendingTopicName
  }
}

module alerts 'modules/alerts.bicep' = {
  name: 'enforcer-alerts'
  scope: rg
  params: {
    location: location
    tags: tags
    resourceToken: resourceToken
    // events.bicep derives the same name for the dead-letter alerts.
    actionGroupName: 'ag-${functionAppName}'
    applicationInsightsName: app.outputs.applicationInsightsName
    alertEmailAddresses: empty(alertEmailAddresses) ? [] : split(replace(alertEmailAddresses, ' ', ''), ',')
    alertsToTeams: alertsToTeams
    teamsWebhookUrl: teamsWebhookUrl
    sweepIntervalMinutes: sweepIntervalMinutes
    sweepFailureThreshold: sweepFailureAlertThreshold
    outboxMaxAgeMinutes: outboxAlertMinutes
  }
}

module rbac 'modules/app-rbac.bicep' = {
  name: 'enforcer-app-rbac'
  scope: rg
  params: {
    principalId: app.outputs.identityPrincipalId
    storageAccountName: storageAccountName
    keyVaultName: keyVaultName
    applicationInsightsName: app.outputs.applicationInsightsName
    deadLetterContainerName: deadLetterContainerName
    vendingTopicName: topics.outputs.vendingTopicName
    vendingTopicPrincipalId: topics.outputs.vendingTopicPrincipalId
    vendingPublisherPrincipalIds: empty(vendingPublisherPrincipalIds) ? [] : split(replace(vendingPublisherPrincipalIds, ' ', ''), ',')
    auditReaderPrincipalIds: empty(auditReaderPrincipalIds) ? [] : split(replace(auditReaderPrincipalIds, ' ', ''), ',')
  }
}

// ---------------------------------------------------------------------------------------------------
// Managed subscriptions: the role assignments there when no management group carries them. Their system
// topics (ours, or one that already has the subscription as source) are wired by events.bicep.
// ---------------------------------------------------------------------------------------------------

// A deployment name at subscription scope keeps the location it was first used with (InvalidDeploymentLocation
// otherwise), so the name carries this environment's token: another environment may use another region.
// Source: https://learn.microsoft.com/azure/azure-resource-manager/bicep/deploy-to-subscription#deployment-location-and-name
module managed 'modules/managed-subscription.bicep' = [for subscriptionId in managedSubscriptions: if (empty(managementGroupId)) {
  name: 'enforcer-managed-${take(uniqueString(subscriptionId, resourceToken), 8)}'
  scope: subscription(subscriptionId)
  params: {
    principalId: app.outputs.identityPrincipalId
    pricingRole: pricingRole
  }
}]

// ---------------------------------------------------------------------------------------------------
// Outputs (azd writes them to the environment; the hooks read them)
// ---------------------------------------------------------------------------------------------------

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = app.outputs.functionAppName
output AZURE_FUNCTION_APP_ID string = app.outputs.functionAppId
output AZURE_STORAGE_ACCOUNT_NAME string = storageAccountName
output AZURE_KEY_VAULT_NAME string = keyVaultName
output ENFORCER_IDENTITY_PRINCIPAL_ID string = app.outputs.identityPrincipalId
output ENFORCER_IDENTITY_CLIENT_ID string = app.outputs.identityClientId
output ENFORCER_DEAD_LETTER_CONTAINER string = deadLetterContainerName
output ENFORCER_VENDING_TOPIC_NAME string = topics.outputs.vendingTopicName
output ENFORCER_VENDING_TOPIC_ENDPOINT string = topics.outputs.vendingTopicEndpoint
output ENFORCER_POLICY_TOPIC_NAME string = empty(managementGroupId) ? '' : policyTopicName
output ENFORCER_EVENTS_RESOURCE_GROUP string = eventsResourceGroupName
output ENFORCER_EVENT_DELIVERY_KEY_SECRET_NAME string = eventDeliveryKeySecretName
output ENFORCER_RESOURCE_EVENTS_TOPIC_NAME string = resourceEventsTopicName
output ENFORCER_PRICING_ROLE string = pricingRole
output ENFORCER_ALERT_ACTION_GROUP_ID string = alerts.outputs.actionGroupId
