// The Container Apps environment: a workload-profiles environment with the default Consumption profile plus one
// serverless GPU profile (Consumption-GPU-NC8as-T4 or Consumption-GPU-NC24-A100), as in
// learn.microsoft.com/azure/container-apps/gpu-serverless-overview and .../gpu-image-generation (profile name
// "NC8as-T4", type "Consumption-GPU-NC8as-T4"). Logs go to Log Analytics through Azure Monitor diagnostic settings
// (destination "azure-monitor"), so no workspace shared key is read or stored.

param name string

@description('Azure region.')
param location string

param tags object = {}

@description('Serverless GPU workload profile type.')
@allowed([
  'Consumption-GPU-NC8as-T4'
  'Consumption-GPU-NC24-A100'
])
param gpuProfileType string

@description('Name the GPU profile gets in the environment (the app refers to it).')
param gpuProfileName string

@description('Log Analytics workspace receiving the environment logs.')
param logAnalyticsId string

resource environment 'Microsoft.App/managedEnvironments@2025-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    appLogsConfiguration: {
      destination: 'azure-monitor'
    }
    zoneRedundant: false
    workloadProfiles: [
      {
        name: 'Consumption'
        workloadProfileType: 'Consumption'
      }
      {
        name: gpuProfileName
        workloadProfileType: gpuProfileType
      }
    ]
  }
}

resource logs 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'logs-to-log-analytics'
  scope: environment
  properties: {
    workspaceId: logAnalyticsId
    logs: [
      {
        categoryGroup: 'allLogs'
        enabled: true
      }
    ]
  }
}

output id string = environment.id
output name string = environment.name
output defaultDomain string = environment.properties.defaultDomain
