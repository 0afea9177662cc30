using System.Globalization;

namespace FewStep.Onnx.Imaging;

/// <summary>
/// The generation parameters stored in each PNG's text chunks, so an image says how to make it again: the
/// diffusers arguments, and the noise source and torch kernel that turned its seed into noise.
/// </summary>
public sealed record ImageParameters(
    string Prompt,
    string? NegativePrompt,
    long Seed,
    int NumInferenceSteps,
    float GuidanceScale,
    int Width,
    int Height,
    string Model,
    string Noise = FewStep.Diffusion.Noise.TorchNoiseSource.Name,
    string NoiseKernel = "avx2")
{
    /// <summary>The LoRAs merged into the model, as <c>name:scale</c> (with the file's sha256 prefix when known).</summary>
    public IReadOnlyList<string> Loras { get; init; } = [];

    /// <summary>The scheduler class that replaced the folder's, or null.</summary>
    public string? Scheduler { get; init; }

    /// <summary>The PNG text entries, keyed with diffusers' argument names.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> ToTextEntries()
    {
        var entries = new List<KeyValuePair<string, string>>
        {
            new("prompt", Prompt),
        };
        if (!string.IsNullOrEmpty(NegativePrompt))
        {
            entries.Add(new("negative_prompt", NegativePrompt));
        }

        entries.Add(new("seed", Seed.ToString(CultureInfo.InvariantCulture)));
        entries.Add(new("num_inference_steps", NumInferenceSteps.ToString(CultureInfo.InvariantCulture)));
        entries.Add(new("guidance_scale", GuidanceScale.ToString("R", CultureInfo.InvariantCulture)));
        entries.Add(new("width", Width.ToString(CultureInfo.InvariantCulture)));
        entries.Add(new("height", Height.ToString(CultureInfo.InvariantCulture)));
        entries.Add(new("model", Model));
        if (Loras.Count > 0)
        {
            entries.Add(new("loras", string.Join(", ", Loras)));
        }

        if (Scheduler is not null)
        {
            entries.Add(new("scheduler", Scheduler));
        }

        // How the seed became noise, so the image can be made again elsewhere (diffusers with the CPU generator).
        entries.Add(new("noise", Noise));
        entries.Add(new("noise_kernel", NoiseKernel));
        entries.Add(new("Software", "FewStep"));
        return entries;
    }
}
