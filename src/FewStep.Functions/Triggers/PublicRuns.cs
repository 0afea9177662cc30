using System.Buffers;
using FewStep.Functions.Orchestration;
using Microsoft.DurableTask.Client;

namespace FewStep.Functions.Triggers;

/// <summary>
/// The one place that decides which orchestration instances the API may show or cancel: only the ids it issued
/// itself — a generation's 32 hex digits (<c>k</c> + 32 with an <c>Idempotency-Key</c>) and a job's <c>job-</c> +
/// 32 — and only instances of the run orchestration. Anything else (sub-instances, entities' <c>@</c> ids,
/// other task hub residents, malformed ids) is "not found" without asking the durable backend.
/// </summary>
public static class PublicRuns
{
    private const int HexLength = 32;
    private const string JobPrefix = "job-";
    private const string KeyedPrefix = "k";

    private static readonly SearchValues<char> s_hex = SearchValues.Create("0123456789abcdef");

    public static bool IsPublicId(string? id) => id switch
    {
        null => false,
        { Length: HexLength } => IsHex(id),
        { Length: HexLength + 1 } when id.StartsWith(KeyedPrefix, StringComparison.Ordinal) => IsHex(id.AsSpan(KeyedPrefix.Length)),
        { Length: HexLength + 4 } when id.StartsWith(JobPrefix, StringComparison.Ordinal) => IsHex(id.AsSpan(JobPrefix.Length)),
        _ => false,
    };

    /// <summary>The run with this id, or null when there is none the API may show.</summary>
    public static async Task<OrchestrationMetadata?> FindAsync(DurableTaskClient client, string? id, bool getInputsAndOutputs, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        if (!IsPublicId(id))
        {
            return null;
        }

        var instance = await client.GetInstanceAsync(id!, getInputsAndOutputs, cancellationToken).ConfigureAwait(false);
        return instance is not null && instance.Name == RunOrchestrator.Name ? instance : null;
    }

    private static bool IsHex(ReadOnlySpan<char> text) => text.Length == HexLength && !text.ContainsAnyExcept(s_hex);
}
