// Event subscriptions from the topics to the enforcer functions. Deployed after the code by
// infra/hooks/postdeploy.sh (az deployment sub create), into the hosting subscription; the per-subscription
// parts go to the topic's resource group in each managed subscription.
//
//   ai_account_created   <- Microsoft.Resources.Subscriptions system topic of each managed subscription
//                           (ResourceWriteSuccess of Microsoft.CognitiveServices/accounts/write), Event Grid schema
//   subscription_created <- vending custom topic (Enforcer.SubscriptionCreated), CloudEvents 1.0
//   subscription_created <- PolicyStates system topic of the management group (audit policy c2c0c6d8
//                           NonCompliant), delivered as CloudEvents 1.0 so the function sees one schema
targetScope = 'subscription'

@description('Hosting resource group (function app, storage, vending and policy topics).')
param hostingResourceGroupName string

param functionAppName string
param storageAccountName string
param deadLetterContainerName string
param vendingTopicName string

@description('PolicyStates system topic name; empty when no management group is under enforcement.')
param policyTopicName string = ''

@description('Managed subscription ids (each has the resource-events system topic).')
param managedSubscriptionIds array = []

param eventsResourceGroupName string = 'rg-defender-ai-enforcer-events'
param resourceEventsTopicName string = 'evgst-enforcer-resources'

@description('Extra policy definition ids whose NonCompliant states count as a new subscription (ENFORCER_POLICY_DEFINITION_IDS).')
param extraPolicyDefinitionIds array = []

// Built-in "Microsoft Defender for AI Services should be enabled" (AuditIfNotExists), assigned by mg/main.bicep.
var auditPolicyDefinitionId = '/providers/Microsoft.Authorization/policyDefinitions/c2c0c6d8-007b-4a48-8d9b-3539bddd8e87'

var aiAccountEventTypes = [
  'Microsoft.Resources.ResourceWriteSuccess'
]
var aiAccountOperations = [
  'Microsoft.CognitiveServices/accounts/write'
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

module aiAccountSubscriptions 'modules/event-subscription.bicep' = [for subscriptionId in managedSubscriptionIds: {
  name: 'enforcer-evgs-ai-${take(uniqueString(subscriptionId), 8)}'
  scope: resourceGroup(subscriptionId, eventsResourceGroupName)
  params: {
    topicKind: 'system'
    topicName: resourceEventsTopicName
    subscriptionName: 'enforcer-ai-account-created'
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
    deadLetterWithIdentity: false
  }
}]

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
    deadLetterWithIdentity: true
  }
}

module policySubscription 'modules/event-subscription.bicep' = if (!empty(policyTopicName)) {
  name: 'enforcer-evgs-policy'
  scope: resourceGroup(hostingResourceGroupName)
  params: {
    topicKind: 'system'
    topicName: policyTopicName
    subscriptionName: 'enforcer-policy-noncompliant'
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
    deadLetterWithIdentity: false
  }
}
