using FewStep.RealSize;

namespace FewStep.Onnx.Tests.RealSize;

/// <summary>What a fill writes and when it reuses a folder, on a skeleton of a few MB.</summary>
public sealed class TinySkeletonFillTests : IDisposable
{
    private readonly string _temp = Directory.CreateTempSubdirectory("fewstep-fill-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    private string Skeleton => TinySkeleton.Write(Path.Combine(_temp, "skeleton"));

    private string Out(string name) => Path.Combine(_temp, name);

    [Fact]
    public void Fill_copies_every_file_but_fill_json_and_writes_data_bytes_of_gaussian_tensors_and_zero_gaps()
    {
        var skeleton = Skeleton;

        var model = SkeletonFiller.Fill(skeleton, Out("model"), seed: 3);

        Assert.False(model.Reused);
        Assert.Equal(Out("model"), model.Folder);
        Assert.Equal(TinySkeleton.DataBytes, Assert.Single(model.DataBytes, e => e.Key == "enc").Value);
        foreach (var relative in new[] { "model_index.json", "tokenizer/vocab.json", "enc/config.json", "enc/model.onnx" })
        {
            Assert.Equal(File.ReadAllBytes(Path.Combine(skeleton, relative)), File.ReadAllBytes(Path.Combine(model.Folder, relative)));
        }

        Assert.False(File.Exists(Path.Combine(model.Folder, "enc", "fill.json")));
        var data = Path.Combine(model.Folder, "enc", "model.onnx_data");
        Assert.Equal(TinySkeleton.DataBytes, new FileInfo(data).Length);

        var spec = FillSpec.Load(Path.Combine(skeleton, "enc", "fill.json"), "enc");
        DataFileReader.AssertGaussian(DataFileReader.Floats(data, spec.Tensors.Single(t => t.Name == "enc.big.weight")), spec.Tensors[1]);
        Assert.All(DataFileReader.Floats(data, spec.Tensors[0]), v => Assert.InRange(v, 0.25 - 5, 0.25 + 5));
        long previousEnd = 0;
        foreach (var tensor in spec.Tensors.Append(new FillTensor("end", [1], TinySkeleton.DataBytes, 0, 0, 0)))
        {
            Assert.All(DataFileReader.Bytes(data, previousEnd, tensor.Offset - previousEnd), b => Assert.Equal(0, b));
            previousEnd = tensor.End;
        }
    }

    [Fact]
    public void The_same_seed_gives_the_same_bytes_and_another_seed_other_bytes()
    {
        var skeleton = Skeleton;

        var first = File.ReadAllBytes(Path.Combine(SkeletonFiller.Fill(skeleton, Out("a"), seed: 7).Folder, "enc", "model.onnx_data"));
        var again = File.ReadAllBytes(Path.Combine(SkeletonFiller.Fill(skeleton, Out("b"), seed: 7).Folder, "enc", "model.onnx_data"));
        var other = File.ReadAllBytes(Path.Combine(SkeletonFiller.Fill(skeleton, Out("c"), seed: 8).Folder, "enc", "model.onnx_data"));

        Assert.Equal(first, again);
        Assert.NotEqual(first.AsSpan(4096, 60).ToArray(), other.AsSpan(4096, 60).ToArray());
    }

    [Fact]
    public void A_tensor_depends_on_its_name_and_the_seed_not_on_its_offset_or_the_other_tensors()
    {
        var alone = TinySkeleton.Write(Path.Combine(_temp, "alone"), [TinySkeleton.Tensor("enc.big.weight", [1024, 1100], 0, -0.001, 0.02)], 4_505_600);
        var spec = FillSpec.Load(Path.Combine(Skeleton, "enc", "fill.json"), "enc");
        var big = spec.Tensors.Single(t => t.Name == "enc.big.weight");

        var full = SkeletonFiller.Fill(Skeleton, Out("full"));
        var single = SkeletonFiller.Fill(alone, Out("single"));

        Assert.Equal(
            DataFileReader.Bytes(Path.Combine(full.Folder, "enc", "model.onnx_data"), big.Offset, big.Length),
            File.ReadAllBytes(Path.Combine(single.Folder, "enc", "model.onnx_data")));
    }

    [Fact]
    public void A_complete_fill_is_reused_without_writing_and_a_changed_seed_or_damaged_folder_is_refilled()
    {
        var skeleton = Skeleton;
        var output = Out("model");
        var data = Path.Combine(output, "enc", "model.onnx_data");
        SkeletonFiller.Fill(skeleton, output, seed: 1);
        var written = File.GetLastWriteTimeUtc(data);
        Assert.True(File.Exists(Path.Combine(output, ".fewstep-fill.json")));

        var reused = SkeletonFiller.Fill(skeleton, output, seed: 1);

        Assert.True(reused.Reused);
        Assert.Equal(TinySkeleton.DataBytes, reused.TotalDataBytes);
        Assert.Equal(written, File.GetLastWriteTimeUtc(data));

        Assert.False(SkeletonFiller.Fill(skeleton, output, seed: 2).Reused);
        Assert.True(SkeletonFiller.Fill(skeleton, output, seed: 2).Reused);

        // A truncated data file and a missing stamp (an interrupted fill) both mean the folder is not complete.
        using (var stream = new FileStream(data, FileMode.Open))
        {
            stream.SetLength(100);
        }

        Assert.False(SkeletonFiller.Fill(skeleton, output, seed: 2).Reused);
        Assert.Equal(TinySkeleton.DataBytes, new FileInfo(data).Length);
        File.Delete(Path.Combine(output, ".fewstep-fill.json"));
        Assert.False(SkeletonFiller.Fill(skeleton, output, seed: 2).Reused);
        File.Delete(Path.Combine(output, "enc", "config.json"));
        Assert.False(SkeletonFiller.Fill(skeleton, output, seed: 2).Reused);
        Assert.True(File.Exists(Path.Combine(output, "enc", "config.json")));
    }

    [Fact]
    public void A_skeleton_changed_in_place_is_refilled()
    {
        var skeleton = Skeleton;
        var output = Out("model");
        SkeletonFiller.Fill(skeleton, output);
        File.WriteAllText(Path.Combine(skeleton, "enc", "config.json"), "{\"changed\": true}");

        Assert.False(SkeletonFiller.Fill(skeleton, output).Reused);
        Assert.Equal("{\"changed\": true}", File.ReadAllText(Path.Combine(output, "enc", "config.json")));
    }

    [Fact]
    public void Concurrent_fills_of_one_folder_write_it_once()
    {
        var skeleton = Skeleton;
        var output = Out("model");

        var results = Enumerable.Range(0, 3).AsParallel().Select(_ => SkeletonFiller.Fill(skeleton, output, seed: 5)).ToList();

        Assert.Single(results, r => !r.Reused);
    }

    [Fact]
    public void An_output_folder_inside_the_skeleton_is_refused()
    {
        var skeleton = Skeleton;

        var error = Assert.Throws<ArgumentException>(() => SkeletonFiller.Fill(skeleton, Path.Combine(skeleton, "out")));

        Assert.Contains("outside the skeleton", error.Message, StringComparison.Ordinal);
    }
}
