#!/usr/bin/env sh
# azd postdeploy hook: the system topics (ours, or the existing ones postprovision.sh recorded) and the Event
# Grid subscriptions to the deployed functions (infra/events.bicep). They are created after the code because
# Event Grid validates the webhook when the subscription is created, and the host's eventgrid_extension system
# key exists only once the Event Grid extension has loaded.
# Needs the Azure CLI; the key never leaves ARM (the template reads it with listKeys).
set -eu

: "${AZURE_ENV_NAME:?missing}"
: "${AZURE_SUBSCRIPTION_ID:?missing}"
: "${AZURE_LOCATION:?missing}"
: "${AZURE_RESOURCE_GROUP:?missing: run azd provision first}"
: "${AZURE_FUNCTION_APP_NAME:?missing: run azd provision first}"
: "${AZURE_FUNCTION_APP_ID:?missing: run azd provision first}"

# "a, b" -> ["a","b"]; "" -> []
csv_to_json() {
    printf '%s\n' "$1" | tr -d ' ' | awk -F, '{
        out = "["; n = 0
        for (i = 1; i <= NF; i++) if ($i != "") { out = out (n++ ? "," : "") "\"" $i "\"" }
        print out "]"
    }'
}

# "id1, id2" of system topics -> {"<subscription id of id1, lower case>":"id1",...}; fails on anything that is
# not /subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.EventGrid/systemTopics/<name>.
topics_by_subscription() {
    printf '%s\n' "$1" | tr -d ' ' | tr ',' '\n' | awk -F / '
        $0 == "" { next }
        NF != 9 || $1 != "" || $3 == "" || $5 == "" || $9 == "" || tolower($2) != "subscriptions" ||
        tolower($4) != "resourcegroups" || tolower($6) != "providers" || tolower($7) != "microsoft.eventgrid" ||
        tolower($8) != "systemtopics" {
            print "postdeploy: not a system topic resource id: " $0 > "/dev/stderr"; bad = 1; next
        }
        { out = out (n++ ? "," : "") "\"" tolower($3) "\":\"" $0 "\"" }
        END { if (bad) exit 1; print "{" out "}" }'
}

existing_resource_topics=$(topics_by_subscription "${ENFORCER_EXISTING_RESOURCE_TOPIC_IDS:-}")
existing_policy_topic=$(printf '%s' "${ENFORCER_EXISTING_POLICY_TOPIC_ID:-}" | tr -d ' ')
case "$existing_policy_topic" in
    *,*) echo "postdeploy: ENFORCER_EXISTING_POLICY_TOPIC_ID names one system topic, not a list" >&2; exit 1 ;;
esac
topics_by_subscription "$existing_policy_topic" >/dev/null

# Wake the app and wait until the host has created the eventgrid_extension system key (Flex Consumption
# scales to zero; the first start after a deployment takes a little while).
attempt=0
until az rest --method post \
        --uri "${AZURE_FUNCTION_APP_ID}/host/default/listKeys?api-version=2023-12-01" \
        --query "systemKeys.eventgrid_extension" --output tsv 2>/dev/null | grep -q .; do
    attempt=$((attempt + 1))
    if [ "$attempt" -gt 30 ]; then
        echo "postdeploy: the eventgrid_extension key did not appear; is an Event Grid trigger deployed? Re-run: azd hooks run postdeploy" >&2
        exit 1
    fi
    curl --silent --output /dev/null --max-time 10 "https://$(az functionapp show --ids "$AZURE_FUNCTION_APP_ID" --query defaultHostName --output tsv)/" || true
    sleep 10
done

echo "postdeploy: creating Event Grid subscriptions to $AZURE_FUNCTION_APP_NAME"
az deployment sub create \
    --name "defender-ai-enforcer-events-$AZURE_ENV_NAME" \
    --subscription "$AZURE_SUBSCRIPTION_ID" \
    --location "$AZURE_LOCATION" \
    --template-file infra/events.bicep \
    --parameters environmentName="$AZURE_ENV_NAME" \
                 hostingResourceGroupName="$AZURE_RESOURCE_GROUP" \
                 functionAppName="$AZURE_FUNCTION_APP_NAME" \
                 storageAccountName="$AZURE_STORAGE_ACCOUNT_NAME" \
                 deadLetterContainerName="$ENFORCER_DEAD_LETTER_CONTAINER" \
                 vendingTopicName="$ENFORCER_VENDING_TOPIC_NAME" \
                 managementGroupId="${ENFORCER_MANAGEMENT_GROUP_ID:-}" \
                 policyTopicName="${ENFORCER_POLICY_TOPIC_NAME:-}" \
                 existingPolicyTopicId="$existing_policy_topic" \
                 managedSubscriptionIds="$(csv_to_json "${ENFORCER_MANAGED_SUBSCRIPTION_IDS:-}")" \
                 eventsResourceGroupName="$ENFORCER_EVENTS_RESOURCE_GROUP" \
                 resourceEventsTopicName="$ENFORCER_RESOURCE_EVENTS_TOPIC_NAME" \
                 existingResourceEventsTopicIds="$existing_resource_topics" \
                 extraPolicyDefinitionIds="$(csv_to_json "${ENFORCER_POLICY_DEFINITION_IDS:-}")" \
                 deadLetterAlertThreshold="${ENFORCER_ALERT_DEAD_LETTER_THRESHOLD:-0}" \
                 keyVaultName="${AZURE_KEY_VAULT_NAME:-}" \
                 eventDeliveryKeySecretName="${ENFORCER_EVENT_DELIVERY_KEY_SECRET_NAME:-}" \
    --only-show-errors --output none

# The app reads the delivery key through a Key Vault reference, which the platform resolves at start: restart so
# that event wiring does not wait for the next refresh (up to 24 hours) after the first deployment.
if [ -n "${ENFORCER_EVENT_DELIVERY_KEY_SECRET_NAME:-}" ]; then
    echo "postdeploy: restarting $AZURE_FUNCTION_APP_NAME so it reads the event delivery key"
    az functionapp restart --ids "$AZURE_FUNCTION_APP_ID" --only-show-errors --output none || \
        echo "postdeploy: restart failed; the app picks up the key at its next restart or within 24 hours" >&2
fi

# First contact: check the enforcer's assumptions in this tenant and print the table (never fails the deployment).
sh infra/hooks/doctor.sh
