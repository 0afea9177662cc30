using System.Text.Json.Serialization;

namespace FewStep.Functions.Contracts;

/// <summary>A LoRA a request names (<c>loras: [{"name": ..., "scale": ...}]</c>): a name under the model root's <c>loras/</c>, never a path.</summary>
public sealed record LoraChoice(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("scale")] float Scale);
