// A metric alert on one Event Grid topic: events of one event subscription were dead-lettered (DeadLetteredCount,
// filtered by EventSubscriptionName, so a shared system topic alerts only on ours). Deployed in the topic's
// resource group by event-subscription.bicep.
// Source: https://learn.microsoft.com/azure/event-grid/monitor-push-reference (DeadLetteredCount, dimensions)
// Source: https://learn.microsoft.com/azure/templates/microsoft.insights/2018-03-01/metricalerts

// The two topic types our event subscriptions hang off, as in event-subscription.bicep.
// Source: https://learn.microsoft.com/azure/event-grid/monitor-push-reference (both types carry DeadLetteredCount)
@allowed([
  'system'
  'custom'
])
param topicKind string
param topicName string
param subscriptionName string

@description('Action group notified (alerts.bicep).')
param actionGroupId string

@description('Alert when more events than this are dead-lettered within an hour.')
param threshold int = 0

param tags object = {}

var topicId = topicKind == 'system' ? resourceId('Microsoft.EventGrid/systemTopics', topicName) : resourceId('Microsoft.EventGrid/topics', topicName)

resource deadLetterAlert 'Microsoft.Insights/metricAlerts@2018-03-01' = {
  name: 'alert-${subscriptionName}-dead-letter'
  location: 'global'
  tags: tags
  properties: {
    description: 'Events for ${subscriptionName} were dead-lettered to the eventgrid-deadletter container: the function did not accept them for 24 hours. Read the blobs there, fix the cause, then run a sweep.'
    severity: 2
    enabled: true
    scopes: [
      topicId
    ]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT1H'
    criteria: {
      'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
      allOf: [
        {
          criterionType: 'StaticThresholdCriterion'
          name: 'dead-lettered'
          metricNamespace: topicKind == 'system' ? 'Microsoft.EventGrid/systemTopics' : 'Microsoft.EventGrid/topics'
          metricName: 'DeadLetteredCount'
          dimensions: [
            {
              name: 'EventSubscriptionName'
              operator: 'Include'
              values: [
                subscriptionName
              ]
            }
          ]
          operator: 'GreaterThan'
          threshold: threshold
          timeAggregation: 'Total'
        }
      ]
    }
    autoMitigate: true
    actions: [
      {
        actionGroupId: actionGroupId
      }
    ]
  }
}
