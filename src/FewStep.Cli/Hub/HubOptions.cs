namespace FewStep.Cli.Hub;

/// <summary>Where the Hub is and how to talk to it (<c>HF_ENDPOINT</c>, <c>HF_TOKEN</c>).</summary>
public sealed record HubOptions
{
    public const string DefaultEndpoint = "https://huggingface.co";

    public Uri Endpoint { get; init; } = new(DefaultEndpoint);

    /// <summary>Sent as <c>Authorization: Bearer</c> to the Hub (never to a redirect target on another host).</summary>
    public string? Token { get; init; }

    /// <summary>Options from the environment: <c>HF_ENDPOINT</c> and <c>HF_TOKEN</c>.</summary>
    public static HubOptions FromEnvironment(Func<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        var endpoint = environment("HF_ENDPOINT");
        var token = environment("HF_TOKEN");
        return new HubOptions
        {
            Endpoint = string.IsNullOrWhiteSpace(endpoint) ? new Uri(DefaultEndpoint) : new Uri(endpoint.TrimEnd('/')),
            Token = string.IsNullOrWhiteSpace(token) ? null : token.Trim(),
        };
    }
}
