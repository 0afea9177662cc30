using FewStep.Onnx.Sessions;
using Microsoft.ML.OnnxRuntime;

namespace FewStep.Onnx.Tests.Sessions;

/// <summary>
/// Exports differ in element types and ranks (float16 weights, int32 or int64 ids, a float scalar timestep): the
/// bindings read them from the session and convert, so one pipeline runs them all.
/// </summary>
public sealed class ElementTypeTests : IDisposable
{
    private readonly string _temp = Directory.CreateTempSubdirectory("fewstep-onnx-").FullName;
    private readonly OnnxSessionFactory _sessions = new(new OnnxExecutionOptions());

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    [Fact]
    public void Float16_tensors_are_converted_in_and_out()
    {
        using var session = _sessions.Create("identity", TinyOnnxModel.Write(_temp, TinyOnnxModel.Float16, [null]));
        using var input = new FloatTensorBinding(session, "x", session.RequireInput("x"), [5]);
        using var output = new FloatTensorBinding(session, "y", session.RequireOutput("y"), [5]);
        float[] values = [0.5f, -2.25f, 1024f, 3.14159f, 65504f];
        values.CopyTo(input.Data, 0);

        input.Stage();
        session.Run(["x"], [input.Value], ["y"], [output.Value], null, CancellationToken.None);
        output.Complete();

        Assert.Equal([0.5f, -2.25f, 1024f, (float)(Half)3.14159f, 65504f], output.Data);
    }

    [Theory]
    [InlineData(TinyOnnxModel.Int64, 1, 999f)]
    [InlineData(TinyOnnxModel.Int32, 1, 999f)]
    [InlineData(TinyOnnxModel.Float, 0, 999.75f)]
    [InlineData(TinyOnnxModel.Float, 1, 999.75f)]
    [InlineData(TinyOnnxModel.Float16, 1, 1000f)] // float16 spacing near 1000 is 0.5; 999.75 rounds to even
    [InlineData(TinyOnnxModel.Double, 1, 999.75f)]
    public void Timesteps_take_the_declared_type_and_rank(int elementType, int rank, float expected)
    {
        int?[] shape = rank == 0 ? [] : [null];
        using var session = _sessions.Create("timestep", TinyOnnxModel.Write(_temp, elementType, shape, castTo: TinyOnnxModel.Float));

        using var timestep = new TimestepBinding(session, "x", count: 3);
        timestep.Set(999.75);
        using var results = session.Run(["x"], [timestep.Value], ["y"], null, CancellationToken.None);

        var value = OrtInputs.ReadFloats(session, "y", results[0]);
        Assert.Equal(rank == 0 ? 1 : 3, value.Length);
        Assert.All(value, v => Assert.Equal(expected, v));
        Assert.Equal(rank, results[0].GetTensorTypeAndShape().Shape.Length);
    }

    [Theory]
    [InlineData(TinyOnnxModel.Int32)]
    [InlineData(TinyOnnxModel.Int64)]
    public void Token_ids_take_the_declared_integer_type(int elementType)
    {
        using var session = _sessions.Create("ids", TinyOnnxModel.Write(_temp, elementType, [null, null], castTo: TinyOnnxModel.Float));

        using var ids = OrtInputs.Ids(session, "x", [49406, 320, 49407, 0], [2, 2]);
        using var results = session.Run(["x"], [ids], ["y"], null, CancellationToken.None);

        Assert.Equal([49406f, 320f, 49407f, 0f], OrtInputs.ReadFloats(session, "y", results[0]));
    }

    [Fact]
    public void A_fixed_dimension_that_the_request_does_not_fit_is_a_clear_error()
    {
        using var session = _sessions.Create("fixed", TinyOnnxModel.Write(_temp, TinyOnnxModel.Float, [4]));

        var error = Assert.Throws<FewStep.Diffusion.DiffusionException>(() => new FloatTensorBinding(session, "x", session.RequireInput("x"), [8]));

        Assert.Contains("fixed dimension 0 of 4", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unsupported_element_type_names_the_input()
    {
        using var session = _sessions.Create("ids", TinyOnnxModel.Write(_temp, TinyOnnxModel.Double, [null], castTo: TinyOnnxModel.Float));

        var error = Assert.Throws<FewStep.Diffusion.DiffusionException>(() => OrtInputs.Ids(session, "x", [1], [1]));

        Assert.Contains("input x", error.Message, StringComparison.Ordinal);
        Assert.Contains("Double", error.Message, StringComparison.Ordinal);
    }
}
