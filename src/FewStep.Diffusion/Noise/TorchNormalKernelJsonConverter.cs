using System.Text.Json;
using System.Text.Json.Serialization;

namespace FewStep.Diffusion.Noise;

/// <summary>Writes a kernel as torch names it (<c>avx2</c>, <c>default</c>) in manifests, plans and settings files.</summary>
public sealed class TorchNormalKernelJsonConverter : JsonConverter<TorchNormalKernel>
{
    public override TorchNormalKernel Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        TorchNoiseSource.TryParseKernel(reader.GetString(), out var kernel)
            ? kernel
            : throw new JsonException($"'{reader.GetString()}' is not a torch normal kernel (avx2 or default).");

    public override void Write(Utf8JsonWriter writer, TorchNormalKernel value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStringValue(TorchNoiseSource.KernelName(value));
    }
}
