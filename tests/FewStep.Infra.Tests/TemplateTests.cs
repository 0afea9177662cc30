using System.Text.Json.Nodes;

namespace FewStep.Infra.Tests;

/// <summary>What the compiled ARM template deploys: locked-down storage, the GPU profile, identity-only access.</summary>
public sealed class TemplateTests(CompiledTemplate compiled) : IClassFixture<CompiledTemplate>
{
    private const string StorageBlobDataOwner = "b7e6dc6d-f1e8-4753-8033-0f276bb0955b";
    private const string StorageQueueDataContributor = "974c5e8b-45b9-4653-ba55-5f855dd0fb88";
    private const string StorageTableDataContributor = "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3";
    private const string AcrPull = "7f951dda-4ed3-4680-a7ca-43fe172d538d";

    private static readonly string[] s_gpuProfiles = ["Consumption-GPU-NC8as-T4", "Consumption-GPU-NC24-A100"];

    private ArmTemplate Arm => compiled.Arm;

    [Fact]
    public void Storage_account_allows_no_shared_keys_public_blobs_old_tls_or_http()
    {
        var storage = Arm.Single("Microsoft.Storage/storageAccounts");
        Assert.False(storage["properties.allowSharedKeyAccess"]!.GetValue<bool>());
        Assert.Equal("TLS1_2", storage["properties.minimumTlsVersion"]!.GetValue<string>());
        Assert.False(storage["properties.allowBlobPublicAccess"]!.GetValue<bool>());
        Assert.True(storage["properties.supportsHttpsTrafficOnly"]!.GetValue<bool>());
    }

    [Fact]
    public void Storage_has_the_jobs_images_results_and_models_containers()
    {
        var containers = Arm.Single("Microsoft.Storage/storageAccounts/blobServices/containers");
        Assert.Equal("None", containers["properties.publicAccess"]!.GetValue<string>());

        // One resource copied over the module's `containers` parameter; the main template leaves the default.
        var count = containers["copy.count"]!.GetValue<string>();
        Assert.Contains("parameters('containers')", count, StringComparison.Ordinal);
        Assert.Null(containers.Deployment!.Node["properties"]!["parameters"]!["containers"]);
        var names = containers.Template["parameters"]!["containers"]!["defaultValue"]!.AsArray().Select(n => n!.GetValue<string>());
        Assert.Equal(["images", "jobs", "models", "results"], names.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Environment_has_the_serverless_gpu_profile_from_the_parameter()
    {
        var parameter = Arm.Root["parameters"]!["gpuWorkloadProfileType"]!;
        Assert.Equal(s_gpuProfiles, parameter["allowedValues"]!.AsArray().Select(v => v!.GetValue<string>()));

        var environment = Arm.Single("Microsoft.App/managedEnvironments");
        var profiles = environment["properties.workloadProfiles"]!.AsArray().Select(p => p!.AsObject()).ToList();
        var gpu = Assert.Single(profiles, p => p["workloadProfileType"]!.GetValue<string>() != "Consumption");
        Assert.Equal("[parameters('gpuProfileType')]", gpu["workloadProfileType"]!.GetValue<string>());
        Assert.Equal("[parameters('gpuWorkloadProfileType')]", environment.Resolve(gpu["workloadProfileType"]));
        Assert.Equal(s_gpuProfiles,
            environment.Template["parameters"]!["gpuProfileType"]!["allowedValues"]!.AsArray().Select(v => v!.GetValue<string>()));

        // The app runs on that profile, by the name the environment gives it.
        var app = Arm.Single("Microsoft.App/containerApps");
        Assert.Equal(environment.Resolve(gpu["name"]), app.Resolve(app["properties.workloadProfileName"]));
    }

    [Fact]
    public void Function_app_is_a_native_container_app_of_kind_functionapp_with_replica_bounds_from_parameters()
    {
        var app = Arm.Single("Microsoft.App/containerApps");
        Assert.Equal("functionapp", app["kind"]!.GetValue<string>());
        Assert.Empty(Arm.OfType("Microsoft.Web/sites"));
        Assert.Equal("[parameters('minReplicas')]", app.Resolve(app["properties.template.scale.minReplicas"]));
        Assert.Equal("[parameters('maxReplicas')]", app.Resolve(app["properties.template.scale.maxReplicas"]));
        Assert.NotNull(Arm.Root["parameters"]!["minReplicas"]);
        Assert.NotNull(Arm.Root["parameters"]!["maxReplicas"]);
        Assert.True(app["properties.configuration.ingress.external"]!.GetValue<bool>());
        Assert.Equal("UserAssigned", app["identity.type"]!.GetValue<string>());
    }

    [Fact]
    public void Function_app_uses_identity_based_storage_and_the_gpu_settings()
    {
        var app = Arm.Single("Microsoft.App/containerApps");
        var env = Settings(app, app["properties.template.containers"]!.AsArray()[0]!);

        Assert.False(env.ContainsKey("AzureWebJobsStorage"), "AzureWebJobsStorage must not be a connection string");
        // The service URIs are the storage account's own endpoints (storage module outputs), never built from keys.
        var storageOutputs = Arm.Single("Microsoft.Storage/storageAccounts").Template["outputs"]!;
        foreach (var (setting, service) in new[] { ("blobServiceUri", "blob"), ("queueServiceUri", "queue"), ("tableServiceUri", "table") })
        {
            Assert.Contains($"outputs.{service}Endpoint.value", env[$"AzureWebJobsStorage__{setting}"], StringComparison.Ordinal);
            Assert.Contains($"primaryEndpoints.{service}", storageOutputs[$"{service}Endpoint"]!["value"]!.GetValue<string>(), StringComparison.Ordinal);
        }

        Assert.Equal("managedidentity", env["AzureWebJobsStorage__credential"]);
        Assert.Contains("clientId", env["AzureWebJobsStorage__clientId"], StringComparison.Ordinal);
        Assert.Equal(env["AzureWebJobsStorage__clientId"], env["AZURE_CLIENT_ID"]);

        Assert.Equal("dotnet-isolated", env["FUNCTIONS_WORKER_RUNTIME"]);
        Assert.Contains("FEWSTEP_TASK_HUB", env.Keys);
        Assert.Equal("/models", env["FewStep__ModelRoot"]);
        Assert.Equal("[format('{0}/catalog.json', variables('modelRoot'))]", env["FewStep__ModelCatalogFile"]);   // /models/catalog.json
        Assert.Equal("images", env["FewStep__ImagesContainer"]);
        Assert.Equal("Cuda", env["Onnx__ExecutionProvider"]);
        Assert.Equal("0", env["Onnx__DeviceId"]);
        Assert.Equal("false", env["Onnx__FallBackToCpu"]);
        Assert.Contains("ConnectionString", env["APPLICATIONINSIGHTS_CONNECTION_STRING"], StringComparison.Ordinal);
        Assert.Contains("Authorization=AAD", env["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"], StringComparison.Ordinal);
        Assert.Null(app["properties.configuration.secrets"]);
    }

    [Fact]
    public void Models_are_downloaded_into_the_model_root_by_an_init_container_with_the_identity()
    {
        var app = Arm.Single("Microsoft.App/containerApps");
        var volume = Assert.Single(app["properties.template.volumes"]!.AsArray());
        Assert.Equal("EmptyDir", volume!["storageType"]!.GetValue<string>());
        var volumeName = volume["name"]!.GetValue<string>();

        var init = Assert.Single(app["properties.template.initContainers"]!.AsArray())!;
        var main = app["properties.template.containers"]!.AsArray()[0]!;
        foreach (var container in new[] { init, main })
        {
            var mount = Assert.Single(container["volumeMounts"]!.AsArray())!;
            Assert.Equal(volumeName, mount["volumeName"]!.GetValue<string>());
            Assert.Equal("/models", app.Resolve(mount["mountPath"]));
        }

        var script = string.Join('\n', init["args"]!.AsArray().Select(a => a!.ToString()));
        Assert.Contains("az login --identity", string.Join('\n', Arm.Templates.Select(t => t.ToJsonString())), StringComparison.Ordinal);
        Assert.Contains("--auth-mode login", string.Join('\n', Arm.Templates.Select(t => t.ToJsonString())), StringComparison.Ordinal);
        Assert.NotEmpty(script);
        Assert.Equal("models", Settings(app, init)["MODELS_CONTAINER"]);

        var identitySettings = Assert.Single(app["properties.configuration.identitySettings"]!.AsArray())!;
        Assert.Equal("All", identitySettings["lifecycle"]!.GetValue<string>());
    }

    [Fact]
    public void No_account_keys_anywhere()
    {
        foreach (var forbidden in new[] { "AccountKey", "listKeys(", "listkeys", "\"sharedKey\"", "primarySharedKey", "adminUserEnabled\": true" })
        {
            Assert.DoesNotContain(forbidden, Arm.Json, StringComparison.OrdinalIgnoreCase);
        }

        var registry = Arm.Single("Microsoft.ContainerRegistry/registries");
        Assert.False(registry["properties.adminUserEnabled"]!.GetValue<bool>());
        Assert.Equal("azure-monitor", Arm.Single("Microsoft.App/managedEnvironments")["properties.appLogsConfiguration.destination"]!.GetValue<string>());

        // The registry is pulled from with the identity, not a password.
        var app = Arm.Single("Microsoft.App/containerApps");
        Assert.DoesNotContain("passwordSecretRef", app.Node.ToJsonString(), StringComparison.Ordinal);
        Assert.Contains("'identity'", app["properties.configuration.registries"]!.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(StorageBlobDataOwner, "Microsoft.Storage/storageAccounts")]
    [InlineData(StorageQueueDataContributor, "Microsoft.Storage/storageAccounts")]
    [InlineData(StorageTableDataContributor, "Microsoft.Storage/storageAccounts")]
    [InlineData(AcrPull, "Microsoft.ContainerRegistry/registries")]
    public void Identity_has_the_role_on_the_resource(string roleDefinitionId, string scopeType)
    {
        var assignment = Assert.Single(Arm.OfType("Microsoft.Authorization/roleAssignments"),
            r => r["properties.roleDefinitionId"]!.GetValue<string>().Contains(roleDefinitionId, StringComparison.Ordinal));
        Assert.Contains(scopeType, assignment["scope"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("ServicePrincipal", assignment["properties.principalType"]!.GetValue<string>());

        // principalId is the user-assigned identity's, passed down from the identity module.
        var principal = assignment.Resolve(assignment["properties.principalId"]);
        Assert.Contains("'identity'", principal, StringComparison.Ordinal);
        Assert.Contains("principalId", principal, StringComparison.Ordinal);
    }

    [Fact]
    public void Outputs_name_things_and_hold_no_secrets()
    {
        var outputs = Arm.Root["outputs"]!.AsObject();
        foreach (var name in new[] { "endpointUrl", "storageAccountName", "registryLoginServer", "identityClientId" })
        {
            Assert.True(outputs.ContainsKey(name), $"missing output {name}");
        }

        foreach (var (name, output) in Arm.Templates.SelectMany(t => t["outputs"]?.AsObject() ?? []))
        {
            foreach (var word in new[] { "key", "secret", "password", "connectionstring", "credential", "sas" })
            {
                Assert.DoesNotContain(word, name, StringComparison.OrdinalIgnoreCase);
            }

            Assert.DoesNotContain("list", output!["value"]?.ToString() ?? string.Empty, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("ConnectionString", output["value"]?.ToString() ?? string.Empty, StringComparison.OrdinalIgnoreCase);
            Assert.NotEqual("securestring", output["type"]?.GetValue<string>());
        }
    }

    /// <summary>A container's env as name → value, module parameters resolved to what main passes.</summary>
    private static Dictionary<string, string> Settings(ArmResource app, JsonNode container) =>
        container["env"]!.AsArray().ToDictionary(
            e => e!["name"]!.GetValue<string>(),
            e => app.Resolve(e!["value"]) ?? string.Empty,
            StringComparer.Ordinal);
}
