namespace FewStep.Diffusion.Catalog;

/// <summary>
/// What a LoRA name may be. A client names LoRAs, never paths: a name is resolved under the model root's
/// <c>loras/</c> folder, so it must not be able to leave it (no separators, no "..", no leading dot).
/// </summary>
public static class LoraNames
{
    public const int MaxLength = 128;

    public static bool IsValid(string? name) =>
        !string.IsNullOrEmpty(name) && name.Length <= MaxLength && name[0] != '.'
        && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-') && !name.Contains("..", StringComparison.Ordinal);
}
