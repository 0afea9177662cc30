using System.Text.Json;
using FewStep.Onnx.Pipelines;

namespace FewStep.Conformance;

/// <summary>One reference case folder: <c>case.json</c> (the diffusers call and what it recorded) and its arrays.</summary>
internal sealed class ConformanceCase
{
    private ConformanceCase(string directory, JsonElement root)
    {
        Directory = directory;
        Name = root.TryGetProperty("name", out var name) ? name.GetString()! : System.IO.Path.GetFileName(directory);
        Model = root.GetProperty("model").GetString()!;
        var call = root.GetProperty("call");
        Request = new GenerationRequest
        {
            Prompts = Texts(call, "prompt") ?? throw new InvalidDataException($"'{directory}/case.json' call has no prompt."),
            Prompts2 = Texts(call, "prompt_2"),
            NegativePrompts = Texts(call, "negative_prompt"),
            NegativePrompts2 = Texts(call, "negative_prompt_2"),
            NumInferenceSteps = call.GetProperty("num_inference_steps").GetInt32(),
            GuidanceScale = call.GetProperty("guidance_scale").GetSingle(),
            Width = OptionalInt(call, "width"),
            Height = OptionalInt(call, "height"),
            NumImagesPerPrompt = OptionalInt(call, "num_images_per_prompt") ?? 1,
            SchedulerOverrides = root.TryGetProperty("scheduler_overrides", out var overrides) && overrides.ValueKind == JsonValueKind.Object
                ? overrides.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.Clone(), StringComparer.Ordinal)
                : null,
            Scheduler = SchedulerReplacement(root),
        };
        Loras = root.TryGetProperty("loras", out var loras) && loras.ValueKind == JsonValueKind.Array
            ? loras.EnumerateArray().Select(l => new FewStep.Onnx.Lora.LoraSpec(
                System.IO.Path.GetFullPath(System.IO.Path.Combine(directory, l.GetProperty("file").GetString()!)),
                l.TryGetProperty("scale", out var scale) && scale.ValueKind == JsonValueKind.Number ? scale.GetSingle() : 1f)).ToArray()
            : [];
        Timesteps = root.TryGetProperty("timesteps", out var timesteps)
            ? timesteps.EnumerateArray().Select(t => t.GetDouble()).ToArray()
            : null;
        ArrayNames = root.TryGetProperty("arrays", out var arrays)
            ? arrays.EnumerateObject().Select(p => p.Name).ToArray()
            : System.IO.Directory.GetFiles(directory, "*.npy").Select(f => System.IO.Path.GetFileName(f)).ToArray();
        if (root.TryGetProperty("noise", out var noise) && noise.GetString() == FewStep.Diffusion.Noise.TorchNoiseSource.Name)
        {
            Seeds = root.GetProperty("seeds").EnumerateArray().Select(s => ulong.Parse(s.GetRawText(), System.Globalization.CultureInfo.InvariantCulture)).ToArray();
            var kernelName = root.TryGetProperty("torch_normal_kernel", out var k) ? k.GetString() : "avx2";
            Kernel = FewStep.Diffusion.Noise.TorchNoiseSource.TryParseKernel(kernelName, out var kernel)
                ? kernel
                : throw new InvalidDataException($"'{directory}/case.json' names an unknown torch_normal_kernel '{kernelName}'.");
            NoiseDraws = root.GetProperty("noise_draws").EnumerateArray().Select(d => new ExpectedDraw(
                d.GetProperty("phase").GetString()!,
                d.GetProperty("step").ValueKind == JsonValueKind.Number ? d.GetProperty("step").GetInt32() : null,
                d.GetProperty("image").GetInt32(),
                d.GetProperty("used").GetBoolean(),
                d.GetProperty("sum").GetDouble(),
                d.GetProperty("sha256").GetString()!)).ToArray();
        }

        Pngs = root.TryGetProperty("pngs", out var pngs)
            ? pngs.EnumerateArray().Select(p => p.GetString()!).ToArray()
            : System.IO.Directory.GetFiles(directory, "image_*.png").Select(f => System.IO.Path.GetFileName(f)).Order(StringComparer.Ordinal).ToArray();
    }

    public string Directory { get; }

    public string Name { get; }

    /// <summary>The model folder's name under the models folder.</summary>
    public string Model { get; }

    public GenerationRequest Request { get; }

    /// <summary>The LoRA files merged into the model for this case (paths resolved against the case folder), with their scales.</summary>
    public IReadOnlyList<FewStep.Onnx.Lora.LoraSpec> Loras { get; private set; }

    /// <summary>This case with its LoRAs dropped (scheduler kept): what a runtime ignoring the LoRAs would compute.</summary>
    public ConformanceCase WithoutLoras()
    {
        var copy = (ConformanceCase)MemberwiseClone();
        copy.Loras = [];
        return copy;
    }

    public IReadOnlyList<double>? Timesteps { get; }

    public IReadOnlyList<string> ArrayNames { get; }

    public IReadOnlyList<string> Pngs { get; }

    /// <summary>The per-image seeds of a case whose noise diffusers drew itself (null when it records its noise).</summary>
    public IReadOnlyList<ulong>? Seeds { get; }

    public FewStep.Diffusion.Noise.TorchNormalKernel Kernel { get; }

    /// <summary>Every draw diffusers made, in order, with the hash of its float32 bytes.</summary>
    public IReadOnlyList<ExpectedDraw> NoiseDraws { get; } = [];

    public static ConformanceCase Load(string directory)
    {
        var path = System.IO.Path.Combine(directory, "case.json");
        using var document = JsonDocument.Parse(File.ReadAllText(path));
        return new ConformanceCase(directory, document.RootElement.Clone());
    }

    /// <summary>The case folders below <paramref name="casesFolder"/> (each holds a case.json), by name.</summary>
    public static IReadOnlyList<string> Discover(string casesFolder) =>
        System.IO.Directory.GetDirectories(casesFolder)
            .Where(d => File.Exists(System.IO.Path.Combine(d, "case.json")))
            .Order(StringComparer.Ordinal)
            .ToArray();

    // A LoRA case that swaps the scheduler (LCM-LoRA on a model that ships Euler) records the class and the full
    // config diffusers used; laid over the folder's config it gives exactly that config.
    private static Dictionary<string, JsonElement>? SchedulerReplacement(JsonElement root)
    {
        if (!root.TryGetProperty("scheduler_replacement", out var replacement) || replacement.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        var fields = replacement.GetProperty("config").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.Clone(), StringComparer.Ordinal);
        fields["_class_name"] = replacement.GetProperty("scheduler_class").Clone();
        return fields;
    }

    // case.json may give a text argument as a string, a list of strings, or null (as diffusers accepts).
    private static string[]? Texts(JsonElement call, string name)
    {
        if (!call.TryGetProperty(name, out var value))
        {
            return null;
        }

        return value.ValueKind switch
        {
            JsonValueKind.Null => null,
            JsonValueKind.String => [value.GetString()!],
            JsonValueKind.Array => value.EnumerateArray().Select(v => v.GetString()!).ToArray(),
            _ => throw new InvalidDataException($"call.{name} must be a string, a list of strings or null."),
        };
    }

    private static int? OptionalInt(JsonElement call, string name) =>
        call.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number ? value.GetInt32() : null;
}
