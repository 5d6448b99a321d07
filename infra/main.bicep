// Defender for AI Enforcer: hosting (Function App on Flex Consumption, storage, monitoring, Key Vault,
// Event Grid topics) and the wiring in each managed subscription. Deployed by `azd provision` at
// subscription scope. Management-group parts (role assignments, audit policy) live in mg/main.bicep and
// the event subscriptions in events.bicep: azd hooks deploy both (see README.md, "Deploy to Azure").
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
// App settings the enforcer reads (enforcer/settings.py SETTINGS). Defaults equal the code's defaults.
// ---------------------------------------------------------------------------------------------------

@allowed([
  'enforce'
  'audit'
])
@description('ENFORCER_MODE: `enforce` writes changes; `audit` decides and reports but never writes.')
param enforcerMode string = 'enforce'

@allowed([
  'on'
  'off'
  'unmanaged'
])
@description('ENFORCER_PROMPT_EVIDENCE: suspicious prompt evidence component.')
param promptEvidence string = 'on'

@allowed([
  'on'
  'off'
  'unmanaged'
])
@description('ENFORCER_DATA_SECURITY: data security for AI interactions (Purview; needs its own licence).')
param dataSecurity string = 'unmanaged'

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
param sweepSchedule string = '0 */15 * * * *'

@minValue(1)
@maxValue(256)
@description('ENFORCER_SWEEP_CONCURRENCY: subscriptions checked at once by the sweep.')
param sweepConcurrency int = 16

@minValue(10)
@maxValue(570)
@description('ENFORCER_SWEEP_TIME_BUDGET_SECONDS: must stay below functionTimeout in host.json (10 minutes).')
param sweepTimeBudgetSeconds int = 480

@allowed([
  'on'
  'off'
])
@description('ENFORCER_RESOURCE_GRAPH: `on` asks Azure Resource Graph for candidates first; `off` GETs each subscription.')
param resourceGraph string = 'on'

@allowed([
  'keep'
  'off'
])
@description('ENFORCER_UNLISTED_COMPONENTS: `keep` leaves plan components no setting names as Azure chose; `off` turns them off.')
param unlistedComponents string = 'keep'

@minValue(5)
@maxValue(3600)
@description('ENFORCER_ARM_RETRY_DEADLINE_SECONDS: seconds one ARM call of the sweep keeps retrying throttling.')
param armRetryDeadlineSeconds int = 120

@minValue(5)
@maxValue(25)
@description('ENFORCER_EVENT_RETRY_DEADLINE_SECONDS: seconds one event\'s enforcement keeps retrying throttling (Event Grid waits 30 s).')
param eventRetryDeadlineSeconds int = 20

// ---------------------------------------------------------------------------------------------------
// Scope of enforcement and permissions
// ---------------------------------------------------------------------------------------------------

@description('Comma-separated subscription ids to watch for new AI accounts (one Event Grid system topic each). When managementGroupId is empty they also get the role assignments.')
param managedSubscriptionIds string = ''

@description('Management group under enforcement (id, not display name). Empty: no PolicyStates topic here and no management-group deployment.')
param managementGroupId string = ''

@allowed([
  'SecurityAdmin'
  'Owner'
])
@description('Role that writes Microsoft.Security/pricings. SecurityAdmin: plan tier and components that need no role assignment. Owner: also components whose enablement assigns roles (as built-in policy 359a48a3 does).')
param pricingRole string = 'SecurityAdmin'

@description('Resource group created in each managed subscription for its Event Grid system topic.')
param eventsResourceGroupName string = 'rg-defender-ai-enforcer-events'

@description('Comma-separated object ids allowed to publish Enforcer.SubscriptionCreated to the vending topic (EventGrid Data Sender).')
param vendingPublisherPrincipalIds string = ''

@description('Comma-separated object ids allowed to read the audit tables (Storage Table Data Reader), e.g. the operators.')
param auditReaderPrincipalIds string = ''

@minValue(1)
@maxValue(1000)
@description('Flex Consumption scale-out ceiling; one identity shares ARM throttling limits across instances.')
param maximumInstanceCount int = 40

@allowed([
  2048
  4096
])
@description('Flex Consumption instance memory (MB).')
param instanceMemoryMB int = 2048

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
var deploymentContainerName = 'app-package-${take(resourceToken, 7)}'
var deadLetterContainerName = 'eventgrid-deadletter'
var vendingTopicName = 'evgt-enforcer-vending-${resourceToken}'
var policyTopicName = 'evgst-enforcer-policy-${resourceToken}'
var resourceEventsTopicName = 'evgst-enforcer-resources'
var managedSubscriptions = empty(managedSubscriptionIds) ? [] : split(replace(managedSubscriptionIds, ' ', ''), ',')

// environment().resourceManager ends with a slash; the code wants none.
var armEndpoint = endsWith(environment().resourceManager, '/') ? substring(environment().resourceManager, 0, length(environment().resourceManager) - 1) : environment().resourceManager

// Every setting the code reads (enforcer/settings.py SETTINGS); tests/infra checks this block against it.
var enforcerAppSettings = {
  ENFORCER_MODE: enforcerMode
  ENFORCER_PROMPT_EVIDENCE: promptEvidence
  ENFORCER_DATA_SECURITY: dataSecurity
  ENFORCER_MODEL_SECURITY: modelSecurity
  ENFORCER_PROMPT_EVIDENCE_EXTENSION: promptEvidenceExtension
  ENFORCER_DATA_SECURITY_EXTENSION: dataSecurityExtension
  ENFORCER_MODEL_SECURITY_EXTENSION: modelSecurityExtension
  ENFORCER_ARM_ENDPOINT: armEndpoint
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
  ENFORCER_UNLISTED_COMPONENTS: unlistedComponents
  ENFORCER_ARM_RETRY_DEADLINE_SECONDS: string(armRetryDeadlineSeconds)
  ENFORCER_EVENT_RETRY_DEADLINE_SECONDS: string(eventRetryDeadlineSeconds)
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
    policyTopicName: policyTopicName
    managementGroupId: managementGroupId
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
// Managed subscriptions: resource group + Microsoft.Resources.Subscriptions system topic in each, and the
// role assignments there when no management group carries them.
// ---------------------------------------------------------------------------------------------------

module managed 'modules/managed-subscription.bicep' = [for subscriptionId in managedSubscriptions: {
  name: 'enforcer-managed-${take(uniqueString(subscriptionId), 8)}'
  scope: subscription(subscriptionId)
  params: {
    location: location
    tags: tags
    eventsResourceGroupName: eventsResourceGroupName
    topicName: resourceEventsTopicName
    principalId: app.outputs.identityPrincipalId
    assignRoles: empty(managementGroupId)
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
output ENFORCER_POLICY_TOPIC_NAME string = topics.outputs.policyTopicName
output ENFORCER_EVENTS_RESOURCE_GROUP string = eventsResourceGroupName
output ENFORCER_RESOURCE_EVENTS_TOPIC_NAME string = resourceEventsTopicName
output ENFORCER_PRICING_ROLE string = pricingRole
