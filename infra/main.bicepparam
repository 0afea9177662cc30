// Sample parameters. azd fills the environment variables (AZURE_ENV_NAME, AZURE_LOCATION, and after a deploy
// SERVICE_FUNCTIONS_IMAGE_NAME, so a later `azd provision` keeps the deployed image); with
// `az deployment group create` set them yourself or edit the defaults here.
using './main.bicep'

param environmentName = readEnvironmentVariable('AZURE_ENV_NAME', 'fewstep')
param location = readEnvironmentVariable('AZURE_LOCATION', 'swedencentral')
param gpuWorkloadProfileType = 'Consumption-GPU-NC8as-T4'
param minReplicas = 0
param maxReplicas = 1
param createRegistry = true
param containerImage = readEnvironmentVariable('SERVICE_FUNCTIONS_IMAGE_NAME', '')
param modelsPattern = '*'
