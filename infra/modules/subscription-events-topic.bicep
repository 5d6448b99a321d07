// Our Microsoft.Resources.Subscriptions system topic for one managed subscription, in a resource group of its
// own there (a subscription's system topic lives in that subscription). Deployed by events.bicep only when the
// subscription has no such topic yet: Azure allows one system topic per source, so an existing one is reused.
// Source: https://learn.microsoft.com/azure/event-grid/system-topics
targetScope = 'subscription'

param location string
param tags object
param eventsResourceGroupName string
param topicName string

resource eventsResourceGroup 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: eventsResourceGroupName
  location: location
  tags: tags
}

module topic 'resource-events-topic.bicep' = {
  name: 'enforcer-resource-events-topic'
  scope: eventsResourceGroup
  params: {
    topicName: topicName
    tags: tags
  }
}

output topicId string = topic.outputs.topicId
