using Microsoft.Extensions.Configuration;
using FewStep.Onnx.Lora;
using FewStep.Onnx.Pipelines;
using FewStep.Onnx.Sessions;
using Spectre.Console;

namespace FewStep.Cli.Infrastructure;

/// <summary>Loads a pipeline behind a spinner and says when CUDA was asked for but CPU is used.</summary>
internal static class PipelineLoader
{
    public static Task<ITextToImagePipeline> LoadAsync(CliContext context, ResolvedModel model, ExecutionProviderKind provider, CancellationToken cancellationToken) =>
        LoadAsync(context, model, provider, [], cancellationToken);

    /// <summary>Loads the pipeline with <paramref name="loras"/> merged (a CLI run needs one LoRA set, so nothing is cached).</summary>
    public static async Task<ITextToImagePipeline> LoadAsync(
        CliContext context, ResolvedModel model, ExecutionProviderKind provider, IReadOnlyList<LoraSpec> loras, CancellationToken cancellationToken)
    {
        var sessions = new OnnxSessionFactory(ExecutionOptions(provider));
        var with = loras.Count == 0 ? string.Empty : $" with {loras.Count} LoRA(s)";
        var pipeline = await context.Console.Status()
            .StartAsync($"Loading {Markup.Escape(model.Name)}{with}...", _ => Task.Run(
                () => TextToImagePipeline.Load(model.Folder, sessions, new PipelineLoadOptions { Loras = loras }), cancellationToken))
            .ConfigureAwait(false);
        if (provider == ExecutionProviderKind.Cuda && pipeline.Provider != ExecutionProviderKind.Cuda)
        {
            context.Console.MarkupLineInterpolated($"[yellow]warning:[/] CUDA is not usable ({sessions.CudaFailure ?? "unknown reason"}); running on CPU.");
        }

        return pipeline;
    }

    /// <summary>
    /// The <c>Onnx</c> settings from <c>Onnx__*</c> environment variables, as the Functions app reads them (memory,
    /// threads, attention fusion, CUDA provider options); <c>--device</c> chooses the provider, and a CLI run falls
    /// back to CPU when CUDA is unusable.
    /// </summary>
    internal static OnnxExecutionOptions ExecutionOptions(ExecutionProviderKind provider)
    {
        // A CLI run is over before cuDNN's exhaustive search would pay for itself.
        var options = new OnnxExecutionOptions { CudnnConvAlgoSearch = "HEURISTIC" };
        new ConfigurationBuilder().AddEnvironmentVariables().Build().GetSection(OnnxExecutionOptions.SectionName).Bind(options);
        options.ExecutionProvider = provider;
        options.FallBackToCpu = true;
        return options;
    }
}
