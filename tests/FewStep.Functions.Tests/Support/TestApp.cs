using System.Text;
using System.Text.Json;
using Azure.Storage.Blobs;
using FewStep.Functions.Jobs;
using FewStep.Functions.OpenAi;
using FewStep.Functions.Options;
using FewStep.Functions.Rendering;
using FewStep.Functions.Storage;
using FewStep.Functions.Tests.Support.Durable;
using FewStep.Functions.Triggers;
using FewStep.Functions.Webhooks;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FewStep.Functions.Tests.Support;

/// <summary>Which durable engine runs the orchestrations.</summary>
internal enum DurableBackend
{
    /// <summary>Microsoft.DurableTask.InProcessTestHost: in memory, fast.</summary>
    InProcess,

    /// <summary>DurableTask.Core's TaskHubWorker on DurableTask.AzureStorage against Azurite: what the Functions host runs.</summary>
    AzureStorage,
}

/// <summary>How a <see cref="TestApp"/> is put together.</summary>
internal sealed class TestAppOptions
{
    /// <summary>App settings (<c>FewStep:BatchSize</c>...) on top of the test defaults.</summary>
    public Dictionary<string, string?> Settings { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The renderer; a <see cref="FakeRenderer"/> when null. Use <see cref="RealRenderer"/> for the ONNX pipelines.</summary>
    public IImageRenderer? Renderer { get; set; }

    public bool RealRenderer { get; set; }

    /// <summary>With <see cref="RealRenderer"/>: wraps the app's ONNX renderer (to watch or hold what it reports).</summary>
    public Func<IImageRenderer, IImageRenderer>? WrapRenderer { get; set; }

    /// <summary>Blob storage in Azurite (own containers) when set; in memory otherwise.</summary>
    public AzuriteFixture? Azurite { get; set; }

    public DurableBackend Backend { get; set; } = DurableBackend.InProcess;

    public AzureStorageDurableHostOptions? DurableOptions { get; set; }

    /// <summary>The Azure Storage task hub (a new one when null).</summary>
    public string? TaskHubName { get; set; }

    /// <summary>With Azure Storage: false for a client without a worker (the orchestrations run elsewhere, e.g. in a child process).</summary>
    public bool StartWorker { get; set; } = true;

    /// <summary>Webhook host names to addresses; the test never resolves a real name.</summary>
    public IHostAddressResolver? Resolver { get; set; }

    /// <summary>With Azurite: keep the results store (job images, plans, manifests) in memory anyway (fast for huge jobs).</summary>
    public bool MemoryResultsStore { get; set; }

    /// <summary>Adds a catalog model whose UNet file is corrupt (a copy of the tiny SD-Turbo folder).</summary>
    public bool WithBrokenModel { get; set; }

    /// <summary>Function keys the HTTP host demands on function-level routes, as the Functions host does; none checked when null.</summary>
    public IReadOnlyCollection<string>? FunctionKeys { get; set; }
}

/// <summary>
/// The app as one process of it runs under the Functions host: its real service graph
/// (<see cref="FewStepServices.AddFewStep"/>), its orchestrator and activities on a real durable engine, and its
/// HTTP functions behind a real ASP.NET Core pipeline on loopback, driven with an <see cref="HttpClient"/>. The
/// catalog holds the conformance tiny models.
/// </summary>
internal sealed class TestApp : IAsyncDisposable
{
    public const string Model = "tiny-sd-turbo";
    public const string SdxlModel = "tiny-sdxl-turbo";
    public const string LcmModel = "tiny-lcm";
    public const string MissingModel = "not-installed";
    public const string BrokenModel = "tiny-sd-turbo-broken";

    /// <summary>tiny-sd-turbo with the corpus LCM-LoRA and LCMScheduler, as a catalog entry bundles them.</summary>
    public const string LcmLoraModel = "tiny-sd-turbo-lcm-lora";

    public const string LcmLora = "sd_lcm_lora_diffusers_fp16";

    private readonly DirectoryInfo _temp = Directory.CreateTempSubdirectory("fewstep-app-");
    private readonly CancellationTokenSource _stopping = new();
    private DurableTaskTestHost? _inProcess;
    private AzureStorageDurableHost? _azureStorage;
    private FunctionsHttpHost? _http;

    private TestApp()
    {
    }

    public ServiceProvider Services { get; private set; } = null!;

    public DurableTaskClient Client { get; private set; } = null!;

    public HttpClient Http { get; private set; } = null!;

    public FewStepOptions Options => Services.GetRequiredService<IOptions<FewStepOptions>>().Value;

    /// <summary>The fake renderer, unless the app renders for real or with a renderer given.</summary>
    public FakeRenderer? Fake { get; private set; }

    /// <summary>The in-memory stores (null with Azurite).</summary>
    public InMemoryImageStore? MemoryImages { get; private set; }

    public InMemoryImageStore? MemoryResults { get; private set; }

    public IImageStore Images => Services.GetRequiredKeyedService<IImageStore>(StoreKeys.Images);

    public IImageStore Results => Services.GetRequiredKeyedService<IImageStore>(StoreKeys.Results);

    public AzureStorageDurableHost? AzureStorageHost => _azureStorage;

    public string ModelRoot { get; private set; } = string.Empty;

    /// <summary>The settings the app was built with (for a second process of the same app).</summary>
    public IReadOnlyDictionary<string, string?> Settings { get; private set; } = new Dictionary<string, string?>();

    /// <summary>Registers the app's orchestrator and activities (this process's service graph) with another worker.</summary>
    public void RegisterTasks(ITaskRegistrar registrar) => AppTasks.Register(registrar, Services, _stopping.Token);

    public static async Task<TestApp> StartAsync(Action<TestAppOptions>? configure = null)
    {
        var options = new TestAppOptions();
        configure?.Invoke(options);
        var app = new TestApp();
        try
        {
            await app.InitializeAsync(options);
            return app;
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }
    }

    public Task<HttpResponseMessage> PostAsync(string json, string? idempotencyKey = null, string path = "api/generations")
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        if (idempotencyKey is not null)
        {
            request.Headers.TryAddWithoutValidation(GenerationsApi.IdempotencyKeyHeader, idempotencyKey);
        }

        return Http.SendAsync(request);
    }

    /// <summary>Posts a request that must be accepted; returns the 202 body.</summary>
    public async Task<JsonElement> StartAsync(string json, string? idempotencyKey = null)
    {
        using var response = await PostAsync(json, idempotencyKey);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == System.Net.HttpStatusCode.Accepted, $"POST answered {(int)response.StatusCode}: {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    public async Task<JsonElement> GetStatusAsync(string id)
    {
        using var response = await Http.GetAsync($"api/generations/{id}");
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"GET {id} answered {(int)response.StatusCode}: {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    /// <summary>Waits for the run to end and returns its final status as GET shows it.</summary>
    public async Task<JsonElement> WaitForEndAsync(string id, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        while (true)
        {
            var instance = await Client.GetInstanceAsync(id, getInputsAndOutputs: false, cts.Token);
            if (instance is not null && RunStatusReader.IsTerminal(instance.RuntimeStatus))
            {
                return await GetStatusAsync(id);
            }

            await Task.Delay(50, cts.Token);
        }
    }

    /// <summary>Polls <paramref name="condition"/> until it holds; fails after <paramref name="timeout"/>.</summary>
    public static async Task EventuallyAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out after {timeout.TotalSeconds} s waiting for {what}");
            await Task.Delay(25);
        }
    }

    public JobStorage JobStorage => Services.GetRequiredService<JobStorage>();

    public static string UniqueName(string extension) => $"t{Guid.NewGuid():N}{extension}";

    /// <summary>Uploads a job file to the <c>jobs</c> container (shared by tests: use <see cref="UniqueName"/>).</summary>
    public async Task<BlobClient> UploadJobAsync(string name, string text, bool bom = false)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        return await UploadJobAsync(name, bom ? [0xEF, 0xBB, 0xBF, .. bytes] : bytes);
    }

    public async Task<BlobClient> UploadJobAsync(string name, byte[] bytes)
    {
        await JobStorage.Jobs.CreateIfNotExistsAsync();
        var blob = JobStorage.Jobs.GetBlobClient(name);
        await blob.UploadAsync(BinaryData.FromBytes(bytes), overwrite: true);
        return blob;
    }

    /// <summary>What the blob trigger does, then waits for the run to end; the instance comes with its output.</summary>
    public async Task<OrchestrationMetadata> RunJobAsync(BlobClient blob, TimeSpan? timeout = null)
    {
        var id = await Services.GetRequiredService<JobStarter>().StartAsync(blob, Client, CancellationToken.None)
            ?? throw new InvalidOperationException("the job blob is gone");
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(120));
        return await Client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, cts.Token);
    }

    public async Task<JsonElement> ReadResultJsonAsync(string blobName)
    {
        var content = (await JobStorage.Results.GetBlobClient(blobName).DownloadContentAsync()).Value.Content;
        using var document = JsonDocument.Parse(content.ToMemory());
        return document.RootElement.Clone();
    }

    public async Task<int> CountRunsAsync()
    {
        var count = 0;
        await foreach (var _ in Client.GetAllInstancesAsync(new OrchestrationQuery { PageSize = 1000 }))
        {
            count++;
        }

        return count;
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        Http?.Dispose();
        if (_http is not null)
        {
            await _http.DisposeAsync();
        }

        if (_inProcess is not null)
        {
            await _inProcess.DisposeAsync();
        }

        if (_azureStorage is not null)
        {
            await _azureStorage.DisposeAsync();
        }

        if (Services is not null)
        {
            await Services.DisposeAsync();
        }

        _stopping.Dispose();
        try
        {
            _temp.Delete(recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private async Task InitializeAsync(TestAppOptions options)
    {
        ModelRoot = Directory.CreateDirectory(Path.Combine(_temp.FullName, "models")).FullName;
        var catalog = Path.Combine(_temp.FullName, "catalog.json");
        var models = new List<object>
        {
            new { name = Model, folder = ConformancePaths.Model(Model), steps = 1, min_steps = 1, max_steps = 4, guidance_scale = 0f, max_guidance_scale = 10f, width = 64, height = 64, max_width = 256, max_height = 256 },
            new { name = SdxlModel, folder = ConformancePaths.Model(SdxlModel), steps = 2, min_steps = 1, max_steps = 4, guidance_scale = 0f, max_guidance_scale = 10f, width = 64, height = 64, max_width = 256, max_height = 256 },
            new { name = LcmModel, folder = ConformancePaths.Model(LcmModel), steps = 4, min_steps = 1, max_steps = 8, guidance_scale = 8f, max_guidance_scale = 15f, width = 64, height = 64, max_width = 256, max_height = 256 },
            new { name = MissingModel, folder = "no-such-folder", steps = 1, min_steps = 1, max_steps = 4 },
        };

        // The corpus LoRAs, installed as a user would: files in <ModelRoot>/loras, named by file name.
        var loras = Directory.CreateDirectory(Path.Combine(ModelRoot, "loras")).FullName;
        foreach (var file in Directory.GetFiles(ConformancePaths.Loras, "*.safetensors"))
        {
            File.Copy(file, Path.Combine(loras, Path.GetFileName(file)));
        }

        var bundled = new
        {
            name = LcmLoraModel, folder = ConformancePaths.Model(Model), steps = 4, min_steps = 2, max_steps = 8, guidance_scale = 1f, max_guidance_scale = 2f,
            width = 64, height = 64, max_width = 256, max_height = 256,
            loras = new[] { new { name = LcmLora, scale = 1f } },
            scheduler = new Dictionary<string, string> { ["_class_name"] = "LCMScheduler" },
        };
        if (options.WithBrokenModel)
        {
            models.Add(new { name = BrokenModel, folder = CopyWithCorruptUnet(ConformancePaths.CopyModel(Model, ModelRoot, BrokenModel)), steps = 1, min_steps = 1, max_steps = 4, guidance_scale = 0f, max_guidance_scale = 10f, width = 64, height = 64, max_width = 256, max_height = 256 });
        }

        await File.WriteAllTextAsync(catalog, JsonSerializer.Serialize(new { models = models.Append(bundled) }));

        var settings = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase)
        {
            [StorageClientFactory.SettingName] = options.Azurite?.ConnectionString ?? "UseDevelopmentStorage=true",
            ["FewStep:ModelRoot"] = ModelRoot,
            ["FewStep:ModelCatalogFile"] = catalog,
            ["FewStep:BatchSize"] = "2",
            ["FewStep:RenderFirstRetryInterval"] = "00:00:00.050",
            ["FewStep:WebhookFirstRetryInterval"] = "00:00:00.050",
            ["FewStep:CancelPollInterval"] = "00:00:00.100",
            ["FewStep:QueueStatsMaxAge"] = "00:00:00.200",
            ["Onnx:ExecutionProvider"] = "Cpu",
        };
        if (options.Azurite is not null)
        {
            settings["FewStep:ImagesContainer"] = AzuriteFixture.NewContainerName("images");
            settings["FewStep:ResultsContainer"] = AzuriteFixture.NewContainerName("results");
            settings["FewStep:RejectedJobsContainer"] = AzuriteFixture.NewContainerName("rejected");
        }

        foreach (var (key, value) in options.Settings)
        {
            settings[key] = value;
        }

        Settings = settings;
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection().AddLogging(logging => logging.SetMinimumLevel(LogLevel.Warning));
        if (options.Azurite is null)
        {
            MemoryImages = new InMemoryImageStore();
            MemoryResults = new InMemoryImageStore();
            services.AddKeyedSingleton<IImageStore>(StoreKeys.Images, MemoryImages);
            services.AddKeyedSingleton<IImageStore>(StoreKeys.Results, MemoryResults);
        }
        else if (options.MemoryResultsStore)
        {
            MemoryResults = new InMemoryImageStore();
            services.AddKeyedSingleton<IImageStore>(StoreKeys.Results, MemoryResults);
        }

        if (options.RealRenderer && options.WrapRenderer is { } wrap)
        {
            services.AddSingleton<IImageRenderer>(sp => wrap(ActivatorUtilities.CreateInstance<PipelineImageRenderer>(sp)));
        }

        if (!options.RealRenderer)
        {
            var renderer = options.Renderer ?? (Fake = new FakeRenderer());
            services.AddSingleton(renderer);
        }

        if (options.Resolver is not null)
        {
            services.AddSingleton(options.Resolver);
        }

        Services = services.AddFewStep(configuration).BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });

        // What the host's ValidateOnStart does: a bad setting fails here, naming it.
        _ = Options;
        _ = Services.GetRequiredService<IOptions<FewStep.Onnx.Sessions.OnnxExecutionOptions>>().Value;

        void Register(ITaskRegistrar registrar) => AppTasks.Register(registrar, Services, _stopping.Token);
        if (options.Backend == DurableBackend.AzureStorage)
        {
            var azurite = options.Azurite ?? throw new InvalidOperationException("The Azure Storage durable backend needs Azurite.");
            _azureStorage = await AzureStorageDurableHost.StartAsync(
                azurite.ConnectionString, options.TaskHubName ?? AzureStorageDurableHost.NewTaskHubName(), options.StartWorker ? Register : null, options.DurableOptions);
            Client = _azureStorage.Client;
        }
        else
        {
            _inProcess = await InProcessDurableHost.StartAsync(Register);
            Client = _inProcess.Client;
        }

        _http = await FunctionsHttpHost.StartAsync(Services, Client, options.FunctionKeys, typeof(GenerationsApi), typeof(JobsApi), typeof(OpenAiImagesApi), typeof(KeyCheckApi), typeof(FewStep.Functions.Playground.PlaygroundApi));
        Http = new HttpClient { BaseAddress = _http.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        if (options.FunctionKeys?.FirstOrDefault() is { } functionKey)
        {
            Http.DefaultRequestHeaders.Add("x-functions-key", functionKey);
        }
    }

    private static string CopyWithCorruptUnet(string copy)
    {
        File.WriteAllText(Path.Combine(copy, "unet", "model.onnx"), "not an onnx model");
        return copy;
    }
}
