using FewStep.Diffusion;

namespace FewStep.Onnx.Lora;

/// <summary>
/// One LoRA layer checked against the weight it targets, as the matrices the merge multiplies: up [out, r] and
/// down [r, in·kh·kw], and f = scale · alpha / rank.
/// </summary>
internal sealed record LoraTerm(LoraLayer Layer, OnnxWeightLayer Target, int Rank, int Out, int InFlat, float Factor)
{
    /// <summary>
    /// Checks the shapes: Linear down [r, in], up [out, r]; Conv down [r, in, kh, kw], up [out, r, 1, 1]. A
    /// Linear-shaped LoRA on a 1 × 1 conv and a 1 × 1 conv-shaped LoRA on a Linear layer fit too: SD1 exports
    /// proj_in / proj_out as 1 × 1 convs where SD2 and SDXL use Linear layers, and LoRA files follow their
    /// training model.
    /// </summary>
    /// <exception cref="DiffusionException">The shapes do not fit (names module, keys and both shapes).</exception>
    public static LoraTerm Create(OnnxWeightLayer target, LoraLayer layer, float scale, string component)
    {
        var down = layer.Down.Shape;
        var up = layer.Up.Shape;
        var (kernelHeight, kernelWidth) = target.Kernel;
        var rank = down.Count > 0 ? down[0] : 0;
        var fits = rank > 0
            && down.Count is 2 or 4 && up.Count is 2 or 4
            && up[0] == target.Out && up[1] == rank && (up.Count == 2 || (up[2] == 1 && up[3] == 1))
            && down[1] == target.In
            && (down.Count == 4 ? down[2] == kernelHeight && down[3] == kernelWidth : kernelHeight == 1 && kernelWidth == 1);
        if (!fits)
        {
            var kernel = target.Layout == OnnxWeightLayout.Conv ? $", {kernelHeight}, {kernelWidth}" : string.Empty;
            throw new DiffusionException(
                $"LoRA layer '{layer.ModulePath}' ({component}) does not fit the model: '{layer.Down.Key}' is {Shape(down)} and " +
                $"'{layer.Up.Key}' is {Shape(up)}, but the weight '{target.InitializerName}' of node '{target.NodeName}' is " +
                $"{Shape(target.Dims)} ({Describe(target.Layout)}), which takes down [r, {target.In}{kernel}] and up [{target.Out}, r].");
        }

        var inFlat = checked((int)(target.In * kernelHeight * kernelWidth));
        var outFeatures = checked((int)target.Out);
        if (layer.Down.Data.Length != (long)rank * inFlat || layer.Up.Data.Length != (long)outFeatures * rank)
        {
            throw new DiffusionException(
                $"LoRA layer '{layer.ModulePath}' ({component}): '{layer.Down.Key}' or '{layer.Up.Key}' holds a number of values " +
                $"other than its shape {Shape(down)} / {Shape(up)} says ({layer.Down.Data.Length} and {layer.Up.Data.Length}).");
        }

        var factor = scale * layer.AlphaOverRank;
        if (!float.IsFinite(factor))
        {
            throw new DiffusionException(
                $"LoRA layer '{layer.ModulePath}' ({component}): scale {scale} × alpha / rank {layer.AlphaOverRank} is not a finite number.");
        }

        return new LoraTerm(layer, target, rank, outFeatures, inFlat, factor);
    }

    public void AddTo(float[] weight) =>
        LoraDelta.Apply(weight, Target.Layout, Out, InFlat, Layer.Up.Data, Layer.Down.Data, Rank, Factor);

    internal static string Describe(OnnxWeightLayout layout) => layout switch
    {
        OnnxWeightLayout.InOut => "MatMul / Gemm transB=0: [in, out] = Wᵀ",
        OnnxWeightLayout.OutIn => "Gemm transB=1: [out, in] = W",
        _ => "Conv: [out, in, kh, kw]",
    };

    private static string Shape<T>(IEnumerable<T> dims) => $"[{string.Join(", ", dims)}]";
}
