using FewStep.Onnx.Sessions;
using Microsoft.ML.OnnxRuntime;

namespace FewStep.Onnx.Models;

/// <summary>The tensors of one generation's UNet calls, allocated once and reused on every step.</summary>
public sealed class UNetBuffers : IDisposable
{
    private readonly List<FloatTensorBinding> _constants = [];
    private readonly string[] _inputNames;
    private readonly OrtValue?[] _inputValues;

    internal UNetBuffers(UNetModel unet, UNetConditioning conditioning, int latentHeight, int latentWidth)
    {
        var rows = conditioning.Rows;
        try
        {
            Sample = new FloatTensorBinding(unet.Session, UNetModel.Sample, unet.Session.RequireInput(UNetModel.Sample),
                [rows, unet.Config.InChannels, latentHeight, latentWidth]);
            Output = new FloatTensorBinding(unet.Session, UNetModel.OutSample, unet.Session.RequireOutput(UNetModel.OutSample),
                [rows, unet.Config.OutChannels, latentHeight, latentWidth]);
            var names = new List<string> { UNetModel.Sample, UNetModel.Timestep, UNetModel.EncoderHiddenStates };
            _constants.Add(unet.Bind(UNetModel.EncoderHiddenStates,
                [rows, conditioning.SequenceLength, conditioning.HiddenWidth], conditioning.EncoderHiddenStates));
            AddOptional(unet, names, UNetModel.TextEmbeds, conditioning.TextEmbeds, rows, "SDXL's pooled text embedding");
            AddOptional(unet, names, UNetModel.TimeIds, conditioning.TimeIds, rows, "SDXL's time ids");
            AddOptional(unet, names, UNetModel.TimestepCond, conditioning.TimestepCond, rows, "LCM's guidance embedding");
            _inputNames = names.ToArray();
            _inputValues = new OrtValue?[_inputNames.Length];
            _inputValues[0] = Sample.Value;
            for (var i = 0; i < _constants.Count; i++)
            {
                _inputValues[i + 2] = _constants[i].Value;
            }
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

    internal IReadOnlyCollection<string> InputNames => _inputNames;

    internal IReadOnlyCollection<OrtValue> InputValues => _inputValues!;

    internal void SetTimestep(OrtValue timestep) => _inputValues[1] = timestep;

    public void Dispose()
    {
        Sample?.Dispose();
        Output?.Dispose();
        foreach (var binding in _constants)
        {
            binding.Dispose();
        }
    }

    private void AddOptional(UNetModel unet, List<string> names, string name, float[]? values, int rows, string what)
    {
        if (values is null)
        {
            return;
        }

        unet.RequireConditioningInput(name, what);
        _constants.Add(unet.Bind(name, [rows, values.Length / rows], values));
        names.Add(name);
    }
}
