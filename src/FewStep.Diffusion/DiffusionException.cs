namespace FewStep.Diffusion;

/// <summary>
/// The one exception FewStep throws for a user's mistake or a broken model folder: a missing file, an unknown
/// pipeline or scheduler class, an unsupported config value, a bad size or step count. The message always names
/// the offending file, field or value.
/// </summary>
public sealed class DiffusionException : Exception
{
    public DiffusionException(string message)
        : base(message)
    {
    }

    public DiffusionException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public DiffusionException()
    {
    }
}
