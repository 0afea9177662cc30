using System.Text.Json;
using Microsoft.Azure.Functions.Worker.Http;

namespace FewStep.Functions.Tests.Support;

internal static class HttpResponseExtensions
{
    public static JsonElement ReadJson(this HttpResponseData response)
    {
        response.Body.Position = 0;
        using var document = JsonDocument.Parse(response.Body);
        return document.RootElement.Clone();
    }

    public static string Header(this HttpResponseData response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? string.Join(",", values) : string.Empty;

    /// <summary>The <c>errors</c> map of a problem response, field → messages.</summary>
    public static Dictionary<string, string[]> ProblemErrors(this HttpResponseData response)
    {
        var body = response.ReadJson();
        return body.TryGetProperty("errors", out var errors)
            ? errors.EnumerateObject().ToDictionary(e => e.Name, e => e.Value.EnumerateArray().Select(m => m.GetString()!).ToArray(), StringComparer.Ordinal)
            : [];
    }
}
