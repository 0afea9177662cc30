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
        var sessions = new OnnxSessionFactory(new OnnxExecutionOptions { ExecutionProvider = provider, FallBackToCpu = true });
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
}
