using FewStep.Diffusion.Noise;

namespace FewStep.Conformance;

/// <summary>Replays a case's recorded draws: <c>latents_input.npy</c>, then <c>noise_step{i}.npy</c>.</summary>
internal sealed class RecordedNoiseSource : INoiseSource
{
    private readonly string _caseDirectory;

    public RecordedNoiseSource(string caseDirectory) => _caseDirectory = caseDirectory;

    public List<int> StepsDrawn { get; } = [];

    public void FillStandardNormal(NoiseDraw draw, Span<float> destination)
    {
        var file = draw.IsInitialLatents ? "latents_input.npy" : $"noise_step{draw.StepIndex}.npy";
        var path = Path.Combine(_caseDirectory, file);
        if (!File.Exists(path))
        {
            throw new InvalidOperationException($"The pipeline drew {draw}, but the case has no '{path}' to replay.");
        }

        var values = NpyArray.Read(path).ToFloats();
        if (values.Length != destination.Length)
        {
            throw new InvalidOperationException($"'{path}' holds {values.Length} values; the pipeline drew {destination.Length}.");
        }

        values.CopyTo(destination);
        if (!draw.IsInitialLatents)
        {
            StepsDrawn.Add(draw.StepIndex);
        }
    }
}
