using FewStep.Onnx.Models;

namespace FewStep.Onnx.Pipelines.PromptEncoding;

/// <summary>Turns a request's texts into the UNet's conditioning, the way one pipeline family does it.</summary>
internal interface IPromptEncoder : IDisposable
{
    /// <summary>The width of <c>encoder_hidden_states</c> this encoder produces.</summary>
    int HiddenWidth { get; }

    UNetConditioning Encode(PromptSet prompts, IPipelineObserver observer, StageRecorder stages, CancellationToken cancellationToken);
}
