namespace FewStep.Onnx.Lora;

/// <summary>Where an initializer's values are: read when merging, never while indexing.</summary>
/// <param name="Kind">Which of the three places.</param>
/// <param name="Offset">A byte offset: in the model file (raw or typed data) or in the external file.</param>
/// <param name="Length">Bytes at <paramref name="Offset"/>; null for external data without a "length" entry.</param>
/// <param name="Location">The external file, validated and '/'-separated (<see cref="Models.OnnxExternalData"/>'s rules); null otherwise.</param>
public sealed record OnnxTensorStorage(OnnxTensorStorageKind Kind, long Offset, long? Length, string? Location);
