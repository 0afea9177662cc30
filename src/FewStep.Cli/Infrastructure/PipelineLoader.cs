using FewStep.Onnx.Pipelines;
using FewStep.Onnx.Sessions;
using Spectre.Console;

namespace FewStep.Cli.Infrastructure;

/// <summary>Loads a pipeline behind a spinner and says when CUDA was asked for but CPU is used.</summary>
internal static class PipelineLoader
{
    public static async Task<ITextToImagePipeline> LoadAsync(CliContext context, ResolvedModel model, ExecutionProviderKind provider, CancellationToken cancellationToken)
    {
        var sessions = new OnnxSessionFactory(new OnnxExecutionOptions { ExecutionProvider = provider, FallBackToCpu = true });
        var pipeline = await context.Console.Status()
            .StartAsync($"Loading {Markup.Escape(model.Name)}...", _ => Task.Run(() => TextToImagePipeline.Load(model.Folder, sessions), cancellationToken))
            .ConfigureAwait(false);
        if (provider == ExecutionProviderKind.Cuda && pipeline.Provider != ExecutionProviderKind.Cuda)
        {
            context.Console.MarkupLineInterpolated($"[yellow]warning:[/] CUDA is not usable ({sessions.CudaFailure ?? "unknown reason"}); running on CPU.");
        }

        return pipeline;
    }
}
