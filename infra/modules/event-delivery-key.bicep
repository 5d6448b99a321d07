// The Functions host's eventgrid_extension system key, stored in the app's Key Vault so that the enforcer can
// wire new subscriptions itself (ENFORCER_EVENT_DELIVERY_KEY is a Key Vault reference to this secret; the app's
// identity already has Key Vault Secrets User on the vault). Deployed by events.bicep after the code, when the
// host has its keys. The value goes from listKeys() to the vault inside ARM: it is never in an output or a log.

param functionAppName string
param keyVaultName string
param secretName string

resource functionApp 'Microsoft.Web/sites@2024-04-01' existing = {
  name: functionAppName
}

resource keyVault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

// WebApps_ListHostKeys (POST <site>/host/default/listkeys), as modules/event-subscription.bicep reads it.
var hostKeys = listKeys('${functionApp.id}/host/default', '2024-04-01')

resource secret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: keyVault
  name: secretName
  properties: {
    // checkov:skip=CKV_AZURE_41: the host key has no expiry; each post-deploy run stores the current key (the app reference is versionless).
    value: hostKeys.systemKeys.eventgrid_extension
    contentType: 'text/plain'
  }
}
