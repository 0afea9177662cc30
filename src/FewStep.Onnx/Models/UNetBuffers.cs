using FewStep.Onnx.Sessions;

namespace FewStep.Onnx.Models;

/// <summary>
/// The tensors of one generation's UNet calls, allocated and bound once (<see cref="DeviceBinding"/>: on CUDA the
/// conditioning stays in device memory) and reused on every step.
/// </summary>
public sealed class UNetBuffers : IDisposable, Pipelines.IDenoiserBuffers
{
    private readonly UNetModel _unet;
    private readonly List<FloatTensorBinding> _constants = [];
    private readonly DeviceBinding _binding;

    internal UNetBuffers(UNetModel unet, UNetConditioning conditioning, int latentHeight, int latentWidth)
    {
        _unet = unet;
        var rows = conditioning.Rows;
        Rows = rows;
        _binding = new DeviceBinding(unet.Session);
        try
        {
            Sample = new FloatTensorBinding(unet.Session, UNetModel.Sample, unet.Session.RequireInput(UNetModel.Sample),
                [rows, unet.Config.InChannels, latentHeight, latentWidth]);
            Output = new FloatTensorBinding(unet.Session, UNetModel.OutSample, unet.Session.RequireOutput(UNetModel.OutSample),
                [rows, unet.Config.OutChannels, latentHeight, latentWidth]);
            Timestep = new TimestepBinding(unet.Session, UNetModel.Timestep, 1);
            _binding.BindInput(UNetModel.Sample, Sample.Value);
            _binding.BindInput(UNetModel.Timestep, Timestep.Value);
            _binding.BindOutput(UNetModel.OutSample, Output.Value);
            AddConstant(unet.Bind(UNetModel.EncoderHiddenStates,
                [rows, conditioning.SequenceLength, conditioning.HiddenWidth], conditioning.EncoderHiddenStates));
            AddOptional(unet, UNetModel.TextEmbeds, conditioning.TextEmbeds, rows, "SDXL's pooled text embedding");
            AddOptional(unet, UNetModel.TimeIds, conditioning.TimeIds, rows, "SDXL's time ids");
            AddOptional(unet, UNetModel.TimestepCond, conditioning.TimestepCond, rows, "LCM's guidance embedding");
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>The UNet input <c>sample</c> [rows, in_channels, h, w]: write it before each call.</summary>
    public FloatTensorBinding Sample { get; } = null!;

    /// <summary>The UNet output <c>out_sample</c>: read it after each call.</summary>
    public FloatTensorBinding Output { get; } = null!;

    /// <summary>The UNet input <c>timestep</c>: set before each call.</summary>
    public TimestepBinding Timestep { get; } = null!;

    public int Rows { get; }

    internal DeviceBinding Binding => _binding;

    /// <summary>The UNet these buffers are bound to.</summary>
    internal UNetModel Owner => _unet;

    string Pipelines.IDenoiserBuffers.Name => "unet";

    float[] Pipelines.IDenoiserBuffers.Input => Sample.Data;

    float[] Pipelines.IDenoiserBuffers.Output => Output.Data;

    void Pipelines.IDenoiserBuffers.Run(double timestep, OnnxRunClock? clock, CancellationToken cancellationToken) =>
        _unet.Run(this, timestep, clock, cancellationToken);

    IReadOnlyList<long>? Pipelines.IDenoiserBuffers.TimestepInput(double timestep) => null;

    public void Dispose()
    {
        _binding.Dispose();
        Sample?.Dispose();
        Timestep?.Dispose();
        Output?.Dispose();
        foreach (var binding in _constants)
        {
            binding.Dispose();
        }
    }

    private void AddConstant(FloatTensorBinding binding)
    {
        _constants.Add(binding);
        _binding.BindConstant(binding.Name, binding.Value);
    }

    private void AddOptional(UNetModel unet, string name, float[]? values, int rows, string what)
    {
        if (values is null)
        {
            return;
        }

        unet.RequireConditioningInput(name, what);
        AddConstant(unet.Bind(name, [rows, values.Length / rows], values));
    }
}
