using FewStep.Diffusion.Configuration;
using FewStep.Diffusion.Noise;
using FewStep.Diffusion.Schedulers;
using FewStep.Onnx.Sessions;

namespace FewStep.Onnx.Pipelines;

/// <summary>
/// A loaded few-step text-to-image pipeline over one ONNX model folder, whatever its family: what the Functions app,
/// the CLI, the benchmark and the conformance runner need. <see cref="TextToImagePipeline.Load"/> picks the
/// implementation from <c>model_index.json</c>. Implementations are safe for concurrent <see cref="Generate"/> calls.
/// </summary>
public interface ITextToImagePipeline : IDisposable
{
    ModelFolder Folder { get; }

    PipelineFamily Family { get; }

    /// <summary>The folder's scheduler config, before any per-request overrides.</summary>
    SchedulerConfig SchedulerConfig { get; }

    /// <summary>Allowed and default image sizes, from the denoiser's and the VAE's configs.</summary>
    ModelGeometry Geometry { get; }

    /// <summary>Width and height must be multiples of this.</summary>
    int SizeMultiple { get; }

    /// <summary>The size a request without width or height gets (diffusers' default).</summary>
    int DefaultSize { get; }

    ExecutionProviderKind Provider { get; }

    /// <summary>
    /// The CUDA graphs the denoiser holds (<see cref="OnnxExecutionOptions.EnableCudaGraph"/>): one per shape set and
    /// concurrent generation, each captured by ONNX Runtime after its first run. Null when graphs are not in use.
    /// </summary>
    int? CudaGraphs => null;

    /// <summary>Makes live previews from a step's latents (<see cref="IPipelineObserver.OnStep"/>): a tiny autoencoder or a linear projection.</summary>
    Previews.LatentPreviewer Previewer { get; }

    /// <summary>The LoRAs merged into the pipeline's weights at load (empty for a plain model).</summary>
    IReadOnlyList<Lora.AppliedLora> Loras { get; }

    /// <summary>
    /// Runs the pipeline: encode prompts, prepare timesteps, prepare latents, denoise, decode. Every Gaussian draw
    /// comes from <paramref name="noise"/>. Invalid requests throw <see cref="Diffusion.DiffusionException"/>.
    /// </summary>
    GenerationResult Generate(
        GenerationRequest request,
        INoiseSource noise,
        IPipelineObserver? observer = null,
        CancellationToken cancellationToken = default);
}
