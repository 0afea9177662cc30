using System.Diagnostics;
using System.Text.Json;
using FewStep.Diffusion.Noise;
using FewStep.Onnx.Pipelines;
using FewStep.Onnx.Sessions;
using FewStep.RealSize;
using Xunit.Abstractions;

namespace FewStep.Onnx.Tests.RealSize;

/// <summary>
/// The real-size SD-Turbo skeleton filled (about 5 GB, once, into $FEWSTEP_REALSIZE_DIR or
/// <c>&lt;temp&gt;/fewstep-realsize/realsize-sd-turbo-seed0</c>, then reused) and run: proves that ONNX Runtime
/// accepts the filled external data and reports where the time and memory go at real scale.
/// </summary>
[Trait("Category", "RealSize")]
public sealed class SkeletonFillerTests(ITestOutputHelper output)
{
    private const string SampledTensor = "vae.decoder.up_blocks.0.resnets.0.conv1.weight";

    [RealSizeFact]
    public void The_filled_skeleton_has_its_sizes_is_deterministic_and_generates_a_512_image()
    {
        var skeleton = RealSizePaths.DefaultSkeleton;
        var model = SkeletonFiller.Fill(skeleton, RealSizePaths.DefaultOutput(0), progress: new OutputProgress(output));
        output.WriteLine($"fill: {model.Folder}, {model.TotalDataBytes / 1e9:F2} GB, {model.Elapsed.TotalSeconds:F1} s, reused {model.Reused}");

        AssertSizes(skeleton, model);
        var again = SkeletonFiller.Fill(skeleton, model.Folder);
        Assert.True(again.Reused);
        output.WriteLine($"reuse check: {again.Elapsed.TotalMilliseconds:F0} ms");
        AssertSampledTensorIsDeterministic(skeleton, model);

        var load = Stopwatch.StartNew();
        using var pipeline = TextToImagePipeline.Load(model.Folder, new OnnxSessionFactory(new OnnxExecutionOptions()));
        output.WriteLine($"load: {load.Elapsed.TotalSeconds:F1} s");

        var request = new GenerationRequest { Prompts = ["a red fox"], NumInferenceSteps = 1, Width = 512, Height = 512 };
        var result = pipeline.Generate(request, TorchNoiseSource.ForSeeds([1L]));

        var image = Assert.Single(result.Images);
        Assert.Equal((512, 512, 512 * 512 * 3), (image.Width, image.Height, image.Rgb.Length));
        foreach (var stage in result.Timings.Stages)
        {
            output.WriteLine($"stage {stage.Stage}: {stage.Elapsed.TotalMilliseconds:F0} ms (onnx {stage.OnnxElapsed.TotalMilliseconds:F0} ms)");
        }

        output.WriteLine($"generate total: {result.Timings.Total.TotalMilliseconds:F0} ms");
        using var process = Process.GetCurrentProcess();
        output.WriteLine($"peak working set: {process.PeakWorkingSet64 / (1024.0 * 1024 * 1024):F2} GiB");
    }

    /// <summary>Each component's data file has skeleton.json's size: the fill covered the whole model.</summary>
    private static void AssertSizes(string skeleton, FilledModel model)
    {
        using var summary = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(skeleton, "skeleton.json")));
        var expected = summary.RootElement.EnumerateObject().ToDictionary(c => c.Name, c => c.Value.GetProperty("data_bytes").GetInt64());
        Assert.Equal(expected.OrderBy(e => e.Key), model.DataBytes.OrderBy(e => e.Key));
        Assert.All(expected, e => Assert.Equal(e.Value, new FileInfo(Path.Combine(model.Folder, e.Key, "model.onnx_data")).Length));
    }

    /// <summary>
    /// A tensor's values depend only on (seed, name): filling just the VAE decoder again with seed 0 must give the
    /// big fill's bytes for a sampled tensor, and seed 1 others. Costs 0.4 GB of temporary files, not 10 GB.
    /// </summary>
    private static void AssertSampledTensorIsDeterministic(string skeleton, FilledModel model)
    {
        var temp = Directory.CreateTempSubdirectory("fewstep-realsize-vae-").FullName;
        try
        {
            var vaeOnly = Path.Combine(temp, "skeleton", "vae_decoder");
            Directory.CreateDirectory(vaeOnly);
            foreach (var file in Directory.EnumerateFiles(Path.Combine(skeleton, "vae_decoder")))
            {
                File.Copy(file, Path.Combine(vaeOnly, Path.GetFileName(file)));
            }

            var spec = FillSpec.Load(Path.Combine(skeleton, "vae_decoder", FillSpec.FileName), "vae_decoder");
            var tensor = spec.Tensors.Single(t => t.Name == SampledTensor);
            byte[] Sample(string folder) => DataFileReader.Bytes(Path.Combine(folder, "vae_decoder", "model.onnx_data"), tensor.Offset, tensor.Length);

            var big = Sample(model.Folder);
            var same = Sample(SkeletonFiller.Fill(Path.GetDirectoryName(vaeOnly)!, Path.Combine(temp, "seed0"), seed: 0).Folder);
            var other = Sample(SkeletonFiller.Fill(Path.GetDirectoryName(vaeOnly)!, Path.Combine(temp, "seed1"), seed: 1).Folder);

            Assert.Equal(big, same);
            Assert.NotEqual(big, other);
            DataFileReader.AssertGaussian(DataFileReader.Floats(Path.Combine(model.Folder, "vae_decoder", "model.onnx_data"), tensor), tensor);
        }
        finally
        {
            // The copies are read-only like the shared skeleton; clear that so the folder can go.
            foreach (var file in Directory.EnumerateFiles(temp, "*", SearchOption.AllDirectories))
            {
                File.SetAttributes(file, FileAttributes.Normal);
            }

            Directory.Delete(temp, recursive: true);
        }
    }

    private sealed class OutputProgress(ITestOutputHelper output) : IProgress<string>
    {
        public void Report(string value) => output.WriteLine(value);
    }
}
