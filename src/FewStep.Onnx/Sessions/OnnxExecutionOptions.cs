using Microsoft.ML.OnnxRuntime;

namespace FewStep.Onnx.Sessions;

/// <summary>How sessions are created: execution provider, GPU, threads. Bound from configuration by the hosts.</summary>
public sealed class OnnxExecutionOptions
{
    public const string SectionName = "Onnx";

    /// <summary>CUDA when configured and usable; otherwise CPU with a warning that says why.</summary>
    public ExecutionProviderKind ExecutionProvider { get; set; } = ExecutionProviderKind.Cpu;

    /// <summary>CUDA device ordinal.</summary>
    public int DeviceId { get; set; }

    /// <summary>
    /// Images per VAE decoder run (diffusers' <c>enable_vae_slicing</c> is 1): at full resolution the decoder's
    /// activations dominate memory and grow with the batch; 0 decodes the whole batch at once.
    /// </summary>
    public int VaeDecodeBatch { get; set; } = 1;

    /// <summary>
    /// Decode latents larger than the VAE's training size (its <c>sample_size</c>) in overlapping tiles of that size,
    /// blended as diffusers' <c>enable_vae_tiling</c> does: the decoder's memory stays that of one tile whatever the
    /// image size, and the result differs slightly from a whole decode (as it does in diffusers). Off by default, as in
    /// diffusers.
    /// </summary>
    public bool VaeTiling { get; set; }

    /// <summary>
    /// Give the memory of each VAE decode back when it ends: it is the largest of a generation (full-resolution
    /// activations) and would otherwise stay in the arena of a warm worker between requests.
    /// </summary>
    public bool ShrinkArenaAfterDecode { get; set; } = true;

    /// <summary>
    /// How cuDNN picks convolution algorithms: <c>EXHAUSTIVE</c> (benchmarks each shape once, the fastest for a
    /// long-lived worker), <c>HEURISTIC</c> (no benchmarking: a CLI run starts sooner) or <c>DEFAULT</c>.
    /// </summary>
    public string CudnnConvAlgoSearch { get; set; } = "EXHAUSTIVE";

    /// <summary>How the CUDA arena grows: <c>kNextPowerOfTwo</c> (ONNX Runtime's default) or <c>kSameAsRequested</c> (no slack).</summary>
    public string ArenaExtendStrategy { get; set; } = "kNextPowerOfTwo";

    /// <summary>The most GPU memory the CUDA arena may hold, in MiB; 0: no limit.</summary>
    public long GpuMemoryLimitMb { get; set; }

    /// <summary>
    /// Capture the denoiser's runs as CUDA graphs (ONNX Runtime's <c>enable_cuda_graph</c>) and replay them on later
    /// steps: one launch per step instead of one per kernel, for a fixed set of shapes. Each shape set in use gets
    /// its own graph and device tensors (<see cref="CudaGraphShapes"/> at most), kept for the worker's life; the
    /// first run of a graph runs normally (ONNX Runtime allocates then), a later one captures it. CUDA only; off because
    /// ONNX Runtime refuses it for a model any of whose compute nodes it places on the CPU (logged, and the session
    /// runs without graphs).
    /// </summary>
    public bool EnableCudaGraph { get; set; }

    /// <summary>The most CUDA graphs a denoiser keeps (shape sets, or concurrent generations of one); past it, runs are not captured.</summary>
    public int CudaGraphShapes { get; set; } = 4;

    /// <summary>When CUDA cannot be used, run on CPU (true) or fail (false).</summary>
    public bool FallBackToCpu { get; set; } = true;

    /// <summary>Threads per operator on CPU; 0 lets ONNX Runtime choose (one per physical core).</summary>
    public int IntraOpNumThreads { get; set; }

    public GraphOptimizationLevel GraphOptimizationLevel { get; set; } = GraphOptimizationLevel.ORT_ENABLE_ALL;

    /// <summary>
    /// Replace exported attention with ONNX Runtime's MultiHeadAttention (flash attention on CPU, fused kernels on CUDA),
    /// so memory no longer grows with the square of the token count. Off: the graphs run as exported.
    /// </summary>
    public bool FuseAttention { get; set; } = true;

    /// <summary>
    /// On CUDA, bind a float16 export's float16 inputs and outputs as float32, with a <c>Cast</c> added at each in the
    /// graph: the conversion runs on the device, once per run, instead of on the CPU before and after every step (and
    /// the constant conditioning is converted on the device too). Off, and always on CPU: converted on the host.
    /// </summary>
    public bool CastFloat16InGraph { get; set; } = true;

    /// <summary>
    /// ONNX Runtime's memory pattern: plans one block per run shape from the first run and keeps it. Measured on the
    /// real-size SD-Turbo architecture it grew each session on its second run and kept the growth, at no speed gain.
    /// </summary>
    public bool EnableMemoryPattern { get; set; }

    /// <summary>
    /// ONNX Runtime's CPU arena: keeps freed blocks for the next run. Off, every run allocates afresh: the lowest
    /// peak, but the first run was 1.7× slower on the real-size model.
    /// </summary>
    public bool EnableCpuMemArena { get; set; } = true;

    /// <summary>The CUDA provider's options (ONNX Runtime's names) these settings give; <paramref name="cudaGraph"/>: for the denoiser with graphs on.</summary>
    public IReadOnlyDictionary<string, string> CudaProviderOptions(bool cudaGraph = false)
    {
        var options = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["device_id"] = DeviceId.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["cudnn_conv_algo_search"] = CudnnConvAlgoSearch,
            ["arena_extend_strategy"] = ArenaExtendStrategy,
        };
        if (GpuMemoryLimitMb > 0)
        {
            options["gpu_mem_limit"] = (GpuMemoryLimitMb * 1024 * 1024).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        if (cudaGraph)
        {
            options["enable_cuda_graph"] = "1";
        }

        return options;
    }

    /// <summary>Problems with these options, each naming the setting; empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (!Enum.IsDefined(ExecutionProvider))
        {
            errors.Add($"{SectionName}:{nameof(ExecutionProvider)} must be Cpu or Cuda, not '{ExecutionProvider}'.");
        }

        if (DeviceId < 0)
        {
            errors.Add($"{SectionName}:{nameof(DeviceId)} must be 0 or more, not {DeviceId}.");
        }

        if (CudnnConvAlgoSearch is not ("EXHAUSTIVE" or "HEURISTIC" or "DEFAULT"))
        {
            errors.Add($"{SectionName}:{nameof(CudnnConvAlgoSearch)} must be EXHAUSTIVE, HEURISTIC or DEFAULT, not '{CudnnConvAlgoSearch}'.");
        }

        if (ArenaExtendStrategy is not ("kNextPowerOfTwo" or "kSameAsRequested"))
        {
            errors.Add($"{SectionName}:{nameof(ArenaExtendStrategy)} must be kNextPowerOfTwo or kSameAsRequested, not '{ArenaExtendStrategy}'.");
        }

        if (EnableCudaGraph && ExecutionProvider != ExecutionProviderKind.Cuda)
        {
            errors.Add($"{SectionName}:{nameof(EnableCudaGraph)} needs {SectionName}:{nameof(ExecutionProvider)}=Cuda (CUDA graphs are a CUDA feature), not {ExecutionProvider}.");
        }

        if (CudaGraphShapes < 1)
        {
            errors.Add($"{SectionName}:{nameof(CudaGraphShapes)} must be 1 or more, not {CudaGraphShapes}.");
        }

        if (VaeDecodeBatch < 0)
        {
            errors.Add($"{SectionName}:{nameof(VaeDecodeBatch)} must be 0 (the whole batch) or more, not {VaeDecodeBatch}.");
        }

        if (GpuMemoryLimitMb < 0)
        {
            errors.Add($"{SectionName}:{nameof(GpuMemoryLimitMb)} must be 0 (no limit) or more, not {GpuMemoryLimitMb}.");
        }

        if (IntraOpNumThreads < 0)
        {
            errors.Add($"{SectionName}:{nameof(IntraOpNumThreads)} must be 0 (automatic) or more, not {IntraOpNumThreads}.");
        }

        if (!Enum.IsDefined(GraphOptimizationLevel))
        {
            errors.Add($"{SectionName}:{nameof(GraphOptimizationLevel)} '{GraphOptimizationLevel}' is not an ONNX Runtime level.");
        }

        return errors;
    }
}
