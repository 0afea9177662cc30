namespace FewStep.Functions.Rendering;

/// <summary>
/// A catalog model that the rendering worker could not load (missing or corrupt files). The service's fault,
/// not the caller's: reported as <c>render_failed</c>, with the details (paths included) only in the logs.
/// </summary>
public sealed class ModelUnavailableException : Exception
{
    public ModelUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public ModelUnavailableException(string message)
        : base(message)
    {
    }

    public ModelUnavailableException()
    {
    }
}
