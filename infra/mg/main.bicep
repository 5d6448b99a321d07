// Management-group part: the enforcer identity's roles on every subscription under the group (present and
// future), and the audit policy whose compliance events announce new subscriptions. Deployed by
// infra/hooks/postprovision.sh with `az deployment mg create` (azd deploys at subscription scope only, and a
// subscription deployment cannot target a management group).
targetScope = 'managementGroup'

@description('Object id of the enforcer identity (azd output ENFORCER_IDENTITY_PRINCIPAL_ID).')
param principalId string

// The two built-in roles that write Microsoft.Security/pricings: Security Admin (fb1c8493) and Owner (8e3af657).
// Source: https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/security#security-admin
// Source: https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/privileged#owner
@allowed([
  'SecurityAdmin'
  'Owner'
])
@description('Role that writes Microsoft.Security/pricings (see README.md, "Deploy to Azure", for the trade-off).')
param pricingRole string = 'SecurityAdmin'

@maxLength(24)
@description('Policy assignment name (at most 24 characters at management-group scope).')
param policyAssignmentName string = 'enforcer-defender-ai'

var reader = 'acdd72a7-3385-48ef-bd42-f606fba81ae7'
var securityAdmin = 'fb1c8493-542b-48eb-b624-b4c8fea62acd'
var owner = '8e3af657-a8ff-443c-a75c-2fe8c4bcb635'
var pricingRoleId = pricingRole == 'Owner' ? owner : securityAdmin

// Built-in "Microsoft Defender for AI Services should be enabled" (AuditIfNotExists, no remediation identity).
var auditPolicyDefinitionId = '/providers/Microsoft.Authorization/policyDefinitions/c2c0c6d8-007b-4a48-8d9b-3539bddd8e87'

// Reader: list subscriptions, read tags, Azure Resource Graph queries of the sweep.
resource readerAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(managementGroup().id, principalId, reader)
  properties: {
    roleDefinitionId: tenantResourceId('Microsoft.Authorization/roleDefinitions', reader)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

// Security Admin (fb1c8493, writes Microsoft.Security/pricings) or Owner (8e3af657, when components
// whose enablement assigns roles are enforced), per pricingRole.
resource pricingAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(managementGroup().id, principalId, pricingRoleId)
  properties: {
    roleDefinitionId: tenantResourceId('Microsoft.Authorization/roleDefinitions', pricingRoleId)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

// Event wiring (issue 14): a custom role with only what wiring a subscription needs, defined and assigned at this
// group. Resource groups: read, and write to create the enforcer's events group (RBAC cannot limit the write to
// one group name before the group exists; the code only ever creates ENFORCER_EVENTS_RESOURCE_GROUP). Event Grid
// system topics and their event subscriptions: read and write (no delete: the enforcer never removes wiring).
// A WebHook destination needs no permission on the endpoint (Event Grid validates it by handshake). The
// dead-letter destination is a storage account id: Reader already covers reading it; whether ARM checks more on
// it at event subscription creation is not documented in the sources we checked.
// Source: https://learn.microsoft.com/azure/role-based-access-control/permissions/integration#microsofteventgrid
var wiringRoleName = 'Defender for AI Enforcer event wiring (${managementGroup().name})'
resource wiringRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(managementGroup().id, 'defender-ai-enforcer-event-wiring')
  properties: {
    roleName: wiringRoleName
    description: 'Lets the Defender for AI Enforcer create its events resource group, the Microsoft.Resources.Subscriptions system topic and its event subscription for new AI accounts.'
    type: 'CustomRole'
    permissions: [
      {
        actions: [
          'Microsoft.Resources/subscriptions/resourceGroups/read'
          'Microsoft.Resources/subscriptions/resourceGroups/write'
          'Microsoft.EventGrid/systemTopics/read'
          'Microsoft.EventGrid/systemTopics/write'
          'Microsoft.EventGrid/systemTopics/eventSubscriptions/read'
          'Microsoft.EventGrid/systemTopics/eventSubscriptions/write'
        ]
        notActions: []
      }
    ]
    assignableScopes: [
      managementGroup().id
    ]
  }
}

// Per-account Defender for AI (ENFORCER_ACCOUNT_PROTECTION): read AI accounts and read/write their own
// defenderForAISettings, nothing else. No built-in role is that narrow (Cognitive Services Contributor can also
// delete accounts and list keys), so a custom role, defined at this management group and assignable only here.
// Action names follow ARM's `<resource type>/<read|write>` convention for the child type
// Microsoft.CognitiveServices/accounts/defenderForAISettings (azure-rest-api-specs); the provider's operations
// list was not checked against a live tenant.
var accountSettingsActions = [
  'Microsoft.CognitiveServices/accounts/read'
  'Microsoft.CognitiveServices/accounts/defenderForAISettings/read'
  'Microsoft.CognitiveServices/accounts/defenderForAISettings/write'
]

resource accountSettingsRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(managementGroup().id, 'defender-for-ai-enforcer-account-settings')
  properties: {
    roleName: 'Defender for AI Enforcer account settings (${managementGroup().name})'
    description: 'Read AI accounts and read or write their defenderForAISettings (Defender for AI on each account).'
    type: 'CustomRole'
    permissions: [
      {
        actions: accountSettingsActions
        notActions: []
      }
    ]
    assignableScopes: [
      managementGroup().id
    ]
  }
}

// The event wiring role above (custom, defined at this management group).
resource wiringAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(managementGroup().id, principalId, wiringRole.id)
  properties: {
    roleDefinitionId: wiringRole.id
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

// Defender for AI Enforcer account settings (the custom role above): each AI account's own Defender for AI switch.
resource accountSettingsAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(managementGroup().id, principalId, accountSettingsRole.id)
  properties: {
    roleDefinitionId: accountSettingsRole.id
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

// Management-group tree (issue 20): the sweep reads every subscription's management groups from the Entities API
// (POST /providers/Microsoft.Management/getEntities) when Resource Graph did not describe it. That call is the
// action Microsoft.Management/getEntities/action (azure-docs, resource provider operations), which Reader's
// */read does not include. Our reading, not confirmed: assigned at this group it lets the call list the groups and
// subscriptions under it; without it the sweep notes the ancestry as unknown and goes on.
resource treeRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(managementGroup().id, 'defender-for-ai-enforcer-tree-reader')
  properties: {
    roleName: 'Defender for AI Enforcer tree reader (${managementGroup().name})'
    description: 'List the management groups and subscriptions the identity can see (the Entities API).'
    type: 'CustomRole'
    permissions: [
      {
        actions: [
          'Microsoft.Management/getEntities/action'
        ]
        notActions: []
      }
    ]
    assignableScopes: [
      managementGroup().id
    ]
  }
}

// Defender for AI Enforcer tree reader (the custom role above): the sweep's fallback read of management groups.
resource treeAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(managementGroup().id, principalId, treeRole.id)
  properties: {
    roleDefinitionId: treeRole.id
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

// Every subscription under the group is evaluated; a new one starts NonCompliant, and the PolicyStates
// system topic (modules/topics.bicep) turns that into an event for subscription_created.
resource auditAssignment 'Microsoft.Authorization/policyAssignments@2024-04-01' = {
  name: policyAssignmentName
  properties: {
    displayName: 'Defender for AI Enforcer: Microsoft Defender for AI Services should be enabled'
    description: 'Audit only. Its compliance events tell the Defender for AI Enforcer about new subscriptions.'
    policyDefinitionId: auditPolicyDefinitionId
    enforcementMode: 'Default'
    parameters: {
      effect: {
        value: 'AuditIfNotExists'
      }
    }
  }
}

output policyAssignmentId string = auditAssignment.id
