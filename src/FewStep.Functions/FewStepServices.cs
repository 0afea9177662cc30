using FewStep.Functions.Jobs;
using FewStep.Functions.Options;
using FewStep.Functions.Orchestration;
using FewStep.Functions.Rendering;
using FewStep.Functions.Storage;
using FewStep.Functions.Triggers;
using FewStep.Functions.Validation;
using FewStep.Onnx.Sessions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FewStep.Functions;

/// <summary>The app's services, also used by the tests to build the same graph.</summary>
public static class FewStepServices
{
    public static IServiceCollection AddFewStep(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        // Bound to the configuration given (not the one in the container), so options and storage read the same
        // settings, and a graph built outside the Functions host (tests, tools) needs no IConfiguration service.
        services.AddOptions<FewStepOptions>().Bind(configuration.GetSection(FewStepOptions.SectionName)).ValidateOnStart();
        services.AddOptions<OnnxExecutionOptions>().Bind(configuration.GetSection(OnnxExecutionOptions.SectionName)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<FewStepOptions>, FewStepOptionsValidator>();
        services.AddSingleton<IValidateOptions<OnnxExecutionOptions>, FewStepOptionsValidator>();
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(sp => new OnnxSessionFactory(sp.GetRequiredService<IOptions<OnnxExecutionOptions>>().Value, sp.GetRequiredService<ILogger<OnnxSessionFactory>>()));
        services.AddSingleton<ModelRegistry>();
        services.AddSingleton<IImageRenderer, PipelineImageRenderer>();
        services.AddSingleton(_ => StorageClientFactory.Create(configuration));
        services.AddSingleton<IImageStore, BlobImageStore>();
        services.AddKeyedSingleton<IImageStore>(StoreKeys.Images, (sp, _) => sp.GetRequiredService<IImageStore>());
        services.AddKeyedSingleton<IImageStore>(StoreKeys.Results, (sp, _) =>
        {
            var options = sp.GetRequiredService<IOptions<FewStepOptions>>().Value;
            return new BlobImageStore(sp.GetRequiredService<Azure.Storage.Blobs.BlobServiceClient>(), options.ResultsContainer, options.SasLifetime, sp.GetRequiredService<TimeProvider>());
        });
        services.AddSingleton<GenerationRequestParser>();
        services.AddSingleton(sp => new GenerationStatusReader(
            sp.GetRequiredKeyedService<IImageStore>(StoreKeys.Images), sp.GetRequiredKeyedService<IImageStore>(StoreKeys.Results)));
        services.AddSingleton<JobFileParser>();
        services.AddSingleton<JobStorage>();
        services.AddSingleton<JobStarter>();
        services.AddHttpClient(NotifyWebhookActivity.HttpClientName, (sp, client) =>
            client.Timeout = sp.GetRequiredService<IOptions<FewStepOptions>>().Value.WebhookTimeout);
        return services;
    }
}
