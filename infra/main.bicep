// FewStep on Azure: the Functions app (isolated worker, Durable Functions, ONNX Runtime CUDA) on Azure Container
// Apps serverless GPUs, with identity-only storage, monitoring and a container registry.
//
//   azd up                                   (azure.yaml: provisions this template, builds and deploys the image)
//   az deployment group create -g <group> --template-file infra/main.bicep --parameters infra/main.bicepparam
//
// Resource group scope; every name derives from environmentName and the group, so a redeploy updates in place.

targetScope = 'resourceGroup'

@minLength(1)
@maxLength(40)
@description('Name of the environment (azd environment name): prefix of the resource names and the task hub.')
param environmentName string

@description('Azure region: one with serverless GPUs in Container Apps (e.g. swedencentral, westus3, australiaeast).')
param location string = resourceGroup().location

@description('Serverless GPU workload profile: NVIDIA T4 (16 GB) or A100 (80 GB).')
@allowed([
  'Consumption-GPU-NC8as-T4'
  'Consumption-GPU-NC24-A100'
])
param gpuWorkloadProfileType string = 'Consumption-GPU-NC8as-T4'

@minValue(0)
@description('Fewest replicas: 0 scales to zero (no GPU billed while idle; the next request waits for a cold start).')
param minReplicas int = 0

@minValue(1)
@maxValue(1000)
@description('Most replicas (each one GPU; stay within your serverless GPU quota).')
param maxReplicas int = 1

@description('Create an Azure Container Registry for the app image (azd and `az acr build` push to it).')
param createRegistry bool = true

@description('Tier of the created registry: Premium enables artifact streaming, which shortens GPU cold starts.')
@allowed([
  'Basic'
  'Standard'
  'Premium'
])
param registrySku string = 'Standard'

@description('App image. Empty: a public placeholder until `azd deploy` (or `az containerapp update --image`) sets the real one. With createRegistry false: the full reference of your image.')
param containerImage string = ''

@description('Login server of an existing registry to pull containerImage from with the app identity (createRegistry false; grant the identity AcrPull there).')
param existingRegistryServer string = ''

@description('vCPUs of the app container; empty: the whole GPU profile (8 for T4, 24 for A100).')
param appCpu string = ''

@description('Memory of the app container; empty: the whole GPU profile (56Gi for T4, 220Gi for A100).')
param appMemory string = ''

@description('Glob of the blobs in the models container that each replica downloads at start-up, e.g. "sd-turbo/*" (default: all). Keep it within the replica\'s ephemeral storage.')
param modelsPattern string = '*'

@description('Init container image that downloads the models (needs the Azure CLI and bash).')
param modelSyncImage string = 'mcr.microsoft.com/azure-cli:2.75.0'

@description('Durable Functions task hub name (FEWSTEP_TASK_HUB): letters and digits, 3-45 characters.')
param taskHubName string = 'fewstep${take(replace(environmentName, '-', ''), 30)}'

param tags object = {}

var token = toLower(uniqueString(subscription().id, resourceGroup().id, environmentName))
var allTags = union(tags, { 'azd-env-name': environmentName })
var gpuProfiles = {
  'Consumption-GPU-NC8as-T4': {
    name: 'NC8as-T4'
    cpu: '8'
    memory: '56Gi'
  }
  'Consumption-GPU-NC24-A100': {
    name: 'NC24-A100'
    cpu: '24'
    memory: '220Gi'
  }
}
var gpuProfile = gpuProfiles[gpuWorkloadProfileType]
var placeholderImage = 'mcr.microsoft.com/azure-functions/dotnet8-quickstart-demo:1.0'

module identity 'modules/identity.bicep' = {
  name: 'identity'
  params: {
    name: 'id-fewstep-${token}'
    location: location
    tags: allTags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    logAnalyticsName: 'log-fewstep-${token}'
    appInsightsName: 'appi-fewstep-${token}'
    location: location
    tags: allTags
    principalId: identity.outputs.principalId
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  params: {
    name: 'stfewstep${take(token, 13)}'
    location: location
    tags: allTags
    principalId: identity.outputs.principalId
  }
}

module registry 'modules/registry.bicep' = if (createRegistry) {
  name: 'registry'
  params: {
    name: 'crfewstep${token}'
    location: location
    tags: allTags
    principalId: identity.outputs.principalId
    sku: registrySku
  }
}

module environment 'modules/environment.bicep' = {
  name: 'environment'
  params: {
    name: 'cae-fewstep-${token}'
    location: location
    tags: allTags
    gpuProfileType: gpuWorkloadProfileType
    gpuProfileName: gpuProfile.name
    logAnalyticsId: monitoring.outputs.logAnalyticsId
  }
}

var registryServer = createRegistry ? registry!.outputs.loginServer : existingRegistryServer

module functionApp 'modules/functionapp.bicep' = {
  name: 'functionapp'
  params: {
    name: 'func-fewstep-${take(token, 10)}'
    location: location
    tags: allTags
    serviceName: 'functions'
    environmentId: environment.outputs.id
    workloadProfileName: gpuProfile.name
    image: empty(containerImage) ? placeholderImage : containerImage
    // The placeholder is public: pull it anonymously.
    registryServer: empty(containerImage) ? '' : registryServer
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    blobEndpoint: storage.outputs.blobEndpoint
    queueEndpoint: storage.outputs.queueEndpoint
    tableEndpoint: storage.outputs.tableEndpoint
    appInsightsName: monitoring.outputs.appInsightsName
    taskHubName: taskHubName
    minReplicas: minReplicas
    maxReplicas: maxReplicas
    cpu: empty(appCpu) ? gpuProfile.cpu : appCpu
    memory: empty(appMemory) ? gpuProfile.memory : appMemory
    modelSyncImage: modelSyncImage
    modelsContainer: 'models'
    modelsPattern: modelsPattern
    imagesContainer: 'images'
  }
}

// Outputs: names and URLs only, never a key, secret or connection string. azd reads the upper-case ones.
output endpointUrl string = 'https://${functionApp.outputs.fqdn}'
output functionAppName string = functionApp.outputs.name
output storageAccountName string = storage.outputs.name
output registryLoginServer string = registryServer
output identityClientId string = identity.outputs.clientId
output AZURE_CONTAINER_REGISTRY_ENDPOINT string = registryServer
output AZURE_RESOURCE_GROUP string = resourceGroup().name
