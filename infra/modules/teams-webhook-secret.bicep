// The Teams webhook URL as a Key Vault secret; the app reads it through a versionless Key Vault reference.

param keyVaultName string
param secretName string

@secure()
param secretValue string

resource keyVault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

resource secret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: keyVault
  name: secretName
  properties: {
    // checkov:skip=CKV_AZURE_41: a Teams webhook URL has no expiry of its own; rotate it by adding a version (the app reference is versionless).
    value: secretValue
    contentType: 'text/uri-list'
  }
}
