using System.Runtime.InteropServices;
using FewStep.Diffusion;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace FewStep.Onnx.Lora;

/// <summary>
/// The one ONNX Runtime C API call the C# API does not wrap: <c>AddExternalInitializers</c>, which hands ORT the
/// values of initializers the model keeps in external files before the graph is optimized and placed, so that
/// fusions and layout changes (NCHWc, Conv+Mul, ...) see the merged values, and (per ORT's source) a CUDA session
/// copies them to the device like any weight. <see cref="SessionOptions.AddInitializer"/> does neither: ORT
/// substitutes its value only at the end, for an initializer optimizations left alone and whose planned device is
/// the value's (see <see cref="MergedWeights"/>).
/// </summary>
/// <remarks>
/// The functions are taken from the <c>OrtApi</c> table by index. The table only ever grows at its end (ORT's ABI
/// promise), so indices valid for API version 12, where <c>AddExternalInitializers</c> appeared, hold for every
/// later library; a test checks them against the C# package's own mirror of the table.
/// </remarks>
internal static class OrtNativeApi
{
    internal const uint ApiVersion = 12;
    internal const int GetErrorMessageIndex = 2;
    internal const int CreateTensorWithDataAsOrtValueIndex = 49;
    internal const int CreateCpuMemoryInfoIndex = 69;
    internal const int ReleaseStatusIndex = 93;
    internal const int ReleaseMemoryInfoIndex = 94;
    internal const int ReleaseValueIndex = 96;
    internal const int AddExternalInitializersIndex = 210;

    private const int OrtDeviceAllocator = 0;
    private const int OrtMemTypeDefault = 0;

    private static readonly Lazy<Functions> s_functions = new(Load);

    [UnmanagedFunctionPointer(CallingConvention.Winapi)]
    private delegate IntPtr GetApiFunction(uint version);

    [UnmanagedFunctionPointer(CallingConvention.Winapi)]
    private delegate IntPtr GetErrorMessageFunction(IntPtr status);

    [UnmanagedFunctionPointer(CallingConvention.Winapi)]
    private delegate void ReleaseFunction(IntPtr handle);

    [UnmanagedFunctionPointer(CallingConvention.Winapi)]
    private delegate IntPtr CreateCpuMemoryInfoFunction(int allocatorType, int memType, out IntPtr memoryInfo);

    [UnmanagedFunctionPointer(CallingConvention.Winapi)]
    private delegate IntPtr CreateTensorWithDataFunction(
        IntPtr memoryInfo, IntPtr data, UIntPtr dataLength, long[] shape, UIntPtr shapeLength, int elementType, out IntPtr value);

    [UnmanagedFunctionPointer(CallingConvention.Winapi)]
    private delegate IntPtr AddExternalInitializersFunction(IntPtr options, IntPtr[] names, IntPtr[] values, UIntPtr count);

    /// <summary>
    /// Adds each tensor (a CPU buffer the caller keeps alive, pinned, until every session created with
    /// <paramref name="options"/> is disposed) as the value of the external initializer of that name.
    /// </summary>
    public static void AddExternalInitializers(SessionOptions options, IReadOnlyList<(string Name, TensorElementType Type, long[] Shape, IntPtr Data, long Bytes)> tensors)
    {
        var api = s_functions.Value;
        var names = new IntPtr[tensors.Count];
        var values = new IntPtr[tensors.Count];
        var memoryInfo = IntPtr.Zero;
        var addedRef = false;
        try
        {
            Check(api, api.CreateCpuMemoryInfo(OrtDeviceAllocator, OrtMemTypeDefault, out memoryInfo));
            for (var i = 0; i < tensors.Count; i++)
            {
                var (name, type, shape, data, bytes) = tensors[i];
                names[i] = Marshal.StringToCoTaskMemUTF8(name);
                Check(api, api.CreateTensorWithData(memoryInfo, data, checked((nuint)bytes), shape, (UIntPtr)shape.Length, (int)type, out values[i]));
            }

            options.DangerousAddRef(ref addedRef);
            Check(api, api.AddExternalInitializers(options.DangerousGetHandle(), names, values, (UIntPtr)tensors.Count));
        }
        finally
        {
            if (addedRef)
            {
                options.DangerousRelease();
            }

            // The session options hold their own references to the tensors (which never own the buffers), and
            // copies of the names, so these handles go now.
            foreach (var value in values.Where(v => v != IntPtr.Zero))
            {
                api.ReleaseValue(value);
            }

            foreach (var name in names.Where(n => n != IntPtr.Zero))
            {
                Marshal.FreeCoTaskMem(name);
            }

            if (memoryInfo != IntPtr.Zero)
            {
                api.ReleaseMemoryInfo(memoryInfo);
            }
        }
    }

    private static void Check(Functions api, IntPtr status)
    {
        if (status == IntPtr.Zero)
        {
            return;
        }

        var message = Marshal.PtrToStringUTF8(api.GetErrorMessage(status));
        api.ReleaseStatus(status);
        throw new DiffusionException($"ONNX Runtime refused the merged LoRA weights: {message}");
    }

    private static Functions Load()
    {
        // Loading any C# API type first makes the runtime resolve the same native library the C# API uses.
        _ = OrtEnv.Instance();
        var getApi = Marshal.GetDelegateForFunctionPointer<GetApiFunction>(Marshal.ReadIntPtr(NativeMethods.OrtGetApiBase()));
        var table = getApi(ApiVersion);
        if (table == IntPtr.Zero)
        {
            throw new DiffusionException($"The ONNX Runtime library does not offer C API version {ApiVersion}.");
        }

        T Function<T>(int index)
            where T : Delegate => Marshal.GetDelegateForFunctionPointer<T>(Marshal.ReadIntPtr(table, index * IntPtr.Size));

        return new Functions(
            Function<GetErrorMessageFunction>(GetErrorMessageIndex),
            Function<ReleaseFunction>(ReleaseStatusIndex),
            Function<CreateCpuMemoryInfoFunction>(CreateCpuMemoryInfoIndex),
            Function<ReleaseFunction>(ReleaseMemoryInfoIndex),
            Function<CreateTensorWithDataFunction>(CreateTensorWithDataAsOrtValueIndex),
            Function<ReleaseFunction>(ReleaseValueIndex),
            Function<AddExternalInitializersFunction>(AddExternalInitializersIndex));
    }

    private sealed record Functions(
        GetErrorMessageFunction GetErrorMessage,
        ReleaseFunction ReleaseStatus,
        CreateCpuMemoryInfoFunction CreateCpuMemoryInfo,
        ReleaseFunction ReleaseMemoryInfo,
        CreateTensorWithDataFunction CreateTensorWithData,
        ReleaseFunction ReleaseValue,
        AddExternalInitializersFunction AddExternalInitializers);

    private static class NativeMethods
    {
        /// <summary>The C API's single export; "onnxruntime" is the library name the C# API imports too.</summary>
        [DllImport("onnxruntime", ExactSpelling = true)]
        public static extern IntPtr OrtGetApiBase();
    }
}
