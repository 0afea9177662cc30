using System.Text.Json.Serialization;

namespace FewStep.Functions.OpenAi;

/// <summary>
/// The 200 body of <c>POST /v1/images/generations</c>, as OpenAI's: <c>created</c> (Unix seconds) and <c>data</c>, with
/// the <c>output_format</c> and <c>size</c> the GPT image models also report.
/// </summary>
public sealed record OpenAiImagesResponse(
    [property: JsonPropertyName("created")] long Created,
    [property: JsonPropertyName("data")] IReadOnlyList<OpenAiImage> Data,
    [property: JsonPropertyName("output_format")] string OutputFormat,
    [property: JsonPropertyName("size")] string Size);
