// The vending custom topic in the hosting resource group (Enforcer.SubscriptionCreated, CloudEvents 1.0).
// The system topics (one per source, so possibly someone else's) and the event subscriptions to the
// functions are in events.bicep, deployed after the code (infra/hooks/postdeploy.sh).

param location string
param tags object
param vendingTopicName string

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

output vendingTopicName string = vendingTopic.name
output vendingTopicEndpoint string = vendingTopic.properties.endpoint
output vendingTopicPrincipalId string = vendingTopic.identity.principalId
