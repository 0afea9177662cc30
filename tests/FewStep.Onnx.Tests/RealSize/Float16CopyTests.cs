using FewStep.Onnx.Tests.Conformance;
using FewStep.Onnx.Tests.Graphs;
using FewStep.RealSize;

namespace FewStep.Onnx.Tests.RealSize;

/// <summary>The float16 copy of a filled model is made once per fill and made again when the fill changes.</summary>
public sealed class Float16CopyTests : IDisposable
{
    private readonly string _temp = Directory.CreateTempSubdirectory("fewstep-f16copy-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    [Fact]
    public void The_copy_is_reused_for_the_same_fill_and_redone_for_another()
    {
        // A filled folder as SkeletonFiller leaves it: external weights and its stamp (a stand-in stamp's text).
        var filled = Path.Combine(_temp, "model");
        Float16ConversionTests.WriteWithExternalData(Path.Combine(ConformancePaths.Model("tiny-sd-turbo"), "unet", "model.onnx"), Path.Combine(filled, "unet"));
        File.WriteAllText(Path.Combine(filled, FillStamp.FileName), "{\"seed\": 1}");
        var data = new FileInfo(Path.Combine(filled, "unet", "model.onnx_data")).Length;
        var model = new FilledModel(filled, new Dictionary<string, long> { ["unet"] = data }, TimeSpan.Zero, Reused: false);

        var first = Float16Copy.Ensure(model);
        var written = File.GetLastWriteTimeUtc(Path.Combine(first.Folder, "unet", "model.onnx_data"));
        var again = Float16Copy.Ensure(model);
        var untouched = File.GetLastWriteTimeUtc(Path.Combine(again.Folder, "unet", "model.onnx_data"));
        File.WriteAllText(Path.Combine(filled, FillStamp.FileName), "{\"seed\": 2}");
        var refilled = Float16Copy.Ensure(model);

        Assert.Equal(filled + "-float16", first.Folder);
        Assert.False(first.Reused);
        Assert.Equal(data / 2, first.DataBytes["unet"]);
        Assert.True(again.Reused);
        Assert.Equal(written, untouched);
        Assert.False(refilled.Reused);
        Assert.False(File.Exists(Path.Combine(first.Folder, FillStamp.FileName))); // the source's bookkeeping is not copied
    }
}
