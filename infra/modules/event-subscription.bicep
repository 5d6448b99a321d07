// One Event Grid event subscription delivering to one function of the enforcer app, with StringIn advanced
// filters, retries for 24 hours and dead-lettering to a blob container.
//
// Delivery is a WebHook to /runtime/webhooks/EventGrid with the host's eventgrid_extension system key: the
// pattern Microsoft's Flex Consumption samples use (their post-deploy step reads the extension system key
// of the host, <site>/host/default). It needs the code deployed and the Event Grid extension loaded, so
// this module is deployed after `azd deploy` (infra/hooks/postdeploy.sh).

// The two parent types this module declares an event subscription under.
// Source: https://learn.microsoft.com/azure/templates/microsoft.eventgrid/systemtopics/eventsubscriptions
// Source: https://learn.microsoft.com/azure/templates/microsoft.eventgrid/topics/eventsubscriptions
@allowed([
  'system'
  'custom'
])
@description('Parent topic kind: Microsoft.EventGrid/systemTopics or Microsoft.EventGrid/topics.')
param topicKind string

@description('Topic name in this resource group.')
param topicName string

@description('Event subscription name.')
param subscriptionName string

param functionAppSubscriptionId string
param functionAppResourceGroup string
param functionAppName string

@description('Function (trigger) name in function_app.py.')
param functionName string

@description('Event types delivered (filter.includedEventTypes).')
param includedEventTypes array

@description('StringIn advanced filters: {"<key>": ["value", ...]}; keys such as data.operationName.')
param stringInFilters object = {}

// Two of the API's three eventDeliverySchema values (CustomInputSchema is the third): the two that
// enforcer/core/events.py parses.
// Source: https://learn.microsoft.com/azure/templates/microsoft.eventgrid/systemtopics/eventsubscriptions
@allowed([
  'EventGridSchema'
  'CloudEventSchemaV1_0'
])
param eventDeliverySchema string

param deadLetterStorageAccountId string
param deadLetterContainerName string

@description('Dead-letter with the topic\'s managed identity (regional topics only; global system topics have none).')
param deadLetterWithIdentity bool = false

@description('Action group alerted when this subscription dead-letters events (alerts.bicep); empty: no alert.')
param deadLetterAlertActionGroupId string = ''

@description('Alert when more events than this are dead-lettered within an hour.')
param deadLetterAlertThreshold int = 0

resource functionApp 'Microsoft.Web/sites@2024-04-01' existing = {
  name: functionAppName
  scope: resourceGroup(functionAppSubscriptionId, functionAppResourceGroup)
}

resource systemTopic 'Microsoft.EventGrid/systemTopics@2022-06-15' existing = {
  name: topicName
}

resource customTopic 'Microsoft.EventGrid/topics@2022-06-15' existing = {
  name: topicName
}

// The host keys by resource id and API version (WebApps_ListHostKeys, POST <site>/host/default/listkeys:
// https://learn.microsoft.com/rest/api/appservice/webapps/listhostkeys). Bicep's type data has no
// Microsoft.Web/sites/host type, so an `existing` resource of it raises warning BCP081.
var hostKeys = listKeys('${functionApp.id}/host/default', '2024-04-01')

var endpointUrl = 'https://${functionApp.properties.defaultHostName}/runtime/webhooks/EventGrid?functionName=${functionName}&code=${hostKeys.systemKeys.eventgrid_extension}'

var destination = {
  endpointType: 'WebHook'
  properties: {
    endpointUrl: endpointUrl
    // One event per request: each event is one enforcement, and a slow one must not hold back others.
    maxEventsPerBatch: 1
    preferredBatchSizeInKilobytes: 64
  }
}

var eventFilter = {
  includedEventTypes: includedEventTypes
  enableAdvancedFilteringOnArrays: false
  advancedFilters: [for f in items(stringInFilters): {
    operatorType: 'StringIn'
    key: f.key
    values: f.value
  }]
}

// Event Grid retries for up to 24 hours; 400/413 and expired events go to the dead-letter container.
var retryPolicy = {
  maxDeliveryAttempts: 30
  eventTimeToLiveInMinutes: 1440
}

var deadLetterDestination = {
  endpointType: 'StorageBlob'
  properties: {
    resourceId: deadLetterStorageAccountId
    blobContainerName: deadLetterContainerName
  }
}

var deadLetterWithTopicIdentity = {
  identity: {
    type: 'SystemAssigned'
  }
  deadLetterDestination: deadLetterDestination
}

resource systemTopicSubscription 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2022-06-15' = if (topicKind == 'system') {
  parent: systemTopic
  name: subscriptionName
  properties: {
    destination: destination
    filter: eventFilter
    eventDeliverySchema: eventDeliverySchema
    retryPolicy: retryPolicy
    deadLetterDestination: deadLetterWithIdentity ? null : deadLetterDestination
    deadLetterWithResourceIdentity: deadLetterWithIdentity ? deadLetterWithTopicIdentity : null
  }
}

resource customTopicSubscription 'Microsoft.EventGrid/topics/eventSubscriptions@2022-06-15' = if (topicKind == 'custom') {
  parent: customTopic
  name: subscriptionName
  properties: {
    destination: destination
    filter: eventFilter
    eventDeliverySchema: eventDeliverySchema
    retryPolicy: retryPolicy
    deadLetterDestination: deadLetterWithIdentity ? null : deadLetterDestination
    deadLetterWithResourceIdentity: deadLetterWithIdentity ? deadLetterWithTopicIdentity : null
  }
}

// Dead-lettered events mean the function refused or missed them for 24 hours: someone must look.
module deadLetterAlert 'dead-letter-alert.bicep' = if (!empty(deadLetterAlertActionGroupId)) {
  name: 'alert-${take(uniqueString(subscriptionName, topicName), 8)}'
  params: {
    topicKind: topicKind
    topicName: topicName
    subscriptionName: subscriptionName
    actionGroupId: deadLetterAlertActionGroupId
    threshold: deadLetterAlertThreshold
  }
  dependsOn: [
    systemTopicSubscription
    customTopicSubscription
  ]
}
