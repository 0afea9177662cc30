using FewStep.Functions.Cancellation;
using FewStep.Functions.Jobs;
using FewStep.Functions.Manifests;
using FewStep.Functions.OpenAi;
using FewStep.Functions.Options;
using FewStep.Functions.Orchestration;
using FewStep.Functions.Plans;
using FewStep.Functions.Queueing;
using FewStep.Functions.Rendering;
using FewStep.Functions.Storage;
using FewStep.Functions.Triggers;
using FewStep.Functions.Validation;
using FewStep.Functions.Webhooks;
using FewStep.Onnx.Sessions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
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
        services.TryAddSingleton(TimeProvider.System);

        // Models and rendering.
        services.AddSingleton(sp => new OnnxSessionFactory(sp.GetRequiredService<IOptions<OnnxExecutionOptions>>().Value, sp.GetRequiredService<ILogger<OnnxSessionFactory>>()));
        services.AddSingleton<ModelRegistry>();
        services.TryAddSingleton<IImageRenderer, PipelineImageRenderer>();
        services.AddSingleton<FairRenderGate>();

        // Storage: the images container (generations) and the results container (jobs).
        services.AddSingleton(_ => StorageClientFactory.Create(configuration));
        services.TryAddKeyedSingleton<IImageStore>(StoreKeys.Images, (sp, _) => new BlobImageStore(
            sp.GetRequiredService<Azure.Storage.Blobs.BlobServiceClient>(), sp.GetRequiredService<IOptions<FewStepOptions>>(), sp.GetRequiredService<TimeProvider>()));
        services.TryAddKeyedSingleton<IImageStore>(StoreKeys.Results, (sp, _) =>
        {
            var options = sp.GetRequiredService<IOptions<FewStepOptions>>().Value;
            return new BlobImageStore(sp.GetRequiredService<Azure.Storage.Blobs.BlobServiceClient>(), options.ResultsContainer, options.SasLifetime, sp.GetRequiredService<TimeProvider>());
        });
        services.AddSingleton<RunStores>();
        services.AddSingleton<RunPlanStore>();
        services.AddSingleton<RunCancellation>();

        // The API.
        services.AddSingleton<GenerationRequestParser>();
        services.AddSingleton<RunStatusReader>();
        services.AddSingleton<QueueAdmission>();
        services.AddSingleton<JobFileParser>();
        services.AddSingleton<JobStorage>();
        services.AddSingleton<JobStarter>();
        services.AddSingleton<GenerationStarter>();
        services.AddSingleton<OpenAiRequestTranslator>();
        services.AddSingleton<ApiKeyVerifier>();
        services.AddHttpClient(ApiKeyVerifier.HttpClientName, client => client.Timeout = TimeSpan.FromSeconds(10));

        // Webhooks: every address checked when the request arrives and again when the connection opens.
        services.TryAddSingleton<IHostAddressResolver, DnsHostAddressResolver>();
        services.AddSingleton(sp => new WebhookAddressPolicy(sp.GetRequiredService<IHostAddressResolver>(), sp.GetRequiredService<IOptions<FewStepOptions>>().Value.AllowLoopbackWebhooks));
        services.AddHttpClient(NotifyWebhookActivity.HttpClientName, (sp, client) =>
                client.Timeout = sp.GetRequiredService<IOptions<FewStepOptions>>().Value.WebhookTimeout)
            .ConfigurePrimaryHttpMessageHandler(sp => WebhookHttpHandler.Create(sp.GetRequiredService<WebhookAddressPolicy>(), TimeSpan.FromSeconds(10)));

        // Activities and triggers are created by the Functions host; registered here so a graph built outside it
        // (tests, tools) creates them the same way.
        services.AddTransient<RenderBatchActivity>();
        services.AddTransient<WriteManifestActivity>();
        services.AddTransient<NotifyWebhookActivity>();
        services.AddTransient<PlanJobActivity>();
        services.AddTransient<GenerationsApi>();
        services.AddTransient<JobsApi>();
        services.AddTransient<OpenAiImagesApi>();
        services.AddTransient<JobTriggers>();
        return services;
    }
}
