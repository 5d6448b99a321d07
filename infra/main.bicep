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
param sweepSchedule string = '0 */15 * * * *'

// Source: enforcer/core/settings.py (Settings.from_env accepts 1 to 256)
@minValue(1)
@maxValue(256)
@description('ENFORCER_SWEEP_CONCURRENCY: subscriptions checked at once by the sweep.')
param sweepConcurrency int = 16

// Source: enforcer/core/settings.py (at least 10) and host.json (below its functionTimeout of 10 minutes)
@minValue(10)
@maxValue(570)
@description('ENFORCER_SWEEP_TIME_BUDGET_SECONDS: must stay below functionTimeout in host.json (10 minutes).')
param sweepTimeBudgetSeconds int = 480

// Source: enforcer/core/settings.py (Settings.from_env accepts each of these values; tests/infra checks it)
@allowed([
  'on'
  'off'
])
@description('ENFORCER_RESOURCE_GRAPH: `on` asks Azure Resource Graph for candidates first; `off` GETs each subscription.')
param resourceGraph string = 'on'

// Source: enforcer/core/settings.py (Settings.from_env accepts each of these values; tests/infra checks it)
@allowed([
  'on'
  'report'
  'unmanaged'
])
@description('ENFORCER_ACCOUNT_PROTECTION: `on` enables Defender for AI on each AI account whose own setting is Disabled; `report` only records and notifies; `unmanaged` does not read accounts.')
param accountProtection string = 'on'

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

@description('Resource group created (by events.bicep) in each managed subscription that has no Microsoft.Resources.Subscriptions system topic yet, for ours.')
param eventsResourceGroupName string = 'rg-defender-ai-enforcer-events'

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
  ENFORCER_ACCOUNT_PROTECTION: accountProtection
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
output ENFORCER_RESOURCE_EVENTS_TOPIC_NAME string = resourceEventsTopicName
output ENFORCER_PRICING_ROLE string = pricingRole
