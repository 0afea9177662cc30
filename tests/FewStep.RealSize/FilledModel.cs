namespace FewStep.RealSize;

/// <summary>A model folder that <see cref="SkeletonFiller.Fill"/> completed or found already complete.</summary>
/// <param name="Folder">The filled model folder (full path), ready for the pipelines' Load.</param>
/// <param name="DataBytes">Each component's external-data size, keyed by component folder (e.g. <c>unet</c>).</param>
/// <param name="Elapsed">The call's wall time: seconds for a fill, milliseconds for a reuse.</param>
/// <param name="Reused">True when the folder already held this fill and nothing was written.</param>
public sealed record FilledModel(string Folder, IReadOnlyDictionary<string, long> DataBytes, TimeSpan Elapsed, bool Reused)
{
    public long TotalDataBytes => DataBytes.Values.Sum();
}
