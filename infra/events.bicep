// The system topics and the event subscriptions from the topics to the enforcer functions. Deployed after the
// code by infra/hooks/postdeploy.sh (az deployment sub create), into the hosting subscription; the
// per-subscription parts go to each managed subscription.
//
//   ai_account_created   <- Microsoft.Resources.Subscriptions system topic of each managed subscription
//                           (ResourceWriteSuccess of Microsoft.CognitiveServices/accounts/write, and of
//                           Microsoft.Security/pricings/write and .../accounts/defenderForAISettings/write), Event Grid schema
//   subscription_created <- vending custom topic (Enforcer.SubscriptionCreated), CloudEvents 1.0
//   subscription_created <- PolicyStates system topic of the management group (audit policy c2c0c6d8
//                           NonCompliant), delivered as CloudEvents 1.0 so the function sees one schema
//
// Azure allows one system topic per source ("Only one Azure Event Grid system topic is allowed per source";
// https://learn.microsoft.com/azure/event-grid/system-topics). Where a subscription or the management group
// already has one (another tool's, or another azd environment's), infra/hooks/postprovision.sh finds it and
// this deployment adds our event subscription to it instead of creating ours.
targetScope = 'subscription'

@description('azd environment name: the azd-env-name tag of what this deployment creates, as in main.bicep.')
param environmentName string

@description('Region of the resource groups this deployment creates in managed subscriptions.')
param location string = deployment().location

@description('Hosting resource group (function app, storage, vending topic, our PolicyStates topic).')
param hostingResourceGroupName string

param functionAppName string
param storageAccountName string
param deadLetterContainerName string
param vendingTopicName string

@description('Management group under enforcement (id); empty: no PolicyStates topic and no policy event subscription.')
param managementGroupId string = ''

@description('Name of our PolicyStates system topic in the hosting resource group (main.bicep output ENFORCER_POLICY_TOPIC_NAME).')
param policyTopicName string = ''

@description('Resource id of a PolicyStates system topic that already has the management group as source (ENFORCER_EXISTING_POLICY_TOPIC_ID); reused instead of creating ours.')
param existingPolicyTopicId string = ''

@description('Managed subscription ids (each gets an event subscription on its Microsoft.Resources.Subscriptions system topic).')
param managedSubscriptionIds array = []

param eventsResourceGroupName string = 'rg-defender-ai-enforcer-events'
param resourceEventsTopicName string = 'evgst-enforcer-resources'

@description('Microsoft.Resources.Subscriptions system topics that already exist, by managed subscription id in lower case: {"<subscription id>": "<topic resource id>"} (ENFORCER_EXISTING_RESOURCE_TOPIC_IDS). Reused instead of creating ours.')
param existingResourceEventsTopicIds object = {}

@description('Key Vault of the hosting resource group; with eventDeliveryKeySecretName, where the eventgrid_extension key is stored for event wiring. Empty: not stored.')
param keyVaultName string = ''

@description('Secret name of the eventgrid_extension key (main.bicep output ENFORCER_EVENT_DELIVERY_KEY_SECRET_NAME).')
param eventDeliveryKeySecretName string = ''

@description('Extra policy definition ids whose NonCompliant states count as a new subscription (ENFORCER_POLICY_DEFINITION_IDS).')
param extraPolicyDefinitionIds array = []

// DeadLetteredCount is a count of events, aggregated as Total.
// Source: https://learn.microsoft.com/azure/event-grid/monitor-push-reference
@minValue(0)
@description('Alert when more events than this are dead-lettered within an hour, per event subscription (ENFORCER_ALERT_DEAD_LETTER_THRESHOLD).')
param deadLetterAlertThreshold int = 0

var tags = {
  'azd-env-name': environmentName
  application: 'defender-ai-enforcer'
}

// Built-in "Microsoft Defender for AI Services should be enabled" (AuditIfNotExists), assigned by mg/main.bicep.
var auditPolicyDefinitionId = '/providers/Microsoft.Authorization/policyDefinitions/c2c0c6d8-007b-4a48-8d9b-3539bddd8e87'

var aiAccountEventTypes = [
  'Microsoft.Resources.ResourceWriteSuccess'
]
// New AI accounts, and anyone's write to a plan or to an account's own Defender for AI switch (issue 19: drift is
// restored within seconds; the enforcer recognises its own writes by the caller's object id in the claims).
var aiAccountOperations = [
  'Microsoft.CognitiveServices/accounts/write'
  'Microsoft.Security/pricings/write'
  'Microsoft.CognitiveServices/accounts/defenderForAISettings/write'
]
var vendingEventTypes = [
  'Enforcer.SubscriptionCreated'
]
var policyEventTypes = [
  'Microsoft.PolicyInsights.PolicyStateCreated'
  'Microsoft.PolicyInsights.PolicyStateChanged'
]
var policyDefinitionIds = concat([
  auditPolicyDefinitionId
], extraPolicyDefinitionIds)
var nonCompliant = [
  'NonCompliant'
]

var deadLetterStorageAccountId = resourceId(subscription().subscriptionId, hostingResourceGroupName, 'Microsoft.Storage/storageAccounts', storageAccountName)

// A system topic may be shared with other azd environments (each reuses the one topic of a source), so our
// event subscriptions on system topics carry the function app's name: one per deployment, none overwritten.
var systemTopicSubscriptionPrefix = functionAppName

// The action group main.bicep creates (modules/alerts.bicep), named after the function app.
var alertActionGroupId = resourceId(subscription().subscriptionId, hostingResourceGroupName, 'Microsoft.Insights/actionGroups', 'ag-${functionAppName}')

// Resource ids /subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.EventGrid/systemTopics/<name>:
// split on '/', index 2 is the subscription, 4 the resource group, 8 the topic name.
var policyTopicId = empty(existingPolicyTopicId) ? '/subscriptions/${subscription().subscriptionId}/resourceGroups/${hostingResourceGroupName}/providers/Microsoft.EventGrid/systemTopics/${policyTopicName}' : existingPolicyTopicId
var policyTopicIdParts = split(policyTopicId, '/')

// Per managed subscription: the existing topic named for it, else ours. union() lays a named one over ours,
// so no lookup of a missing key is ever evaluated.
var resourceEventsTopicIds = [for subscriptionId in managedSubscriptionIds: union({
  '${toLower(subscriptionId)}': '/subscriptions/${subscriptionId}/resourceGroups/${eventsResourceGroupName}/providers/Microsoft.EventGrid/systemTopics/${resourceEventsTopicName}'
}, existingResourceEventsTopicIds)[toLower(subscriptionId)]]

// ---------------------------------------------------------------------------------------------------
// System topics we create: only for a source that has none yet
// ---------------------------------------------------------------------------------------------------

// Deployment names carry the function app's name (one per azd environment): at subscription scope a name keeps
// the location it was first used with, and another environment may deploy from another region.
// Source: https://learn.microsoft.com/azure/azure-resource-manager/bicep/deploy-to-subscription#deployment-location-and-name
module resourceEventsTopics 'modules/subscription-events-topic.bicep' = [for subscriptionId in managedSubscriptionIds: if (!contains(existingResourceEventsTopicIds, toLower(subscriptionId))) {
  name: 'enforcer-topic-ai-${take(uniqueString(subscriptionId, functionAppName), 8)}'
  scope: subscription(subscriptionId)
  params: {
    location: location
    tags: tags
    eventsResourceGroupName: eventsResourceGroupName
    topicName: resourceEventsTopicName
  }
}]

module policyTopic 'modules/policy-states-topic.bicep' = if (!empty(managementGroupId) && empty(existingPolicyTopicId)) {
  name: 'enforcer-topic-policy'
  scope: resourceGroup(hostingResourceGroupName)
  params: {
    topicName: policyTopicName
    tags: tags
    managementGroupId: managementGroupId
  }
}

// ---------------------------------------------------------------------------------------------------
// Event subscriptions
// ---------------------------------------------------------------------------------------------------

module aiAccountSubscriptions 'modules/event-subscription.bicep' = [for (subscriptionId, i) in managedSubscriptionIds: {
  name: 'enforcer-evgs-ai-${take(uniqueString(subscriptionId, functionAppName), 8)}'
  scope: resourceGroup(split(resourceEventsTopicIds[i], '/')[2], split(resourceEventsTopicIds[i], '/')[4])
  params: {
    topicKind: 'system'
    topicName: split(resourceEventsTopicIds[i], '/')[8]
    subscriptionName: '${systemTopicSubscriptionPrefix}-ai-account-created'
    functionAppSubscriptionId: subscription().subscriptionId
    functionAppResourceGroup: hostingResourceGroupName
    functionAppName: functionAppName
    functionName: 'ai_account_created'
    includedEventTypes: aiAccountEventTypes
    stringInFilters: {
      'data.operationName': aiAccountOperations
    }
    eventDeliverySchema: 'EventGridSchema'
    deadLetterStorageAccountId: deadLetterStorageAccountId
    deadLetterContainerName: deadLetterContainerName
    deadLetterAlertActionGroupId: alertActionGroupId
    deadLetterAlertThreshold: deadLetterAlertThreshold
    deadLetterWithIdentity: false
  }
  dependsOn: [
    resourceEventsTopics
  ]
}]

// The key the enforcer's own event wiring delivers with (ENFORCER_EVENT_DELIVERY_KEY, a Key Vault reference).
module eventDeliveryKey 'modules/event-delivery-key.bicep' = if (!empty(keyVaultName) && !empty(eventDeliveryKeySecretName)) {
  name: 'enforcer-event-delivery-key'
  scope: resourceGroup(hostingResourceGroupName)
  params: {
    functionAppName: functionAppName
    keyVaultName: keyVaultName
    secretName: eventDeliveryKeySecretName
  }
}

module vendingSubscription 'modules/event-subscription.bicep' = {
  name: 'enforcer-evgs-vending'
  scope: resourceGroup(hostingResourceGroupName)
  params: {
    topicKind: 'custom'
    topicName: vendingTopicName
    subscriptionName: 'enforcer-subscription-created'
    functionAppSubscriptionId: subscription().subscriptionId
    functionAppResourceGroup: hostingResourceGroupName
    functionAppName: functionAppName
    functionName: 'subscription_created'
    includedEventTypes: vendingEventTypes
    eventDeliverySchema: 'CloudEventSchemaV1_0'
    deadLetterStorageAccountId: deadLetterStorageAccountId
    deadLetterContainerName: deadLetterContainerName
    deadLetterAlertActionGroupId: alertActionGroupId
    deadLetterAlertThreshold: deadLetterAlertThreshold
    deadLetterWithIdentity: true
  }
}

module policySubscription 'modules/event-subscription.bicep' = if (!empty(managementGroupId)) {
  name: 'enforcer-evgs-policy-${take(uniqueString(functionAppName), 8)}'
  scope: resourceGroup(policyTopicIdParts[2], policyTopicIdParts[4])
  params: {
    topicKind: 'system'
    topicName: policyTopicIdParts[8]
    subscriptionName: '${systemTopicSubscriptionPrefix}-policy-noncompliant'
    functionAppSubscriptionId: subscription().subscriptionId
    functionAppResourceGroup: hostingResourceGroupName
    functionAppName: functionAppName
    functionName: 'subscription_created'
    includedEventTypes: policyEventTypes
    stringInFilters: {
      'data.policyDefinitionId': policyDefinitionIds
      'data.complianceState': nonCompliant
    }
    eventDeliverySchema: 'CloudEventSchemaV1_0'
    deadLetterStorageAccountId: deadLetterStorageAccountId
    deadLetterContainerName: deadLetterContainerName
    deadLetterAlertActionGroupId: alertActionGroupId
    deadLetterAlertThreshold: deadLetterAlertThreshold
    deadLetterWithIdentity: false
  }
  dependsOn: [
    policyTopic
  ]
}
