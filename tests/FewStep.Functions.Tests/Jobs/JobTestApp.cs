using System.Text;
using System.Text.Json;
using Azure.Storage.Blobs;
using FewStep.Functions.Jobs;
using FewStep.Functions.Rendering;
using FewStep.Functions.Storage;
using FewStep.Functions.Tests.Support;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace FewStep.Functions.Tests.Jobs;

/// <summary>
/// The app's real services against Azurite (own images and results containers; the fixed <c>jobs</c> container
/// is shared, so every test uses its own blob names), the tiny conformance model and a broken copy of it, and
/// the job orchestrations in the in-process durable host.
/// </summary>
internal sealed class JobTestApp : IAsyncDisposable
{
    public const string Model = "tiny-sd-turbo";
    public const string BrokenModel = "tiny-sd-turbo-broken";

    private readonly DirectoryInfo _temp = Directory.CreateTempSubdirectory("fewstep-jobs-");

    private JobTestApp(AzuriteFixture azurite) => Azurite = azurite;

    public AzuriteFixture Azurite { get; }

    public ServiceProvider Services { get; private set; } = null!;

    public DurableTaskTestHost Host { get; private set; } = null!;

    public JobStarter Starter { get; private set; } = null!;

    public string ResultsContainer { get; } = AzuriteFixture.NewContainerName("results");

    public BlobContainerClient Jobs => Azurite.BlobServiceClient.GetBlobContainerClient(JobIds.JobsContainer);

    public BlobContainerClient Results => Azurite.BlobServiceClient.GetBlobContainerClient(ResultsContainer);

    public BlobContainerClient Rejected => Azurite.BlobServiceClient.GetBlobContainerClient(RejectedContainer);

    public string RejectedContainer { get; } = AzuriteFixture.NewContainerName("rejected");

    public static async Task<JobTestApp> StartAsync(AzuriteFixture azurite, IReadOnlyDictionary<string, string?>? settings = null, IImageRenderer? renderer = null, IImageStore? results = null)
    {
        var app = new JobTestApp(azurite);
        var modelRoot = Directory.CreateDirectory(Path.Combine(app._temp.FullName, "models")).FullName;
        var broken = Path.Combine(modelRoot, BrokenModel);
        foreach (var file in Directory.GetFiles(ConformancePaths.Model(Model), "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(broken, Path.GetRelativePath(ConformancePaths.Model(Model), file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
            File.SetAttributes(target, FileAttributes.Normal);
        }

        await File.WriteAllTextAsync(Path.Combine(broken, "unet", "model.onnx"), "not an onnx model");
        var catalog = Path.Combine(app._temp.FullName, "catalog.json");
        await File.WriteAllTextAsync(catalog, JsonSerializer.Serialize(new
        {
            models = new[]
            {
                new { name = Model, folder = ConformancePaths.Model(Model), steps = 1, max_steps = 4, width = 64, height = 64, max_width = 256, max_height = 256 },
                new { name = BrokenModel, folder = broken, steps = 1, max_steps = 4, width = 64, height = 64, max_width = 256, max_height = 256 },
            },
        }));
        var values = new Dictionary<string, string?>
        {
            [StorageClientFactory.SettingName] = azurite.ConnectionString,
            ["FewStep:ModelRoot"] = modelRoot,
            ["FewStep:ModelCatalogFile"] = catalog,
            ["FewStep:BatchSize"] = "2",
            ["FewStep:ImagesContainer"] = AzuriteFixture.NewContainerName("images"),
            ["FewStep:ResultsContainer"] = app.ResultsContainer,
            ["FewStep:RejectedJobsContainer"] = app.RejectedContainer,
            ["FewStep:RenderFirstRetryInterval"] = "00:00:00.050",
            ["Onnx:ExecutionProvider"] = "Cpu",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            values[key] = value;
        }

        var configuration = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        app.Services = new ServiceCollection()
            .AddLogging(logging => logging.SetMinimumLevel(LogLevel.Warning))
            .AddFewStep(configuration)
            .BuildServiceProvider();
        app.Host = await DurableTestHostJobs.StartAsync(app.Services, renderer, results);
        app.Starter = DurableTestHostJobs.Starter(app.Services);
        await app.Jobs.CreateIfNotExistsAsync();
        return app;
    }

    public static string UniqueName(string extension) => $"t{Guid.NewGuid():N}{extension}";

    public async Task<BlobClient> UploadAsync(string name, string text, bool bom = false)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        return await UploadAsync(name, bom ? [0xEF, 0xBB, 0xBF, .. bytes] : bytes);
    }

    public async Task<BlobClient> UploadAsync(string name, byte[] bytes)
    {
        var blob = Jobs.GetBlobClient(name);
        await blob.UploadAsync(BinaryData.FromBytes(bytes), overwrite: true);
        return blob;
    }

    /// <summary>What the blob trigger does, then waits for the run to end.</summary>
    public async Task<OrchestrationMetadata> RunAsync(BlobClient blob, TimeSpan? timeout = null)
    {
        var id = await Starter.StartAsync(blob, Host.Client, CancellationToken.None) ?? throw new InvalidOperationException("the job blob is gone");
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(90));
        return await Host.Client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, cts.Token);
    }

    public async Task<JsonElement> ReadResultJsonAsync(string blobName)
    {
        var content = (await Results.GetBlobClient(blobName).DownloadContentAsync()).Value.Content;
        using var document = JsonDocument.Parse(content.ToMemory());
        return document.RootElement.Clone();
    }

    public async ValueTask DisposeAsync()
    {
        await Host.DisposeAsync();
        await Services.DisposeAsync();
        try
        {
            _temp.Delete(recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
