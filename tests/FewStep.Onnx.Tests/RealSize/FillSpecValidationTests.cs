using System.Text.RegularExpressions;
using FewStep.RealSize;

namespace FewStep.Onnx.Tests.RealSize;

/// <summary>A wrong fill.json fails before anything is written, naming the file and the tensor.</summary>
public sealed class FillSpecValidationTests : IDisposable
{
    private readonly string _temp = Directory.CreateTempSubdirectory("fewstep-fillspec-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    public static TheoryData<string, long, string> BadTensors => new()
    {
        { TinySkeleton.Tensor("w.length", [4, 4], 0, length: 60), 4096, "length 60 is not product(dims) × 4 = 64" },
        { TinySkeleton.Tensor("w.outside", [4, 4], 4090), 4096, "lies outside data_bytes 4096" },
        { TinySkeleton.Tensor("w.negative", [4], -4), 4096, "lies outside data_bytes" },
        { TinySkeleton.Tensor("w.dims", [4, 0], 0), 4096, "dims must hold positive integers" },
        { TinySkeleton.Tensor("w.std", [4], 0, std: -1), 4096, "std not negative" },
        { "{\"name\": \"w.nomean\", \"dims\": [1], \"offset\": 0, \"length\": 4, \"std\": 1}", 4096, "mean must be a number" },
        { "{\"name\": \"w.offset\", \"dims\": [1], \"offset\": \"0\", \"length\": 4, \"mean\": 0, \"std\": 1}", 4096, "offset must be an integer" },
    };

    [Theory]
    [MemberData(nameof(BadTensors))]
    public void A_bad_tensor_is_named_with_its_file(string tensor, long dataBytes, string expected)
    {
        var skeleton = TinySkeleton.Write(Path.Combine(_temp, "skeleton"), [TinySkeleton.Tensor("w.fine", [2], 2048), tensor], dataBytes);
        var output = Path.Combine(_temp, "out");

        var error = Assert.Throws<InvalidDataException>(() => SkeletonFiller.Fill(skeleton, output));

        Assert.Contains(Path.Combine(skeleton, "enc", "fill.json"), error.Message, StringComparison.Ordinal);
        Assert.Contains($"tensor '{tensor.Split('"')[3]}'", error.Message, StringComparison.Ordinal);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(output));
    }

    [Fact]
    public void Overlapping_tensors_are_both_named()
    {
        var skeleton = TinySkeleton.Write(
            Path.Combine(_temp, "skeleton"),
            [TinySkeleton.Tensor("w.first", [16], 0), TinySkeleton.Tensor("w.second", [4], 60)],
            4096);

        var error = Assert.Throws<InvalidDataException>(() => SkeletonFiller.Fill(skeleton, Path.Combine(_temp, "out")));

        Assert.Contains("tensor 'w.second' [60, 76) overlaps tensor 'w.first' [0, 64)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_repeated_name_is_refused()
    {
        var skeleton = TinySkeleton.Write(
            Path.Combine(_temp, "skeleton"),
            [TinySkeleton.Tensor("w.twice", [4], 0), TinySkeleton.Tensor("w.twice", [4], 64)],
            4096);

        var error = Assert.Throws<InvalidDataException>(() => SkeletonFiller.Fill(skeleton, Path.Combine(_temp, "out")));

        Assert.Contains("tensor 'w.twice' appears twice", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("\"data_file\": \"../escape\"", "data_file '../escape' must be a plain file name")]
    [InlineData("\"data_bytes\": 0", "data_bytes must be positive")]
    [InlineData("\"dtype\": \"float16\"", "dtype must be \"float32\"")]
    public void A_bad_header_is_named_with_its_file(string field, string expected)
    {
        var skeleton = TinySkeleton.Write(Path.Combine(_temp, "skeleton"), [TinySkeleton.Tensor("w", [1], 0)], 4096);
        var fill = Path.Combine(skeleton, "enc", "fill.json");
        var name = field[..(field.IndexOf(':', StringComparison.Ordinal) + 1)];
        var json = Regex.Replace(File.ReadAllText(fill), Regex.Escape(name) + " [^,]+", field);
        File.WriteAllText(fill, json);

        var error = Assert.Throws<InvalidDataException>(() => SkeletonFiller.Fill(skeleton, Path.Combine(_temp, "out")));

        Assert.Contains(fill, error.Message, StringComparison.Ordinal);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_skeleton_without_fill_json_is_refused()
    {
        var skeleton = Directory.CreateDirectory(Path.Combine(_temp, "empty")).FullName;

        var error = Assert.Throws<InvalidDataException>(() => SkeletonFiller.Fill(skeleton, Path.Combine(_temp, "out")));

        Assert.Contains("no fill.json", error.Message, StringComparison.Ordinal);
    }
}
