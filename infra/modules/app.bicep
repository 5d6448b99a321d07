// Hosting resources in one resource group: user-assigned identity, storage (identity-only), Log Analytics +
// Application Insights, Key Vault (RBAC) with the Teams webhook secret, Flex Consumption plan and the app.

param location string
param tags object
param functionAppName string
param storageAccountName string
param keyVaultName string
param resourceToken string
param deploymentContainerName string
param deadLetterContainerName string
param auditTable string
param runsTable string
param teamsWebhookSecretName string

@secure()
param teamsWebhookUrl string

@description('ENFORCER_* app settings, built in main.bicep.')
param enforcerAppSettings object

param maximumInstanceCount int
param instanceMemoryMB int

@description('Log Analytics retention in days.')
param logRetentionDays int = 30

// The app runs as a user-assigned identity: its principal id exists before the app, so role
// assignments at management-group scope (mg/main.bicep) can be made independently of the app.
resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: 'id-enforcer-${resourceToken}'
  location: location
  tags: tags
}

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: storageAccountName
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    // Geo-redundant: the audit tables are the record of every decision.
    name: 'Standard_GRS'
  }
  properties: {
    // checkov:skip=CKV_AZURE_43: the name is a parameter; main.bicep builds it as 'stenf' + uniqueString(), 18 lowercase letters and digits.
    // checkov:skip=CKV_AZURE_35: Flex Consumption without VNet integration reaches storage over the public endpoint; access is Entra ID only (allowSharedKeyAccess false).
    // checkov:skip=CKV_AZURE_59: same reason as CKV_AZURE_35; private endpoints need the VNet variant, not in this template.
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    allowCrossTenantReplication: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
    encryption: {
      keySource: 'Microsoft.Storage'
      requireInfrastructureEncryption: true
      services: {
        blob: {
          enabled: true
        }
        table: {
          enabled: true
        }
      }
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
  properties: {
    deleteRetentionPolicy: {
      enabled: true
      days: 7
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: 7
    }
  }
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource deadLetterContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deadLetterContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource auditTableResource 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = {
  parent: tableService
  name: auditTable
}

resource runsTableResource 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = {
  parent: tableService
  name: runsTable
}

resource logAnalytics 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: 'log-enforcer-${resourceToken}'
  location: location
  tags: tags
  properties: {
    retentionInDays: logRetentionDays
    sku: {
      name: 'PerGB2018'
    }
  }
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: 'appi-enforcer-${resourceToken}'
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logAnalytics.id
    // Telemetry is accepted only with an Entra token (Monitoring Metrics Publisher, app-rbac.bicep).
    DisableLocalAuth: true
  }
}

resource keyVault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: keyVaultName
  location: location
  tags: tags
  properties: {
    // checkov:skip=CKV_AZURE_109: the app resolves the Key Vault reference over the public endpoint (no VNet integration); access is RBAC-only, granted to the app identity on this vault alone.
    // checkov:skip=CKV_AZURE_189: same reason as CKV_AZURE_109.
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

// A module, not a conditional resource: the secret exists only when a URL is given.
module teamsWebhookSecret 'teams-webhook-secret.bicep' = if (!empty(teamsWebhookUrl)) {
  name: 'enforcer-teams-webhook-secret'
  params: {
    keyVaultName: keyVault.name
    secretName: teamsWebhookSecretName
    secretValue: teamsWebhookUrl
  }
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: 'plan-enforcer-${resourceToken}'
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    // checkov:skip=CKV_AZURE_225: zone redundancy for Flex Consumption depends on the region; instances are ephemeral and Event Grid retries delivery for 24 hours.
    reserved: true
  }
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  name: functionAppName
  location: location
  tags: union(tags, {
    'azd-service-name': 'api'
  })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identity.id}': {}
    }
  }
  properties: {
    // checkov:skip=CKV_AZURE_17: Event Grid delivers over HTTPS without a client certificate; requiring one would reject every event.
    // checkov:skip=CKV_AZURE_222: Event Grid delivers events to the public endpoint (webhook with the eventgrid_extension key); no private link in this template.
    // checkov:skip=CKV_AZURE_212: Flex Consumption scales to zero by design; Event Grid retries and the drift sweep cover cold starts.
    // checkov:skip=CKV_AZURE_213: the app serves no HTTP API to probe; Event Grid retries a failed delivery on another instance.
    serverFarmId: plan.id
    httpsOnly: true
    // The Key Vault reference in ENFORCER_TEAMS_WEBHOOK_URL resolves with this identity.
    keyVaultReferenceIdentity: identity.id
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identity.id
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'python'
        version: '3.11'
      }
    }
  }
}

resource appSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  // checkov reads this 'appsettings' config as if it were the 'web' config, hence these findings:
  // checkov:skip=CKV_AZURE_13: App Service Authentication would reject Event Grid deliveries, which authenticate with the eventgrid_extension system key; there is no user-facing endpoint.
  // checkov:skip=CKV_AZURE_63: App Service file-system HTTP logs do not exist on Flex Consumption; requests go to Application Insights.
  // checkov:skip=CKV_AZURE_65: detailed error pages are an App Service file-system log; failures go to Application Insights.
  parent: functionApp
  // checkov:skip=CKV_AZURE_66: failed request tracing is an App Service file-system log; failures go to Application Insights.
  // checkov:skip=CKV_AZURE_80: a Python app; there is no .NET Framework version.
  // checkov:skip=CKV_AZURE_88: Flex Consumption runs the package from the blob deployment container; no Azure Files content share.
  // checkov:skip=CKV_AZURE_222: Event Grid delivers to the public endpoint (see the site above).
  name: 'appsettings'
  properties: union(enforcerAppSettings, {
    // Functions host storage, identity-based (Flex Consumption: no FUNCTIONS_WORKER_RUNTIME or
    // FUNCTIONS_EXTENSION_VERSION; the runtime is set in functionAppConfig). Service URIs built from this
    // cloud's storage suffix: AzureWebJobsStorage__accountName infers *.core.windows.net endpoints, which the
    // doc says does not work in a sovereign cloud or with custom DNS.
    // Source: https://learn.microsoft.com/azure/azure-functions/functions-reference#connecting-to-host-storage-with-an-identity
    AzureWebJobsStorage__blobServiceUri: 'https://${storage.name}.blob.${environment().suffixes.storage}'
    AzureWebJobsStorage__queueServiceUri: 'https://${storage.name}.queue.${environment().suffixes.storage}'
    AzureWebJobsStorage__tableServiceUri: 'https://${storage.name}.table.${environment().suffixes.storage}'
    AzureWebJobsStorage__credential: 'managedidentity'
    AzureWebJobsStorage__clientId: identity.properties.clientId
    APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsights.properties.ConnectionString
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identity.properties.clientId};Authorization=AAD'
    // DefaultAzureCredential picks the user-assigned identity from this (ARM, Resource Graph, Tables).
    AZURE_CLIENT_ID: identity.properties.clientId
    // Where event wiring delivers (core/wiring.py): the Event Grid extension's webhook, without the key.
    ENFORCER_EVENT_DELIVERY_URL: 'https://${functionApp.properties.defaultHostName}/runtime/webhooks/EventGrid?functionName=ai_account_created'
  })
  dependsOn: [
    deploymentContainer
  ]
}

output functionAppName string = functionApp.name
output functionAppId string = functionApp.id
output identityPrincipalId string = identity.properties.principalId
output identityClientId string = identity.properties.clientId
output applicationInsightsName string = applicationInsights.name
output storageAccountId string = storage.id
