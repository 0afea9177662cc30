namespace FewStep.Functions.Webhooks;

/// <summary>
/// Thrown from the webhook handler's connect step, before any byte is sent, when the host no longer passes the
/// address policy (its DNS answer changed since the request was validated, or it never passed). Not transient:
/// retrying sends to the same refused address, so callers should fail the delivery rather than retry it.
/// <see cref="System.Net.Http.SocketsHttpHandler"/> surfaces it as the inner exception of an
/// <see cref="HttpRequestException"/>.
/// </summary>
public sealed class WebhookAddressRefusedException : Exception
{
    public WebhookAddressRefusedException()
    {
    }

    public WebhookAddressRefusedException(string message)
        : base(message)
    {
    }

    public WebhookAddressRefusedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>A refusal of <paramref name="host"/> for <paramref name="reason"/> (a <see cref="WebhookAddressCheck.Reason"/>).</summary>
    public WebhookAddressRefusedException(string host, string reason)
        : base($"The webhook host '{host}' {reason}")
    {
        Host = host;
        Reason = reason;
    }

    /// <summary>The refused host, as the connection would have used it; null when built from a plain message.</summary>
    public string? Host { get; }

    /// <summary>Why it was refused (a <see cref="WebhookAddressCheck.Reason"/>); null when built from a plain message.</summary>
    public string? Reason { get; }
}
