#!/usr/bin/env sh
# azd postprovision hook, in two parts.
#
# 1. Existing system topics. Azure allows one Event Grid system topic per source
#    (https://learn.microsoft.com/azure/event-grid/system-topics). When a managed subscription already has a
#    Microsoft.Resources.Subscriptions topic, or the management group a PolicyStates topic (another tool's, or
#    another azd environment's), infra/events.bicep (postdeploy) must add our event subscription to that topic
#    instead of creating ours. This finds them with `az eventgrid system-topic list` and records them in the azd
#    environment, where you can also set them yourself:
#      ENFORCER_EXISTING_RESOURCE_TOPIC_IDS  comma-separated system topic resource ids, one per managed subscription
#      ENFORCER_EXISTING_POLICY_TOPIC_ID     system topic resource id for the management group
#    A source that already has a value there is not looked up again; ours (the names main.bicep outputs) never
#    counts as existing, so a second run records nothing new.
# 2. The management-group deployment (infra/mg/main.bicep) when a management group is under enforcement: Reader
#    + the pricing role for the enforcer identity, and the audit policy assignment whose compliance events
#    announce new subscriptions. azd deploys at subscription scope only, so this runs here.
#
# Needs the Azure CLI, logged in as someone who may read the managed subscriptions and, with a management group,
# assign roles and policies on it.
set -eu

: "${AZURE_SUBSCRIPTION_ID:?missing}"
: "${AZURE_RESOURCE_GROUP:?missing: run azd provision first}"
: "${ENFORCER_EVENTS_RESOURCE_GROUP:?missing: run azd provision first}"
: "${ENFORCER_RESOURCE_EVENTS_TOPIC_NAME:?missing: run azd provision first}"

lower() {
    printf '%s' "$1" | tr 'ABCDEFGHIJKLMNOPQRSTUVWXYZ' 'abcdefghijklmnopqrstuvwxyz'
}

# System topics of one subscription, one "id<TAB>source<TAB>topicType" line each.
list_system_topics() {
    if ! az eventgrid system-topic list --subscription "$1" \
            --query "[].[id, source || properties.source, topicType || properties.topicType]" \
            --output tsv --only-show-errors; then
        echo "postprovision: cannot list the system topics of subscription $1; if one there has a source we need," \
             "name it yourself (README.md, \"Deploy to Azure\", Known limits)" >&2
    fi
}

# find_system_topic SUBSCRIPTION SOURCE TOPIC_TYPE OUR_TOPIC_ID
# Prints the id of a system topic in SUBSCRIPTION with that source and type, unless it is ours. A topic of
# another type on the same source cannot carry our events; it is reported, since Azure may refuse ours beside it.
find_system_topic() {
    list_system_topics "$1" | awk -F '\t' -v source="$(lower "$2")" -v type="$(lower "$3")" -v ours="$(lower "$4")" '
        tolower($2) != source || tolower($1) == ours { next }
        tolower($3) == type { print $1; found = 1; exit }
        { other = $1 " (" $3 ")" }
        END {
            if (!found && other != "")
                print "postprovision: " other " has source " source " already; Azure allows one system topic per source, so creating ours may fail" > "/dev/stderr"
        }'
}

managed=$(printf '%s' "${ENFORCER_MANAGED_SUBSCRIPTION_IDS:-}" | tr ',' ' ')

# --- 1a. each managed subscription's Microsoft.Resources.Subscriptions topic -----------------------------------
recorded="${ENFORCER_EXISTING_RESOURCE_TOPIC_IDS:-}"
changed=""
for subscription in $managed; do
    case ",$(lower "$recorded" | tr -d ' ')," in
        *",/subscriptions/$(lower "$subscription")/"*) continue ;;
    esac
    ours="/subscriptions/$subscription/resourceGroups/$ENFORCER_EVENTS_RESOURCE_GROUP/providers/Microsoft.EventGrid/systemTopics/$ENFORCER_RESOURCE_EVENTS_TOPIC_NAME"
    topic=$(find_system_topic "$subscription" "/subscriptions/$subscription" Microsoft.Resources.Subscriptions "$ours")
    if [ -n "$topic" ]; then
        echo "postprovision: subscription $subscription already has system topic $topic; our event subscription goes there"
        recorded="${recorded:+$recorded,}$topic"
        changed=1
    fi
done
if [ -n "$changed" ]; then
    azd env set ENFORCER_EXISTING_RESOURCE_TOPIC_IDS "$recorded"
fi

if [ -z "${ENFORCER_MANAGEMENT_GROUP_ID:-}" ]; then
    echo "postprovision: ENFORCER_MANAGEMENT_GROUP_ID not set; roles were assigned per subscription (ENFORCER_MANAGED_SUBSCRIPTION_IDS)."
    exit 0
fi

# --- 1b. the management group's PolicyStates topic ----------------------------------------------------------
if [ -z "${ENFORCER_EXISTING_POLICY_TOPIC_ID:-}" ]; then
    tenant="${AZURE_TENANT_ID:-$(az account show --query tenantId --output tsv)}"
    # The form Microsoft's tutorial creates this topic with (and infra/modules/policy-states-topic.bicep).
    source="/tenants/$tenant/providers/Microsoft.Management/managementGroups/$ENFORCER_MANAGEMENT_GROUP_ID"
    ours="/subscriptions/$AZURE_SUBSCRIPTION_ID/resourceGroups/$AZURE_RESOURCE_GROUP/providers/Microsoft.EventGrid/systemTopics/${ENFORCER_POLICY_TOPIC_NAME:-}"
    # A management group's topic may sit in any subscription: look in the hosting one and the managed ones.
    searched=" "
    for subscription in "$AZURE_SUBSCRIPTION_ID" $managed; do
        case "$searched" in *" $(lower "$subscription") "*) continue ;; esac
        searched="$searched$(lower "$subscription") "
        topic=$(find_system_topic "$subscription" "$source" Microsoft.PolicyInsights.PolicyStates "$ours")
        if [ -n "$topic" ]; then
            echo "postprovision: management group $ENFORCER_MANAGEMENT_GROUP_ID already has system topic $topic; our event subscription goes there"
            azd env set ENFORCER_EXISTING_POLICY_TOPIC_ID "$topic"
            break
        fi
    done
fi

# --- 2. roles and the audit policy on the management group --------------------------------------------------
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
