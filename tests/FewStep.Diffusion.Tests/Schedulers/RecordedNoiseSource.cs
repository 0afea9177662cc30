using FewStep.Diffusion.Noise;

namespace FewStep.Diffusion.Tests.Schedulers;

/// <summary>Replays recorded noise tensors by draw and records which draws were made.</summary>
internal sealed class RecordedNoiseSource : INoiseSource
{
    private readonly Dictionary<NoiseDraw, float[]> _tensors = [];

    public List<NoiseDraw> Draws { get; } = [];

    public void Add(NoiseDraw draw, float[] tensor) => _tensors[draw] = tensor;

    public void FillStandardNormal(NoiseDraw draw, Span<float> destination)
    {
        Draws.Add(draw);
        if (!_tensors.TryGetValue(draw, out var tensor))
        {
            throw new InvalidOperationException($"No recorded noise for {draw}.");
        }

        Assert.Equal(tensor.Length, destination.Length);
        tensor.CopyTo(destination);
    }
}
