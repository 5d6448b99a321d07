// One managed subscription: a resource group holding its Microsoft.Resources.Subscriptions system topic (a
// subscription's system topic must live in that subscription), and, when no management group carries them,
// the enforcer's role assignments at subscription scope.
targetScope = 'subscription'

param location string
param tags object
param eventsResourceGroupName string
param topicName string

@description('Object id of the enforcer identity.')
param principalId string

@description('Assign Reader and the pricing role here (false when a management group assignment covers it).')
param assignRoles bool

// The two built-in roles that write Microsoft.Security/pricings: Security Admin (fb1c8493) and Owner (8e3af657).
// Source: https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/security#security-admin
// Source: https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/privileged#owner
@allowed([
  'SecurityAdmin'
  'Owner'
])
param pricingRole string

var reader = 'acdd72a7-3385-48ef-bd42-f606fba81ae7'
var securityAdmin = 'fb1c8493-542b-48eb-b624-b4c8fea62acd'
var owner = '8e3af657-a8ff-443c-a75c-2fe8c4bcb635'
var pricingRoleId = pricingRole == 'Owner' ? owner : securityAdmin

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

// Reader: list subscriptions, read tags, Azure Resource Graph queries of the sweep.
resource readerAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (assignRoles) {
  name: guid(subscription().id, principalId, reader)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', reader)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

// Security Admin (fb1c8493, writes Microsoft.Security/pricings) or Owner (8e3af657, when components
// whose enablement assigns roles are enforced), per pricingRole.
resource pricingAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (assignRoles) {
  name: guid(subscription().id, principalId, pricingRoleId)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', pricingRoleId)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

output topicId string = topic.outputs.topicId
