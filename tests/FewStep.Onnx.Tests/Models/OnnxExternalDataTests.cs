using System.Diagnostics;
using System.Text.Json;
using FewStep.Onnx.Models;
using Microsoft.ML.OnnxRuntime;
using static FewStep.Onnx.Tests.Models.OnnxProtoWriter;

namespace FewStep.Onnx.Tests.Models;

/// <summary>
/// The downloader fetches exactly the external-data files a model names, so every place onnx.proto lets a tensor
/// live must be found, large inline weights must cost neither memory nor time, and a location must never lead out
/// of the model's folder.
/// </summary>
public sealed class OnnxExternalDataTests : IDisposable
{
    private readonly string _temp = Directory.CreateTempSubdirectory("fewstep-onnxdata-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    [Fact]
    public void A_model_with_inline_weights_only_references_nothing()
    {
        var graph = Graph("inline", [Node("Add", ["x", "w"], ["y"])],
            [Tensor("w", [2], raw: new byte[8]), Tensor("v", [3], raw: new byte[12])]);

        Assert.Empty(OnnxExternalData.ReadLocations(Write(_temp, Model(graph))));
    }

    [Fact]
    public void One_file_shared_by_many_initializers_is_one_location()
    {
        var initializers = Enumerable.Range(0, 200)
            .Select(i => Tensor($"w{i}", [16], location: "model.onnx_data", offset: i * 4096L, length: 64)).ToArray();
        var path = Write(_temp, Model(Graph("shared", [], initializers)));

        Assert.Equal(["model.onnx_data"], OnnxExternalData.ReadLocations(path));
        Assert.Equal(200, Scan(File.ReadAllBytes(path)).ExternalTensorCount);
    }

    [Theory]
    [InlineData("model.onnx.data")]
    [InlineData("weights.pb")]
    [InlineData("unet.weights")]
    public void The_name_is_read_from_the_model_not_guessed(string location)
    {
        var graph = Graph("named", [], [Tensor("w", [4], location: location, offset: 0, length: 16)]);

        Assert.Equal([location], OnnxExternalData.ReadLocations(Write(_temp, Model(graph))));
    }

    [Fact]
    public void Shards_are_listed_once_each_in_first_seen_order()
    {
        var graph = Graph("sharded", [],
        [
            Tensor("a", [4], location: "weights-1.bin", offset: 0, length: 16),
            Tensor("b", [4], location: "weights-2.bin", offset: 0, length: 16),
            Tensor("c", [4], raw: new byte[16]),
            Tensor("d", [4], location: "weights-1.bin", offset: 4096, length: 16),
            Tensor("e", [4], location: "weights-2.bin", offset: 4096, length: 16),
        ]);

        Assert.Equal(["weights-1.bin", "weights-2.bin"], OnnxExternalData.ReadLocations(Write(_temp, Model(graph))));
    }

    [Theory]
    [InlineData("data/w.bin")]
    [InlineData("./data/w.bin")]
    [InlineData("data//w.bin")]
    [InlineData("data\\w.bin")]
    public void A_location_in_a_subfolder_is_relative_and_slash_separated(string written)
    {
        var graph = Graph("sub", [], [Tensor("w", [4], location: written), Tensor("v", [4], location: "data/w.bin")]);

        Assert.Equal(["data/w.bin"], OnnxExternalData.ReadLocations(Write(_temp, Model(graph))));
    }

    [Fact]
    public void A_constant_nodes_attribute_tensor_is_found()
    {
        var constant = Node("Constant", [], ["c"], TensorAttribute("value", Tensor("c", [4], location: "constant.bin", offset: 0, length: 16)));
        var graph = Graph("constant", [constant, Node("Identity", ["c"], ["y"])], []);

        Assert.Equal(["constant.bin"], OnnxExternalData.ReadLocations(Write(_temp, Model(graph))));
    }

    [Fact]
    public void Initializers_of_if_branches_are_found()
    {
        var thenBranch = Graph("then", [Node("Identity", ["t"], ["out"])], [Tensor("t", [4], location: "then.bin")]);
        var elseBranch = Graph("else", [Node("Identity", ["e"], ["out"])], [Tensor("e", [4], location: "else.bin")]);
        var node = Node("If", ["cond"], ["y"], GraphAttribute("then_branch", thenBranch), GraphAttribute("else_branch", elseBranch));
        var graph = Graph("if", [node], [Tensor("top", [4], location: "model.onnx_data")]);

        // Nodes come before initializers in the file (GraphProto field 1, as exporters write it): first seen, first listed.
        Assert.Equal(["then.bin", "else.bin", "model.onnx_data"], OnnxExternalData.ReadLocations(Write(_temp, Model(graph))));
    }

    [Fact]
    public void Sparse_initializers_and_model_local_functions_are_found()
    {
        var sparse = SparseTensor(Tensor("values", [3], location: "sparse-values.bin"), Tensor("indices", [3], dataType: 7, location: "sparse-indices.bin"), [10]);
        var function = Function("MyOp", "custom",
            Node("Constant", [], ["k"], TensorAttribute("value", Tensor("k", [4], location: "function.bin"))));
        var graph = Graph("sparse", [], [], sparseInitializers: [sparse]);

        Assert.Equal(["sparse-values.bin", "sparse-indices.bin", "function.bin"],
            OnnxExternalData.ReadLocations(Write(_temp, Model(graph, function))));
    }

    [Fact]
    public void A_location_key_is_enough_without_data_location_and_may_follow_its_value()
    {
        var unmarked = Tensor("a", [4], location: "unmarked.bin", markExternal: false);
        var valueFirst = Message(w =>
        {
            w.WriteTag(8, Google.Protobuf.WireFormat.WireType.LengthDelimited);
            w.WriteString("b");
            Field(w, 13, Entry("location", "value-first.bin", valueFirst: true));
            Field(w, 13, Entry("offset", "0"));
        });
        var graph = Graph("keys", [], [unmarked, valueFirst]);

        Assert.Equal(["unmarked.bin", "value-first.bin"], OnnxExternalData.ReadLocations(Write(_temp, Model(graph))));
    }

    [Fact]
    public void Data_location_external_without_a_location_is_refused()
    {
        var tensor = Message(w =>
        {
            w.WriteTag(8, Google.Protobuf.WireFormat.WireType.LengthDelimited);
            w.WriteString("nowhere");
            Field(w, 13, Entry("offset", "0"));
            w.WriteTag(14, Google.Protobuf.WireFormat.WireType.Varint);
            w.WriteEnum(1);
        });
        var path = Write(_temp, Model(Graph("nowhere", [], [tensor])));

        var error = Assert.Throws<InvalidDataException>(() => OnnxExternalData.ReadLocations(path));

        Assert.Contains("'nowhere'", error.Message, StringComparison.Ordinal);
        Assert.Contains(path, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Large_inline_raw_data_is_skipped_without_being_read_into_memory()
    {
        const int RawBytes = 50 * 1024 * 1024;
        var path = Path.Combine(_temp, "model.onnx");
        WriteLargeInlineModel(path, RawBytes, "after.bin");
        OnnxExternalData.ReadLocations(path); // JIT and file cache warm-up

        var allocated = GC.GetAllocatedBytesForCurrentThread();
        var clock = Stopwatch.StartNew();
        var locations = OnnxExternalData.ReadLocations(path);
        clock.Stop();
        allocated = GC.GetAllocatedBytesForCurrentThread() - allocated;

        Assert.Equal(["after.bin"], locations);
        Assert.True(allocated < 1024 * 1024, $"allocated {allocated} bytes reading a model with {RawBytes} inline bytes");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"took {clock.Elapsed}");
    }

    [Fact]
    public void A_non_seekable_stream_is_read_by_discarding_chunks()
    {
        const int RawBytes = 50 * 1024 * 1024;
        var path = Path.Combine(_temp, "model.onnx");
        WriteLargeInlineModel(path, RawBytes, "data/after.bin");

        var allocated = GC.GetAllocatedBytesForCurrentThread();
        using var stream = new NonSeekableStream(File.OpenRead(path));
        var locations = OnnxExternalData.ReadLocations(stream);
        allocated = GC.GetAllocatedBytesForCurrentThread() - allocated;

        Assert.Equal(["data/after.bin"], locations);
        Assert.Equal(new FileInfo(path).Length, stream.BytesRead);
        Assert.True(allocated < 1024 * 1024, $"allocated {allocated} bytes");
    }

    [Fact]
    public void Short_reads_at_every_byte_give_the_same_answer()
    {
        var thenBranch = Graph("then", [], [Tensor("t", [4], location: "then.bin")]);
        var graph = Graph("short", [Node("If", ["c"], ["y"], GraphAttribute("then_branch", thenBranch))],
            [Tensor("w", [2], raw: new byte[8]), Tensor("a", [4], location: "model.onnx_data", offset: 0, length: 16)]);
        var model = Model(graph);

        using var stream = new NonSeekableStream(new MemoryStream(model), maxRead: 1);

        Assert.Equal(["then.bin", "model.onnx_data"], OnnxExternalData.ReadLocations(stream));
    }

    [Theory]
    [InlineData("../evil.bin")]
    [InlineData("/etc/passwd")]
    [InlineData("data/../../evil.bin")]
    [InlineData("data/../w.bin")]
    [InlineData("..\\evil.bin")]
    [InlineData("C:\\Windows\\evil.bin")]
    [InlineData("\\\\server\\share\\evil.bin")]
    [InlineData("")]
    [InlineData("./")]
    public void A_location_outside_the_model_folder_is_refused(string location)
    {
        var graph = Graph("evil", [], [Tensor("ok", [4], location: "model.onnx_data"), Tensor("evil", [4], location: location)]);
        var path = Write(_temp, Model(graph));

        var error = Assert.Throws<InvalidDataException>(() => OnnxExternalData.ReadLocations(path));

        Assert.Contains($"'{location}'", error.Message, StringComparison.Ordinal);
        Assert.Contains(path, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_truncated_file_is_refused_with_the_file_and_offset()
    {
        var graph = Graph("truncated", [], [Tensor("w", [2], raw: new byte[64]), Tensor("a", [4], location: "model.onnx_data")]);
        var model = Model(graph);
        var path = Write(_temp, model[..^40]);

        var error = Assert.Throws<InvalidDataException>(() => OnnxExternalData.ReadLocations(path));

        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.Contains("runs past the end of the file at byte offset", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_prefix_of_a_model_is_either_read_or_refused_as_invalid_data()
    {
        var thenBranch = Graph("then", [], [Tensor("t", [4], location: "then.bin")]);
        var graph = Graph("prefix", [Node("If", ["c"], ["y"], GraphAttribute("then_branch", thenBranch))],
            [Tensor("w", [2], raw: new byte[8]), Tensor("a", [4], location: "model.onnx_data", offset: 0, length: 16)]);
        var model = Model(graph);

        for (var length = 0; length < model.Length; length++)
        {
            foreach (var stream in new Stream[] { new MemoryStream(model, 0, length), new NonSeekableStream(new MemoryStream(model, 0, length), 7) })
            {
                using (stream)
                {
                    try
                    {
                        OnnxExternalData.ReadLocations(stream);
                    }
                    catch (InvalidDataException error)
                    {
                        Assert.Contains("byte offset", error.Message, StringComparison.Ordinal);
                    }
                }
            }
        }
    }

    [Theory]
    [InlineData(new byte[] { 0x08, 0x80 }, "a truncated varint at byte offset 1")]
    [InlineData(new byte[] { 0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01 }, "a varint longer than ten bytes at byte offset 1")]
    [InlineData(new byte[] { 0x3A, 0x10, 0x0A, 0x00 }, "a length of 16 bytes that runs past the end of the file at byte offset 1")]
    [InlineData(new byte[] { 0x3A, 0x02, 0x2A, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00 }, "a length of 5 bytes that runs past the end of its enclosing message at byte offset 3")]
    [InlineData(new byte[] { 0x00 }, "an invalid field tag 0 at byte offset 0")]
    [InlineData(new byte[] { 0x0B }, "an unsupported wire type 3 at byte offset 1")]
    public void Malformed_protobuf_names_the_problem_and_offset(byte[] model, string expected)
    {
        var path = Write(_temp, model);

        var error = Assert.Throws<InvalidDataException>(() => OnnxExternalData.ReadLocations(path));

        Assert.Equal($"'{path}' is not a valid ONNX model: {expected}.", error.Message);
    }

    [Fact]
    public void Subgraphs_nested_past_the_recursion_limit_are_refused()
    {
        var graph = Graph("leaf", [], []);
        for (var i = 0; i < 60; i++)
        {
            graph = Graph($"level{i}", [Node("If", ["c"], ["y"], GraphAttribute("then_branch", graph))], []);
        }

        var error = Assert.Throws<InvalidDataException>(() => OnnxExternalData.ReadLocations(Write(_temp, Model(graph))));

        Assert.Contains("nested deeper than", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Onnx_runtime_loads_the_layout_that_was_read()
    {
        // y = x + a + b + c, with a and c in model.onnx_data (c at a 4 KiB-aligned offset) and b in data/b.bin.
        Directory.CreateDirectory(Path.Combine(_temp, "data"));
        var shared = new byte[4096 + 8];
        Floats(10f, 20f).CopyTo(shared, 0);
        Floats(1000f, 2000f).CopyTo(shared, 4096);
        File.WriteAllBytes(Path.Combine(_temp, "model.onnx_data"), shared);
        File.WriteAllBytes(Path.Combine(_temp, "data", "b.bin"), Floats(100f, 200f));
        var graph = Graph("external",
            [Node("Add", ["x", "a"], ["t"]), Node("Add", ["t", "b"], ["u"]), Node("Add", ["u", "c"], ["y"])],
            [
                Tensor("a", [2], location: "model.onnx_data", offset: 0, length: 8),
                Tensor("b", [2], location: "data/b.bin", offset: 0, length: 8),
                Tensor("c", [2], location: "model.onnx_data", offset: 4096, length: 8),
            ],
            inputs: [ValueInfo("x", Float, [2])],
            outputs: [ValueInfo("y", Float, [2])]);
        var path = Write(_temp, Model(graph));

        Assert.Equal(["model.onnx_data", "data/b.bin"], OnnxExternalData.ReadLocations(path));

        using var session = new InferenceSession(path);
        using var x = OrtValue.CreateTensorValueFromMemory(new[] { 1f, 2f }, new long[] { 2 });
        using var runOptions = new RunOptions();
        using var results = session.Run(runOptions, ["x"], [x], ["y"]);
        Assert.Equal([1111f, 2222f], results[0].GetTensorDataAsSpan<float>().ToArray());
    }

    [Fact]
    public void The_conformance_models_keep_their_weights_inline()
    {
        var models = Directory.GetDirectories(ConformancePaths.Models)
            .SelectMany(Directory.GetDirectories)
            .Select(component => Path.Combine(component, "model.onnx"))
            .Where(File.Exists)
            .ToArray();

        Assert.NotEmpty(models);
        Assert.All(models, model => Assert.Empty(OnnxExternalData.ReadLocations(model)));
    }

    [Theory]
    [InlineData("text_encoder")]
    [InlineData("unet")]
    [InlineData("vae_decoder")]
    public void The_real_size_skeletons_name_the_data_file_of_every_removed_tensor(string component)
    {
        var folder = Path.Combine(ConformancePaths.Root, "skeletons", "realsize-sd-turbo");
        var model = Path.Combine(folder, component, "model.onnx");
        using var fill = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(folder, component, "fill.json")));
        using var summary = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(folder, "skeleton.json")));

        var locations = OnnxExternalData.ReadLocations(model);

        Assert.Equal([fill.RootElement.GetProperty("data_file").GetString()!], locations);
        Assert.Equal(["model.onnx_data"], locations);
        var expected = summary.RootElement.GetProperty(component).GetProperty("external_tensors").GetInt32();
        Assert.Equal(expected, fill.RootElement.GetProperty("tensors").GetArrayLength());
        Assert.Equal(expected, Scan(File.ReadAllBytes(model)).ExternalTensorCount);
    }

    private static OnnxExternalDataScanner Scan(byte[] model)
    {
        var scanner = new OnnxExternalDataScanner(new MemoryStream(model), "test");
        scanner.Scan();
        return scanner;
    }

    private static byte[] Floats(params float[] values)
    {
        var bytes = new byte[values.Length * sizeof(float)];
        Buffer.BlockCopy(values, 0, bytes, 0, bytes.Length);
        return bytes;
    }
}
