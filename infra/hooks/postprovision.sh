#!/usr/bin/env sh
# azd postprovision hook: management-group deployment (infra/mg/main.bicep) when a management group is under
# enforcement: Reader + the pricing role for the enforcer identity, and the audit policy assignment whose
# compliance events announce new subscriptions. azd deploys at subscription scope only, so this runs here.
# Needs the Azure CLI, logged in as someone who may assign roles and policies on the management group.
set -eu

if [ -z "${ENFORCER_MANAGEMENT_GROUP_ID:-}" ]; then
    echo "postprovision: ENFORCER_MANAGEMENT_GROUP_ID not set; roles were assigned per subscription (ENFORCER_MANAGED_SUBSCRIPTION_IDS)."
    exit 0
fi

: "${ENFORCER_IDENTITY_PRINCIPAL_ID:?missing: run azd provision first}"
: "${AZURE_LOCATION:?missing}"

echo "postprovision: assigning roles and the audit policy on management group $ENFORCER_MANAGEMENT_GROUP_ID"
az deployment mg create \
    --name "defender-ai-enforcer-${AZURE_ENV_NAME:-default}" \
    --management-group-id "$ENFORCER_MANAGEMENT_GROUP_ID" \
    --location "$AZURE_LOCATION" \
    --template-file infra/mg/main.bicep \
    --parameters principalId="$ENFORCER_IDENTITY_PRINCIPAL_ID" \
                 pricingRole="${ENFORCER_PRICING_ROLE:-SecurityAdmin}" \
    --only-show-errors --output none
