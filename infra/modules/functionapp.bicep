// The Function App: a native Container Apps resource with kind "functionapp" ("Functions on Azure Container Apps
// V2"), the model the docs recommend for new deployments over the legacy Microsoft.Web/sites + managedEnvironmentId
// proxy ("V1"): learn.microsoft.com/azure/container-apps/functions-overview ("set the kind=functionapp property
// when using the Azure CLI or ARM/Bicep templates") and learn.microsoft.com/azure/container-apps/migrate-functions
// ("Recommended for new deployments: V1 No, V2 Yes"). The resource shape follows the Bicep sample those pages link,
// github.com/Azure/azure-functions-on-container-apps/tree/main/samples/ACAKindfunctionapp, with identity-based
// storage instead of the sample's account-key connection string.
//
// Models: an init container (Azure CLI image) signs in with the user-assigned identity and downloads the `models`
// blob container into an EmptyDir volume, which the app mounts at FewStep__ModelRoot. Azure Files was
// not taken: an SMB mount in Container Apps needs the storage account key in the environment's storage
// definition, and NFS needs a custom VNet and an account without secure transfer.

param name string

@description('Azure region.')
param location string

param tags object = {}

@description('azd service name (tag azd-service-name) the image is deployed to.')
param serviceName string

param environmentId string

@description('Workload profile the app runs on (the GPU profile name).')
param workloadProfileName string

@description('Container image of the app.')
param image string

@description('Registry login server pulled from with the identity; empty for a public image.')
param registryServer string

param identityId string
param identityClientId string

param storageAccountName string
param blobEndpoint string
param queueEndpoint string
param tableEndpoint string

@description('Application Insights component receiving the telemetry (Microsoft Entra-authenticated ingestion).')
param appInsightsName string

param taskHubName string

@minValue(0)
param minReplicas int

@minValue(1)
param maxReplicas int

@description('vCPUs of the app container.')
param cpu string

@description('Memory of the app container, e.g. 56Gi.')
param memory string

@description('Image of the init container that downloads the models (needs the Azure CLI).')
param modelSyncImage string

@description('Blob container holding the model folders (and an optional catalog.json at its root).')
param modelsContainer string

@description('Glob of the model blobs to download (az storage blob download-batch --pattern).')
param modelsPattern string

@description('Blob container for the images (FewStep__ImagesContainer).')
param imagesContainer string

var modelRoot = '/models'

// Runs in the init container (Azure CLI image). `--client-id` is the current flag for a user-assigned identity;
// older CLIs only know `--username`. A catalog.json uploaded to the container's root extends the built-in catalog;
// without one an empty catalog is written so that FewStep__ModelCatalogFile always names a file.
var modelSyncScript = join(
  [
    'set -eu'
    'az login --identity --client-id "$AZURE_CLIENT_ID" --allow-no-subscriptions --output none 2>/dev/null || az login --identity --username "$AZURE_CLIENT_ID" --allow-no-subscriptions --output none'
    'az storage blob download-batch --auth-mode login --account-name "$MODELS_ACCOUNT" --source "$MODELS_CONTAINER" --destination "$MODEL_ROOT" --pattern "$MODELS_PATTERN" --overwrite --max-connections 8 --output none'
    '[ -f "$MODEL_ROOT/catalog.json" ] || echo \'{"models": []}\' > "$MODEL_ROOT/catalog.json"'
    'echo "models in $MODEL_ROOT:"; ls -la "$MODEL_ROOT"'
  ],
  '\n'
)

// The connection string is read here, not passed around as an output: it names the component, and with local
// auth disabled its instrumentation key cannot ingest anything on its own.
resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

resource app 'Microsoft.App/containerApps@2025-07-01' = {
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': serviceName })
  kind: 'functionapp'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    managedEnvironmentId: environmentId
    workloadProfileName: workloadProfileName
    configuration: {
      // One active revision: several would share the task hub and storage account.
      activeRevisionsMode: 'Single'
      ingress: {
        external: true
        targetPort: 80
        transport: 'auto'
        allowInsecure: false
      }
      registries: empty(registryServer)
        ? []
        : [
            {
              server: registryServer
              identity: identityId
            }
          ]
      // The identity is available to the init container (model download) and the app (storage, telemetry).
      identitySettings: [
        {
          identity: identityId
          lifecycle: 'All'
        }
      ]
    }
    template: {
      initContainers: [
        {
          name: 'model-sync'
          image: modelSyncImage
          command: [
            '/bin/bash'
            '-c'
          ]
          args: [
            modelSyncScript
          ]
          env: [
            {
              name: 'AZURE_CLIENT_ID'
              value: identityClientId
            }
            {
              name: 'MODELS_ACCOUNT'
              value: storageAccountName
            }
            {
              name: 'MODELS_CONTAINER'
              value: modelsContainer
            }
            {
              name: 'MODELS_PATTERN'
              value: modelsPattern
            }
            {
              name: 'MODEL_ROOT'
              value: modelRoot
            }
          ]
          resources: {
            cpu: json('0.5')
            memory: '1Gi'
          }
          volumeMounts: [
            {
              volumeName: 'models'
              mountPath: modelRoot
            }
          ]
        }
      ]
      containers: [
        {
          // The first container of the app gets the GPU.
          name: 'functions'
          image: image
          env: [
            // Identity-based host storage (no connection string, no account key):
            // learn.microsoft.com/azure/azure-functions/functions-reference#connecting-to-host-storage-with-an-identity
            {
              name: 'AzureWebJobsStorage__blobServiceUri'
              value: blobEndpoint
            }
            {
              name: 'AzureWebJobsStorage__queueServiceUri'
              value: queueEndpoint
            }
            {
              name: 'AzureWebJobsStorage__tableServiceUri'
              value: tableEndpoint
            }
            {
              name: 'AzureWebJobsStorage__credential'
              value: 'managedidentity'
            }
            {
              name: 'AzureWebJobsStorage__clientId'
              value: identityClientId
            }
            {
              name: 'FUNCTIONS_WORKER_RUNTIME'
              value: 'dotnet-isolated'
            }
            {
              // DefaultAzureCredential (and Azure.Identity generally) picks the user-assigned identity by it.
              name: 'AZURE_CLIENT_ID'
              value: identityClientId
            }
            {
              name: 'APPLICATIONINSIGHTS_CONNECTION_STRING'
              value: appInsights.properties.ConnectionString
            }
            {
              // Microsoft Entra ingestion with the identity (Monitoring Metrics Publisher on the component).
              name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING'
              value: 'ClientId=${identityClientId};Authorization=AAD'
            }
            {
              name: 'FEWSTEP_TASK_HUB'
              value: taskHubName
            }
            {
              name: 'FewStep__ModelRoot'
              value: modelRoot
            }
            {
              name: 'FewStep__ModelCatalogFile'
              value: '${modelRoot}/catalog.json'
            }
            {
              name: 'FewStep__ImagesContainer'
              value: imagesContainer
            }
            {
              name: 'Onnx__ExecutionProvider'
              value: 'Cuda'
            }
            {
              name: 'Onnx__DeviceId'
              value: '0'
            }
            {
              // On a GPU profile a silent fall-back to the CPU is a bug: fail at start-up instead.
              name: 'Onnx__FallBackToCpu'
              value: 'false'
            }
          ]
          resources: {
            cpu: json(cpu)
            memory: memory
          }
          volumeMounts: [
            {
              volumeName: 'models'
              mountPath: modelRoot
            }
          ]
        }
      ]
      volumes: [
        {
          name: 'models'
          storageType: 'EmptyDir'
        }
      ]
      scale: {
        minReplicas: minReplicas
        maxReplicas: maxReplicas
      }
    }
  }
}

output name string = app.name
output fqdn string = app.properties.configuration.ingress.fqdn
