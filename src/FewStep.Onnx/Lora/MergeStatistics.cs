namespace FewStep.Onnx.Lora;

/// <summary>What a merge did and cost.</summary>
/// <param name="LayersMerged">LoRA layers added (a module targeted by two LoRAs counts twice); layers with a zero factor are skipped.</param>
/// <param name="InitializersReplaced">Distinct weights replaced.</param>
/// <param name="ReplacedBytes">Bytes of the replaced weights in their own element type: the memory the merged copies hold.</param>
/// <param name="Elapsed">Wall time: reading the base weights, the products, the conversions.</param>
public sealed record MergeStatistics(int LayersMerged, int InitializersReplaced, long ReplacedBytes, TimeSpan Elapsed);
