using FewStep.Diffusion;
using FewStep.Diffusion.Catalog;

namespace FewStep.Functions.Options;

/// <summary>The app's settings (section <c>FewStep</c>; environment variables <c>FewStep__Name</c>), validated at start-up.</summary>
public sealed class FewStepOptions
{
    public const string SectionName = "FewStep";

    /// <summary>Folder holding the model folders (catalog entries resolve their <c>folder</c> against it).</summary>
    public string ModelRoot { get; set; } = string.Empty;

    /// <summary>A catalog file extending the built-in one; default <c>{ModelRoot}/catalog.json</c> when that exists.</summary>
    public string? ModelCatalogFile { get; set; }

    /// <summary>Images rendered together in one UNet batch (one activity).</summary>
    public int BatchSize { get; set; } = 4;

    /// <summary>
    /// Batches of one generation (or job) queued or rendering at once. The orchestrator feeds the next batch as one
    /// finishes, so a large request never holds more than this many places in the GPU queue.
    /// </summary>
    public int RenderWindow { get; set; } = 2;

    /// <summary>
    /// Batches one orchestration execution schedules before it continues as new, so its durable history stays
    /// small however large the request (10,000 images in batches of 4 are 40 executions of 64 batches).
    /// </summary>
    public int BatchesPerExecution { get; set; } = 64;

    /// <summary>
    /// Images accepted but not yet rendered, across the service, above which <c>POST /api/generations</c> answers
    /// 429. At least <see cref="MaxImagesPerRequest"/>, so every valid request fits an empty queue.
    /// </summary>
    public int MaxQueuedImages { get; set; } = 20_000;

    /// <summary>The <c>Retry-After</c> of a 429.</summary>
    public TimeSpan QueueFullRetryAfter { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How old the service-wide count of queued images may be (one durable query per worker per this interval).</summary>
    public TimeSpan QueueStatsMaxAge { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How often a batch that is waiting or rendering looks for its generation's cancel marker (another instance's DELETE).</summary>
    public TimeSpan CancelPollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The <c>Retry-After</c> of a status answer while a generation runs, and of a 202.</summary>
    public TimeSpan StatusRetryAfter { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Accept webhooks to loopback addresses (and plain http to them): for local testing only. Private, link-local,
    /// unique-local, multicast and metadata addresses are refused whatever this says.
    /// </summary>
    public bool AllowLoopbackWebhooks { get; set; }

    public int MaxImagesPerRequest { get; set; } = 10_000;

    public int MaxPromptsPerRequest { get; set; } = 1_000;

    public int MaxImagesPerPrompt { get; set; } = 10_000;

    /// <summary>Characters per prompt.</summary>
    public int MaxPromptLength { get; set; } = 2_000;

    /// <summary>Largest request body in bytes; more gets 413.</summary>
    public int MaxRequestBytes { get; set; } = 1_048_576;

    /// <summary>Service-wide size caps on top of each model's own limits.</summary>
    public int MaxWidth { get; set; } = 2048;

    public int MaxHeight { get; set; } = 2048;

    public string ImagesContainer { get; set; } = "images";

    /// <summary>Where a job's images, manifest and error report go: <c>{ResultsContainer}/{name}/</c>.</summary>
    public string ResultsContainer { get; set; } = "results";

    /// <summary>Where a rejected job file is moved, so it is visibly done with and never retried.</summary>
    public string RejectedJobsContainer { get; set; } = "jobs-rejected";

    /// <summary>Largest job file in bytes.</summary>
    public long MaxJobBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>Most requests (lines) in one job file.</summary>
    public int MaxJobRequests { get; set; } = 10_000;

    /// <summary>Longest line of a <c>.jsonl</c> job in bytes.</summary>
    public int MaxJobLineBytes { get; set; } = 65_536;

    /// <summary>How long an image URL (read-only SAS) stays valid.</summary>
    public TimeSpan SasLifetime { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// Which of PyTorch's CPU normal kernels turns seeds into noise: <c>Avx2</c> (what diffusers gives on every
    /// x86-64 machine with AVX2) or <c>Default</c> (torch on ARM or without AVX2). Fixed per request when it is accepted.
    /// </summary>
    public FewStep.Diffusion.Noise.TorchNormalKernel NoiseKernel { get; set; } = FewStep.Diffusion.Noise.TorchNormalKernel.Avx2;

    /// <summary>Batches of one worker process rendering at once: one per GPU. Waiting batches are served round-robin across generations.</summary>
    public int MaxConcurrentRenders { get; set; } = 1;

    /// <summary>Attempts for a batch that fails transiently (storage 5xx or timeout, GPU out of memory).</summary>
    public int RenderMaxAttempts { get; set; } = 4;

    /// <summary>
    /// Pipelines with LoRAs merged kept loaded per model (least recently used evicted); the plain model is kept
    /// besides. Each costs the memory of the weights its LoRAs change (most of a UNet for LCM-LoRA).
    /// </summary>
    public int MaxLoraVariantsPerModel { get; set; } = 2;

    /// <summary>LoRAs one request may name (<c>loras</c>), on top of those its catalog model bundles.</summary>
    public int MaxLorasPerRequest { get; set; } = 4;

    public TimeSpan RenderFirstRetryInterval { get; set; } = TimeSpan.FromSeconds(5);

    public double RenderBackoffCoefficient { get; set; } = 2.0;

    public int WebhookMaxAttempts { get; set; } = 5;

    public TimeSpan WebhookFirstRetryInterval { get; set; } = TimeSpan.FromSeconds(10);

    public TimeSpan WebhookTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How often a rendering batch refreshes the live preview in its run's status (the first step always does);
    /// zero turns previews off.
    /// </summary>
    public TimeSpan PreviewInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The catalog model of an OpenAI-style request that names none (<c>POST /v1/images/generations</c>); none when empty.</summary>
    public string? DefaultModel { get; set; }

    /// <summary>Most images (<c>n</c>) one <c>POST /v1/images/generations</c> may ask for.</summary>
    public int OpenAiMaxImages { get; set; } = 10;

    /// <summary>
    /// How long <c>POST /v1/images/generations</c> waits for its images before answering 202 with the status URL.
    /// Well inside the 230 s a Functions front end keeps an HTTP request open.
    /// </summary>
    public TimeSpan OpenAiWait { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// The app's own key-check function (<c>GET /api/keys/check</c>, function-level), which the <c>/v1</c> routes ask
    /// whether a key sent as <c>Authorization: Bearer</c> is a function key. Default: <c>https://$WEBSITE_HOSTNAME/api/keys/check</c>
    /// (<c>http://</c> for localhost), else the address the request came to.
    /// </summary>
    public string? KeyCheckUrl { get; set; }

    /// <summary>How long a key the host accepted (or refused: a tenth of it) is remembered by the <c>/v1</c> routes.</summary>
    public TimeSpan ApiKeyCacheLifetime { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Problems with these settings, each naming the setting; empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        void Check(bool ok, string setting, string rule)
        {
            if (!ok)
            {
                errors.Add($"{SectionName}:{setting} {rule}.");
            }
        }

        Check(!string.IsNullOrWhiteSpace(ModelRoot), nameof(ModelRoot), "must name the folder holding the model folders");
        Check(string.IsNullOrWhiteSpace(ModelRoot) || Directory.Exists(ModelRoot), nameof(ModelRoot), $"'{ModelRoot}' does not exist");
        Check(ModelCatalogFile is null || File.Exists(ModelCatalogFile), nameof(ModelCatalogFile), $"'{ModelCatalogFile}' does not exist");
        Check(BatchSize is >= 1 and <= 64, nameof(BatchSize), "must be 1 to 64");
        Check(RenderWindow is >= 1 and <= 64, nameof(RenderWindow), $"must be 1 to 64, not {RenderWindow}");
        Check(BatchesPerExecution >= RenderWindow && BatchesPerExecution <= 1024, nameof(BatchesPerExecution), $"must be {nameof(RenderWindow)} ({RenderWindow}) to 1024, not {BatchesPerExecution}");
        Check(MaxQueuedImages >= MaxImagesPerRequest, nameof(MaxQueuedImages), $"must be at least {nameof(MaxImagesPerRequest)} ({MaxImagesPerRequest}), or the largest valid request could never be accepted; it is {MaxQueuedImages}");
        Check(QueueFullRetryAfter >= TimeSpan.FromSeconds(1) && QueueFullRetryAfter <= TimeSpan.FromHours(1), nameof(QueueFullRetryAfter), "must be 1 second to 1 hour");
        Check(QueueStatsMaxAge > TimeSpan.Zero && QueueStatsMaxAge <= TimeSpan.FromMinutes(5), nameof(QueueStatsMaxAge), "must be more than 0 and at most 5 minutes");
        Check(CancelPollInterval >= TimeSpan.FromMilliseconds(50) && CancelPollInterval <= TimeSpan.FromMinutes(1), nameof(CancelPollInterval), "must be 50 ms to 1 minute");
        Check(StatusRetryAfter >= TimeSpan.FromSeconds(1) && StatusRetryAfter <= TimeSpan.FromMinutes(10), nameof(StatusRetryAfter), "must be 1 second to 10 minutes");
        Check(MaxImagesPerRequest >= 1, nameof(MaxImagesPerRequest), "must be at least 1");
        Check(MaxPromptsPerRequest >= 1, nameof(MaxPromptsPerRequest), "must be at least 1");
        Check(MaxImagesPerPrompt >= 1, nameof(MaxImagesPerPrompt), "must be at least 1");
        Check(MaxPromptLength >= 1, nameof(MaxPromptLength), "must be at least 1");
        Check(MaxRequestBytes >= 1024, nameof(MaxRequestBytes), "must be at least 1024");
        Check(MaxWidth >= 8 && MaxHeight >= 8, $"{nameof(MaxWidth)}/{nameof(MaxHeight)}", "must be at least 8");
        Check(IsContainerName(ImagesContainer), nameof(ImagesContainer), $"'{ImagesContainer}' is not a valid blob container name (3-63 lower-case letters, digits and dashes)");
        Check(IsContainerName(ResultsContainer), nameof(ResultsContainer), $"'{ResultsContainer}' is not a valid blob container name");
        Check(IsContainerName(RejectedJobsContainer), nameof(RejectedJobsContainer), $"'{RejectedJobsContainer}' is not a valid blob container name");
        Check(MaxJobBytes >= 1024, nameof(MaxJobBytes), "must be at least 1024");
        Check(MaxJobRequests >= 1, nameof(MaxJobRequests), "must be at least 1");
        Check(MaxJobLineBytes >= 256, nameof(MaxJobLineBytes), "must be at least 256");
        Check(SasLifetime > TimeSpan.Zero && SasLifetime <= TimeSpan.FromDays(7), nameof(SasLifetime), "must be more than 0 and at most 7 days (the user-delegation SAS limit)");
        Check(Enum.IsDefined(NoiseKernel), nameof(NoiseKernel), "must be Avx2 or Default");
        Check(MaxConcurrentRenders >= 1, nameof(MaxConcurrentRenders), "must be at least 1");
        Check(MaxLoraVariantsPerModel is >= 0 and <= 64, nameof(MaxLoraVariantsPerModel), $"must be 0 to 64, not {MaxLoraVariantsPerModel}");
        Check(MaxLorasPerRequest is >= 0 and <= 16, nameof(MaxLorasPerRequest), $"must be 0 to 16, not {MaxLorasPerRequest}");
        Check(RenderMaxAttempts >= 1, nameof(RenderMaxAttempts), "must be at least 1");
        Check(RenderFirstRetryInterval > TimeSpan.Zero, nameof(RenderFirstRetryInterval), "must be positive");
        Check(RenderBackoffCoefficient >= 1, nameof(RenderBackoffCoefficient), "must be at least 1");
        Check(WebhookMaxAttempts >= 1, nameof(WebhookMaxAttempts), "must be at least 1");
        Check(WebhookFirstRetryInterval > TimeSpan.Zero, nameof(WebhookFirstRetryInterval), "must be positive");
        Check(WebhookTimeout > TimeSpan.Zero, nameof(WebhookTimeout), "must be positive");
        Check(PreviewInterval == TimeSpan.Zero || (PreviewInterval >= TimeSpan.FromSeconds(1) && PreviewInterval <= TimeSpan.FromMinutes(1)), nameof(PreviewInterval), "must be 0 (off) or 1 second to 1 minute (a preview is a blob write)");
        Check(OpenAiMaxImages is >= 1 and <= 100 && OpenAiMaxImages <= MaxImagesPerRequest, nameof(OpenAiMaxImages), $"must be 1 to 100 and at most {nameof(MaxImagesPerRequest)}, not {OpenAiMaxImages}");
        Check(OpenAiWait >= TimeSpan.Zero && OpenAiWait <= TimeSpan.FromSeconds(220), nameof(OpenAiWait), "must be 0 to 220 seconds (a Functions front end ends an HTTP request at 230 s)");
        Check(KeyCheckUrl is null || (Uri.TryCreate(KeyCheckUrl, UriKind.Absolute, out var check) && check.Scheme is "http" or "https"), nameof(KeyCheckUrl), $"'{KeyCheckUrl}' is not an absolute http(s) URL");
        Check(ApiKeyCacheLifetime >= TimeSpan.Zero && ApiKeyCacheLifetime <= TimeSpan.FromHours(1), nameof(ApiKeyCacheLifetime), "must be 0 to 1 hour");
        if (!string.IsNullOrEmpty(DefaultModel) && errors.Count == 0)
        {
            try
            {
                var catalog = EffectiveCatalogFile is { } file ? ModelCatalog.BuiltIn.Extend(ModelCatalog.Load(file)) : ModelCatalog.BuiltIn;
                Check(catalog.TryGet(DefaultModel, out var entry) && string.Equals(entry.Name, DefaultModel, StringComparison.Ordinal), nameof(DefaultModel),
                    $"'{DefaultModel}' is not a catalog model (models: {string.Join(", ", catalog.Entries.Select(e => e.Name).Order(StringComparer.Ordinal))})");
            }
            catch (DiffusionException e)
            {
                errors.Add($"{SectionName}:{nameof(ModelCatalogFile)}: {e.Message}");
            }
        }
        return errors;
    }

    public string? EffectiveCatalogFile =>
        ModelCatalogFile ?? (File.Exists(Path.Combine(ModelRoot, "catalog.json")) ? Path.Combine(ModelRoot, "catalog.json") : null);

    private static bool IsContainerName(string name) =>
        name is { Length: >= 3 and <= 63 } && name.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-')
        && name[0] != '-' && name[^1] != '-' && !name.Contains("--", StringComparison.Ordinal);
}
