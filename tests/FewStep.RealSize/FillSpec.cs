namespace FewStep.RealSize;

/// <summary>
/// One component's <c>fill.json</c>: the external-data file the skeleton's <c>model.onnx</c> names, its size, and
/// where each removed float32 tensor lies in it with the mean and standard deviation of its original values.
/// </summary>
/// <param name="SourcePath">The fill.json this was read from, for error messages.</param>
/// <param name="Component">The component folder's name relative to the skeleton, '/'-separated (e.g. <c>unet</c>).</param>
/// <param name="DataFile">The data file's name, relative to the component folder.</param>
/// <param name="DataBytes">The data file's exact size.</param>
/// <param name="Tensors">The tensors, in ascending offset order.</param>
public sealed record FillSpec(string SourcePath, string Component, string DataFile, long DataBytes, IReadOnlyList<FillTensor> Tensors)
{
    public const string FileName = "fill.json";

    /// <summary>The data file relative to the model folder, '/'-separated (e.g. <c>unet/model.onnx_data</c>).</summary>
    public string DataPath => Component == "." ? DataFile : $"{Component}/{DataFile}";

    /// <summary>Reads and validates a fill.json; <see cref="InvalidDataException"/> names the file and tensor.</summary>
    public static FillSpec Load(string fillJsonPath, string component) => FillSpecReader.Read(fillJsonPath, component);
}

/// <summary>One float32 tensor's byte range in the data file and the distribution its values are drawn from.</summary>
public sealed record FillTensor(string Name, IReadOnlyList<long> Dims, long Offset, long Length, double Mean, double Std)
{
    public long ElementCount => Length / sizeof(float);

    public long End => Offset + Length;
}
