namespace FewStep.Diffusion.Noise;

/// <summary>
/// The noise diffusers draws with <c>generator=[torch.Generator("cpu").manual_seed(s) for s in seeds]</c>: one
/// PyTorch CPU generator per image, each draw a <c>torch.randn([1, C, h, w])</c> of that image's generator, in the
/// order the pipeline asks (initial latents, then each scheduler draw). So seed 42 here is seed 42 in diffusers,
/// ComfyUI or any notebook using the CPU generator, and an image depends only on its own seed, alone or in any
/// batch. As in PyTorch, only the seed modulo 2^32 selects the noise.
/// </summary>
public sealed class TorchNoiseSource : INoiseSource
{
    /// <summary>How manifests and PNG text chunks name this source, as the conformance corpus does.</summary>
    public const string Name = "torch_cpu_generator_per_image";

    private readonly TorchCpuGenerator[] _generators;

    public TorchNoiseSource(IReadOnlyList<ulong> seeds, TorchNormalKernel kernel = TorchNormalKernel.Avx2)
    {
        ArgumentNullException.ThrowIfNull(seeds);
        if (seeds.Count == 0)
        {
            throw new ArgumentException("At least one seed is needed.", nameof(seeds));
        }

        Seeds = seeds.ToArray();
        Kernel = kernel;
        _generators = Seeds.Select(seed => new TorchCpuGenerator(seed, kernel)).ToArray();
    }

    /// <summary>For the API's non-negative 64-bit seeds.</summary>
    public static TorchNoiseSource ForSeeds(IEnumerable<long> seeds, TorchNormalKernel kernel = TorchNormalKernel.Avx2)
    {
        ArgumentNullException.ThrowIfNull(seeds);
        return new TorchNoiseSource(seeds.Select(s => unchecked((ulong)s)).ToArray(), kernel);
    }

    public IReadOnlyList<ulong> Seeds { get; }

    public TorchNormalKernel Kernel { get; }

    /// <summary>Called after every draw of one image's tensor (conformance checks hash each draw).</summary>
    public Action<NoiseDraw, int, ReadOnlySpan<float>>? OnDraw { get; set; }

    public void FillStandardNormal(NoiseDraw draw, Span<float> destination)
    {
        if (destination.Length % _generators.Length != 0)
        {
            throw new ArgumentException(
                $"A noise tensor of {destination.Length} values does not split into {_generators.Length} images.",
                nameof(destination));
        }

        var perImage = destination.Length / _generators.Length;
        for (var image = 0; image < _generators.Length; image++)
        {
            var slice = destination.Slice(image * perImage, perImage);
            _generators[image].Randn(slice);
            OnDraw?.Invoke(draw, image, slice);
        }
    }

    /// <summary>The kernel's name as torch and the settings spell it (<c>avx2</c>, <c>default</c>).</summary>
    public static string KernelName(TorchNormalKernel kernel) => kernel == TorchNormalKernel.Default ? "default" : "avx2";

    /// <summary>Parses <c>avx2</c> or <c>default</c> (any case).</summary>
    public static bool TryParseKernel(string? text, out TorchNormalKernel kernel)
    {
        switch (text?.Trim().ToUpperInvariant())
        {
            case "AVX2":
                kernel = TorchNormalKernel.Avx2;
                return true;
            case "DEFAULT":
                kernel = TorchNormalKernel.Default;
                return true;
            default:
                kernel = TorchNormalKernel.Avx2;
                return false;
        }
    }
}
