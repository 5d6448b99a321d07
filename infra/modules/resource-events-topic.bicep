// The Microsoft.Resources.Subscriptions system topic of the subscription this resource group is in: it sees
// every control-plane write in the subscription (filtered to AI accounts by the event subscription). Deployed
// through subscription-events-topic.bicep, only where the subscription has no such topic yet.

param topicName string
param tags object

resource topic 'Microsoft.EventGrid/systemTopics@2022-06-15' = {
  name: topicName
  // Subscription and resource-group system topics are global; global system topics take no managed identity.
  location: 'global'
  tags: tags
  properties: {
    source: subscription().id
    topicType: 'Microsoft.Resources.Subscriptions'
  }
}

output topicId string = topic.id
