using Azure;
using FewStep.Functions.Options;
using FewStep.Functions.Orchestration;
using FewStep.Onnx.Sessions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.ML.OnnxRuntime;

namespace FewStep.Functions.Tests.Configuration;

/// <summary>Bad settings stop the app at start-up with messages naming them; failures are classed for retries.</summary>
public sealed class StartupValidationTests
{
    [Fact]
    public void Every_bad_setting_is_named_when_the_options_are_first_used()
    {
        var services = Services(new Dictionary<string, string?>
        {
            ["FewStep:ModelRoot"] = "/no/such/folder",
            ["FewStep:BatchSize"] = "0",
            ["FewStep:ImagesContainer"] = "Images_!",
            ["FewStep:SasLifetime"] = "30.00:00:00",
            ["Onnx:DeviceId"] = "-1",
        });

        var fewStep = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<FewStepOptions>>().Value);
        var onnx = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<OnnxExecutionOptions>>().Value);

        Assert.Contains("FewStep:ModelRoot '/no/such/folder' does not exist", fewStep.Message, StringComparison.Ordinal);
        Assert.Contains("FewStep:BatchSize", fewStep.Message, StringComparison.Ordinal);
        Assert.Contains("FewStep:ImagesContainer", fewStep.Message, StringComparison.Ordinal);
        Assert.Contains("FewStep:SasLifetime", fewStep.Message, StringComparison.Ordinal);
        Assert.Contains("Onnx:DeviceId", onnx.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("RenderWindow", "0")]
    [InlineData("RenderWindow", "-3")]
    [InlineData("BatchesPerExecution", "1")]
    [InlineData("MaxQueuedImages", "9999")]
    [InlineData("QueueFullRetryAfter", "00:00:00")]
    [InlineData("QueueStatsMaxAge", "00:00:00")]
    [InlineData("CancelPollInterval", "00:00:00.001")]
    [InlineData("StatusRetryAfter", "00:00:00")]
    [InlineData("OpenAiMaxImages", "0")]
    [InlineData("OpenAiMaxImages", "101")]
    [InlineData("OpenAiWait", "00:04:00")]
    [InlineData("KeyCheckUrl", "not a url")]
    [InlineData("KeyCheckUrl", "ftp://host/api/keys/check")]
    [InlineData("ApiKeyCacheLifetime", "02:00:00")]
    [InlineData("DefaultModel", "dall-e-3")]
    [InlineData("DefaultModel", "SD-TURBO")]
    public void Each_queueing_and_cancellation_setting_is_checked_by_name(string setting, string value)
    {
        var services = Services(new Dictionary<string, string?>
        {
            ["FewStep:ModelRoot"] = Path.GetTempPath(),
            ["FewStep:RenderWindow"] = "2",
            [$"FewStep:{setting}"] = value,
        });

        var error = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<FewStepOptions>>().Value);

        Assert.Contains($"FewStep:{setting}", error.Message, StringComparison.Ordinal);
        Assert.Single(error.Failures);
    }

    [Fact]
    public void The_defaults_are_valid()
    {
        var services = Services(new Dictionary<string, string?> { ["FewStep:ModelRoot"] = Path.GetTempPath() });

        var options = services.GetRequiredService<IOptions<FewStepOptions>>().Value;

        Assert.Equal((2, 64, 20_000, false), (options.RenderWindow, options.BatchesPerExecution, options.MaxQueuedImages, options.AllowLoopbackWebhooks));
        Assert.Equal(FewStep.Diffusion.Noise.TorchNormalKernel.Avx2, options.NoiseKernel);
    }

    [Fact]
    public void Missing_storage_settings_say_what_to_set()
    {
        var services = Services(new Dictionary<string, string?> { ["FewStep:ModelRoot"] = Path.GetTempPath() }, storage: false);

        var error = Assert.Throws<InvalidOperationException>(() => services.GetRequiredService<Azure.Storage.Blobs.BlobServiceClient>());

        Assert.Contains("AzureWebJobsStorage__blobServiceUri", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Identity_based_storage_settings_give_a_client_without_keys()
    {
        var services = Services(new Dictionary<string, string?>
        {
            ["FewStep:ModelRoot"] = Path.GetTempPath(),
            ["AzureWebJobsStorage:blobServiceUri"] = "https://account.blob.core.windows.net",
            ["AzureWebJobsStorage:credential"] = "managedidentity",
            ["AzureWebJobsStorage:clientId"] = "00000000-0000-0000-0000-000000000001",
        }, storage: false);

        var client = services.GetRequiredService<Azure.Storage.Blobs.BlobServiceClient>();

        Assert.Equal("account", client.AccountName);
        Assert.False(client.CanGenerateAccountSasUri);
    }

    public static TheoryData<Exception, bool> Failures() => new()
    {
        { new RequestFailedException(503, "server busy"), true },
        { new RequestFailedException(500, "internal"), true },
        { new RequestFailedException(429, "throttled"), true },
        { new RequestFailedException(408, "timeout"), true },
        { new RequestFailedException(0, "connection reset"), true },
        { new RequestFailedException(400, "bad request"), false },
        { new RequestFailedException(403, "forbidden"), false },
        { new TimeoutException(), true },
        { new IOException("pipe broken"), true },
        { new HttpRequestException("no route"), true },
        { Onnx("CUDA failure 2: out of memory"), true },
        { Onnx("Failed to allocate memory for requested buffer of size 123"), true },
        { Onnx("Got invalid dimensions for input: sample"), false },
        { new FewStep.Diffusion.DiffusionException("width must be a multiple of 64"), false },
        { new InvalidOperationException(), false },
    };

    [Theory]
    [MemberData(nameof(Failures))]
    public void Only_passing_failures_are_retried(Exception failure, bool transient)
    {
        Assert.Equal(transient, TransientErrors.IsTransient(failure));
    }

    // OnnxRuntimeException has only internal constructors: ONNX Runtime alone makes them.
    private static OnnxRuntimeException Onnx(string message)
    {
        var errorCode = typeof(OnnxRuntimeException).Assembly.GetType("Microsoft.ML.OnnxRuntime.ErrorCode")!;
        return (OnnxRuntimeException)Activator.CreateInstance(
            typeof(OnnxRuntimeException),
            System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance,
            binder: null,
            [Enum.ToObject(errorCode, 1), message],
            culture: null)!;
    }

    private static ServiceProvider Services(Dictionary<string, string?> settings, bool storage = true)
    {
        if (storage)
        {
            settings["AzureWebJobsStorage"] = "UseDevelopmentStorage=true";
        }

        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        return new ServiceCollection().AddLogging().AddFewStep(configuration).BuildServiceProvider();
    }
}
