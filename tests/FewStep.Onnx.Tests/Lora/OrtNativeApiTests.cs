using System.Reflection;
using System.Runtime.InteropServices;
using FewStep.Onnx.Lora;
using Microsoft.ML.OnnxRuntime;

namespace FewStep.Onnx.Tests.Lora;

/// <summary>
/// The C API functions are called by their index in the OrtApi table; the C# package carries its own mirror of
/// that table (a struct with one field per function, in order), against which the indices are checked here.
/// </summary>
public sealed class OrtNativeApiTests
{
    [Theory]
    [InlineData("GetErrorMessage", OrtNativeApi.GetErrorMessageIndex)]
    [InlineData("CreateTensorWithDataAsOrtValue", OrtNativeApi.CreateTensorWithDataAsOrtValueIndex)]
    [InlineData("CreateCpuMemoryInfo", OrtNativeApi.CreateCpuMemoryInfoIndex)]
    [InlineData("ReleaseStatus", OrtNativeApi.ReleaseStatusIndex)]
    [InlineData("ReleaseMemoryInfo", OrtNativeApi.ReleaseMemoryInfoIndex)]
    [InlineData("ReleaseValue", OrtNativeApi.ReleaseValueIndex)]
    [InlineData("AddExternalInitializers", OrtNativeApi.AddExternalInitializersIndex)]
    public void The_function_indices_match_the_csharp_packages_table(string function, int index)
    {
        var table = typeof(OrtValue).Assembly.GetType("Microsoft.ML.OnnxRuntime.OrtApi", throwOnError: true)!;
        var fields = table.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic);

        Assert.Equal(function, fields[index].Name);
    }

    [Fact]
    public void Onnx_runtime_reports_a_refused_initializer_as_a_diffusion_exception()
    {
        // A tensor ORT cannot make (an element type it does not know) comes back as an OrtStatus with a message.
        var buffer = GC.AllocateArray<float>(1, pinned: true);
        using var options = new SessionOptions();
        var error = Assert.Throws<FewStep.Diffusion.DiffusionException>(() => OrtNativeApi.AddExternalInitializers(options,
            [("w", (Microsoft.ML.OnnxRuntime.Tensors.TensorElementType)999, [1], Marshal.UnsafeAddrOfPinnedArrayElement(buffer, 0), 4)]));

        Assert.Contains("ONNX Runtime refused", error.Message, StringComparison.Ordinal);
    }
}
