// The enforcer's role assignments in one managed subscription, deployed by main.bicep when no management group
// carries them. The subscription's system topic and event subscription are in events.bicep.
targetScope = 'subscription'

@description('Object id of the enforcer identity.')
param principalId string

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

// Reader: list subscriptions, read tags, Azure Resource Graph queries of the sweep.
resource readerAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(subscription().id, principalId, reader)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', reader)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

// Security Admin (fb1c8493, writes Microsoft.Security/pricings) or Owner (8e3af657, when components
// whose enablement assigns roles are enforced), per pricingRole.
resource pricingAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(subscription().id, principalId, pricingRoleId)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', pricingRoleId)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

// Per-account Defender for AI: the same narrow custom role as infra/mg/main.bicep, defined in this subscription
// (role names are unique per tenant, so the name carries the subscription id).
resource accountSettingsRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(subscription().id, 'defender-for-ai-enforcer-account-settings')
  properties: {
    roleName: 'Defender for AI Enforcer account settings (${subscription().subscriptionId})'
    description: 'Read AI accounts and read or write their defenderForAISettings (Defender for AI on each account).'
    type: 'CustomRole'
    permissions: [
      {
        actions: [
          'Microsoft.CognitiveServices/accounts/read'
          'Microsoft.CognitiveServices/accounts/defenderForAISettings/read'
          'Microsoft.CognitiveServices/accounts/defenderForAISettings/write'
        ]
        notActions: []
      }
    ]
    assignableScopes: [
      subscription().id
    ]
  }
}

// Defender for AI Enforcer account settings (the custom role above): each AI account's own Defender for AI switch.
resource accountSettingsAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(subscription().id, principalId, accountSettingsRole.id)
  properties: {
    roleDefinitionId: accountSettingsRole.id
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}
