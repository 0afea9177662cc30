using System.Globalization;

namespace FewStep.Functions.Storage;

/// <summary>The blob metadata keys of a generated PNG (ASCII values only: prompts stay in the PNG's text chunks).</summary>
public static class ImageMetadata
{
    public const string PromptIndex = "prompt_index";
    public const string ImageIndex = "image_index";
    public const string Seed = "seed";
    public const string Model = "model";
    public const string Steps = "steps";
    public const string GuidanceScale = "guidance_scale";
    public const string Width = "width";
    public const string Height = "height";
    public const string Line = "request_line";

    public static Dictionary<string, string> For(int promptIndex, int imageIndex, long seed, string model, int steps, float guidance, int width, int height) => new(StringComparer.Ordinal)
    {
        [PromptIndex] = promptIndex.ToString(CultureInfo.InvariantCulture),
        [ImageIndex] = imageIndex.ToString(CultureInfo.InvariantCulture),
        [Seed] = seed.ToString(CultureInfo.InvariantCulture),
        [Model] = model,
        [Steps] = steps.ToString(CultureInfo.InvariantCulture),
        [GuidanceScale] = guidance.ToString("R", CultureInfo.InvariantCulture),
        [Width] = width.ToString(CultureInfo.InvariantCulture),
        [Height] = height.ToString(CultureInfo.InvariantCulture),
    };

    /// <summary>Reads an image's indices and seed back, or null when the blob is not one of ours.</summary>
    public static StoredImage? Parse(string blob, IDictionary<string, string> metadata)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        return metadata.TryGetValue(PromptIndex, out var p) && int.TryParse(p, CultureInfo.InvariantCulture, out var prompt)
            && metadata.TryGetValue(ImageIndex, out var i) && int.TryParse(i, CultureInfo.InvariantCulture, out var image)
            && metadata.TryGetValue(Seed, out var s) && long.TryParse(s, CultureInfo.InvariantCulture, out var seed)
            ? new StoredImage(blob, prompt, image, seed,
                metadata.TryGetValue(Line, out var l) && int.TryParse(l, CultureInfo.InvariantCulture, out var line) ? line : null)
            : null;
    }
}
