using System.Net;

namespace FewStep.Functions.Webhooks;

/// <summary>
/// The system resolver (<see cref="Dns.GetHostAddressesAsync(string, CancellationToken)"/>). An IP literal is
/// answered as itself so that checking <c>https://10.0.0.1/</c> never depends on, or leaks to, DNS.
/// </summary>
public sealed class DnsHostAddressResolver : IHostAddressResolver
{
    public async Task<IReadOnlyList<IPAddress>> ResolveAsync(string host, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(host);
        if (WebhookHostNames.TryParseAddress(host, out var literal))
        {
            return [literal];
        }

        return await Dns.GetHostAddressesAsync(host, cancellationToken).ConfigureAwait(false);
    }
}
