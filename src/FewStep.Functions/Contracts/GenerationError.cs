using System.Text.Json.Serialization;

namespace FewStep.Functions.Contracts;

/// <summary>Why a generation failed: <c>invalid_request</c> (a user error, not retried) or <c>render_failed</c>.</summary>
public sealed record GenerationError(
    [property: JsonPropertyName("code")] string Code,
    [property: JsonPropertyName("message")] string Message);
