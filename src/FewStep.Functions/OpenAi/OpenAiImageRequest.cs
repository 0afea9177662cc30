using System.Text.Json;

namespace FewStep.Functions.OpenAi;

/// <summary>
/// An OpenAI images request translated: the equivalent <c>POST /api/generations</c> body (validated by the same
/// parser), how the images are returned, and the caller's <c>user</c> tag (logged).
/// </summary>
public sealed record OpenAiImageRequest(JsonDocument Generation, bool Base64, string? User) : IDisposable
{
    public void Dispose() => Generation.Dispose();
}
