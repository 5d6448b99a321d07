// Event Grid topics in the hosting resource group: the vending custom topic (Enforcer.SubscriptionCreated,
// CloudEvents 1.0) and, when a management group is under enforcement, its PolicyStates system topic.
// Event subscriptions to the functions are in events.bicep (they need the deployed code).

param location string
param tags object
param vendingTopicName string
param policyTopicName string

@description('Management group id; empty skips the PolicyStates system topic.')
param managementGroupId string

resource vendingTopic 'Microsoft.EventGrid/topics@2022-06-15' = {
  name: vendingTopicName
  location: location
  tags: tags
  // Regional topics support a managed identity: dead-lettering from this topic uses it (no storage keys).
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    // checkov:skip=CKV_AZURE_193: the subscription-vending pipeline publishes from outside any VNet; publishing requires an Entra token with EventGrid Data Sender (local auth is disabled).
    inputSchema: 'CloudEventSchemaV1_0'
    disableLocalAuth: true
    publicNetworkAccess: 'Enabled'
  }
}

// A management group as source: Azure Policy raises PolicyStateCreated/Changed for every subscription under
// it, including ones created later. Global system topics take no managed identity.
resource policyTopic 'Microsoft.EventGrid/systemTopics@2022-06-15' = if (!empty(managementGroupId)) {
  name: policyTopicName
  location: 'global'
  tags: tags
  properties: {
    // A management group source is named under its tenant, as Microsoft's tutorial creates this topic.
    // Source: https://learn.microsoft.com/azure/governance/policy/tutorials/route-state-change-events
    source: '/tenants/${tenant().tenantId}/providers/Microsoft.Management/managementGroups/${managementGroupId}'
    topicType: 'Microsoft.PolicyInsights.PolicyStates'
  }
}

output vendingTopicName string = vendingTopic.name
output vendingTopicEndpoint string = vendingTopic.properties.endpoint
output vendingTopicPrincipalId string = vendingTopic.identity.principalId
output policyTopicName string = empty(managementGroupId) ? '' : policyTopicName
