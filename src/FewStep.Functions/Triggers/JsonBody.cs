using System.Text.Json;

namespace FewStep.Functions.Triggers;

/// <summary>A request body read as JSON: the document (dispose it), or the problem answering a body that is not one.</summary>
internal sealed record JsonBody(JsonDocument? Document, ApiResult? Problem) : IDisposable
{
    public void Dispose() => Document?.Dispose();
}
