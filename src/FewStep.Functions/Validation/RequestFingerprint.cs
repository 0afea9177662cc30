using System.Security.Cryptography;
using System.Text.Json;
using FewStep.Functions.Contracts;

namespace FewStep.Functions.Validation;

/// <summary>
/// What makes two requests "the same" for an <c>Idempotency-Key</c>: the validated request (with the model's
/// defaults filled in), not the body's bytes — whitespace and field order do not matter, a different prompt does.
/// </summary>
public static class RequestFingerprint
{
    private static readonly JsonSerializerOptions s_json = new(JsonSerializerDefaults.General);

    public static string Of(GenerationSpec spec) =>
        Convert.ToHexStringLower(SHA256.HashData(JsonSerializer.SerializeToUtf8Bytes(spec, s_json)));

    /// <summary>
    /// The seed of a keyed request that gives none: derived from the key, so every retry (and every concurrent
    /// copy) of the request computes the same generation. Below 2^31 so any JSON client reads it exactly.
    /// </summary>
    public static long SeedForKey(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes("seed\n" + key))) & int.MaxValue;
    }
}
