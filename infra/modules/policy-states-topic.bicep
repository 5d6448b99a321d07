// The PolicyStates system topic of a management group: Azure Policy raises PolicyStateCreated/Changed for every
// subscription under the group, including ones created later. Deployed by events.bicep only when no system
// topic has this source yet: Azure allows one system topic per source, so an existing one is reused instead.
// Source: https://learn.microsoft.com/azure/event-grid/system-topics

param topicName string
param tags object

@description('Management group id (not display name).')
param managementGroupId string

resource topic 'Microsoft.EventGrid/systemTopics@2022-06-15' = {
  name: topicName
  // Global system topics take no managed identity.
  location: 'global'
  tags: tags
  properties: {
    // A management group source is named under its tenant, as Microsoft's tutorial creates this topic.
    // Source: https://learn.microsoft.com/azure/governance/policy/tutorials/route-state-change-events
    source: '/tenants/${tenant().tenantId}/providers/Microsoft.Management/managementGroups/${managementGroupId}'
    topicType: 'Microsoft.PolicyInsights.PolicyStates'
  }
}

output topicId string = topic.id
