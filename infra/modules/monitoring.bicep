// Log Analytics (Container Apps system and console logs) and workspace-based Application Insights (the Functions
// host's telemetry). With disableLocalAuth, ingestion takes Microsoft Entra tokens only: the app sends
// APPLICATIONINSIGHTS_AUTHENTICATION_STRING "ClientId=<identity>;Authorization=AAD" and the identity holds
// Monitoring Metrics Publisher on the component (learn.microsoft.com/azure/azure-monitor/app/azure-ad-authentication).

param logAnalyticsName string
param appInsightsName string

@description('Azure region.')
param location string

param tags object = {}

@description('Principal that publishes telemetry (the app identity).')
param principalId string

@description('Accept only Microsoft Entra-authenticated telemetry (no instrumentation-key ingestion).')
param disableLocalAuth bool = true

resource logAnalytics 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: logAnalyticsName
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: 30
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: appInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logAnalytics.id
    DisableLocalAuth: disableLocalAuth
  }
}

// Monitoring Metrics Publisher (3913510d-42f4-4e42-8a64-420c390055eb): despite its name, publishes all telemetry.
resource metricsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(appInsights.id, principalId, '3913510d-42f4-4e42-8a64-420c390055eb')
  scope: appInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '3913510d-42f4-4e42-8a64-420c390055eb')
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

output logAnalyticsId string = logAnalytics.id
output appInsightsName string = appInsights.name
