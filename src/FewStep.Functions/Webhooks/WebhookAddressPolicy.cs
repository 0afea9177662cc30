using System.Net;
using System.Net.Sockets;

namespace FewStep.Functions.Webhooks;

/// <summary>
/// Decides whether the service may POST to a caller's webhook URL. A webhook is a server-side request to an
/// address a stranger chose, so without this a request with <c>https://169.254.169.254/…</c>, an intranet address
/// or a name that resolves to one would make the service probe its own network (SSRF). The check runs twice: when
/// the request is validated (<see cref="CheckAsync"/>, to answer 400 at once) and again when the delivery
/// connects (<see cref="WebhookHttpHandler"/>, through <see cref="CheckHostAsync"/>), because a name's DNS answer
/// can change in between; the connection then goes only to the addresses that passed.
/// </summary>
public sealed class WebhookAddressPolicy
{
    private const string MustBePublic = "webhooks must reach a public address.";

    private readonly IHostAddressResolver _resolver;

    /// <param name="resolver">Where host names are resolved (<see cref="DnsHostAddressResolver"/> in the app).</param>
    /// <param name="allowLoopback">
    /// Whether loopback (<c>localhost</c>, 127.0.0.0/8, ::1) is allowed, and with it plain http to it: for local
    /// development and tests only, never in a deployment (a loopback webhook reaches the service's own host).
    /// </param>
    public WebhookAddressPolicy(IHostAddressResolver resolver, bool allowLoopback)
    {
        ArgumentNullException.ThrowIfNull(resolver);
        _resolver = resolver;
        AllowLoopback = allowLoopback;
    }

    public bool AllowLoopback { get; }

    /// <summary>
    /// What the URL itself says, without DNS: null when fine, else the reason. Absolute; https, or plain http only
    /// to a loopback host when <paramref name="allowLoopback"/>; no credentials; not a cloud metadata or
    /// private-use name; not a loopback name unless allowed; an IP literal must classify as public.
    /// </summary>
    public static string? CheckSyntax(Uri uri, bool allowLoopback)
    {
        ArgumentNullException.ThrowIfNull(uri);
        if (!uri.IsAbsoluteUri)
        {
            return "must be an absolute https URL.";
        }

        var http = uri.Scheme == Uri.UriSchemeHttp;
        if (uri.Scheme != Uri.UriSchemeHttps && !http)
        {
            return $"must use https, not '{uri.Scheme}'.";
        }

        if (!string.IsNullOrEmpty(uri.UserInfo))
        {
            return "must not carry credentials in the URL.";
        }

        bool loopback;
        if (uri.HostNameType is UriHostNameType.IPv4 or UriHostNameType.IPv6 && WebhookHostNames.TryParseAddress(uri.Host, out var literal))
        {
            if (WebhookAddressRanges.Classify(literal, allowLoopback) is { } why)
            {
                return Refusal("points to", literal, why);
            }

            loopback = WebhookAddressRanges.IsLoopback(literal);
        }
        else
        {
            // IdnHost: the punycode (IDNA-mapped) form, so a full-width or other look-alike spelling of a refused
            // name is compared as the name DNS would be asked for.
            var host = WebhookHostNames.Normalize(uri.IdnHost);
            if (WebhookHostNames.CheckName(host, allowLoopback) is { } why)
            {
                return why;
            }

            loopback = WebhookHostNames.IsLoopbackName(host);
        }

        if (http && !(allowLoopback && loopback))
        {
            return allowLoopback
                ? $"must use https (plain http only to a loopback address, for local testing), not 'http://{uri.Host}'."
                : $"must use https, not 'http://{uri.Host}'.";
        }

        return null;
    }

    /// <summary>
    /// Null for a public unicast address, else what it is, with its range: a noun phrase such as
    /// <c>a private address (10.0.0.0/8)</c>. IPv4-mapped, NAT64 and 6to4 addresses are judged by the IPv4
    /// address inside them.
    /// </summary>
    public static string? Classify(IPAddress address, bool allowLoopback) => WebhookAddressRanges.Classify(address, allowLoopback);

    /// <summary>
    /// <see cref="CheckSyntax"/>, then the host's addresses: refused when it resolves to nothing, cannot be
    /// resolved, or when <em>any</em> address is refused (a name with one public and one private record could be
    /// steered to the private one: DNS rebinding). An IP literal is checked without DNS.
    /// </summary>
    public async Task<WebhookAddressCheck> CheckAsync(Uri uri, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(uri);
        if (CheckSyntax(uri, AllowLoopback) is { } reason)
        {
            return WebhookAddressCheck.Refused(reason);
        }

        return await CheckHostAsync(uri.IdnHost, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The host part of <see cref="CheckAsync"/> (names, resolution, every address classified), for a host as a
    /// connection names it (<see cref="DnsEndPoint.Host"/>): used again at connection time, where the scheme has
    /// already been checked.
    /// </summary>
    public async Task<WebhookAddressCheck> CheckHostAsync(string host, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(host);
        IReadOnlyList<IPAddress> addresses;
        var isName = !WebhookHostNames.TryParseAddress(host, out var literal);
        if (!isName)
        {
            addresses = [literal];
        }
        else
        {
            var name = WebhookHostNames.Normalize(host);
            if (WebhookHostNames.CheckName(name, AllowLoopback) is { } why)
            {
                return WebhookAddressCheck.Refused(why);
            }

            if (WebhookHostNames.IsLoopbackName(name))
            {
                addresses = WebhookHostNames.LoopbackAddresses;
            }
            else
            {
                try
                {
                    addresses = await _resolver.ResolveAsync(host, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is SocketException or ArgumentException && !cancellationToken.IsCancellationRequested)
                {
                    return WebhookAddressCheck.Refused($"could not be resolved ({e.Message}).");
                }
            }
        }

        if (addresses.Count == 0)
        {
            return WebhookAddressCheck.Refused($"resolves to no address; {MustBePublic}");
        }

        foreach (var address in addresses)
        {
            if (Classify(address, AllowLoopback) is { } why)
            {
                return WebhookAddressCheck.Refused(Refusal(isName ? "resolves to" : "points to", address, why));
            }
        }

        return new WebhookAddressCheck(true, null, addresses.Distinct().ToArray());
    }

    private static string Refusal(string verb, IPAddress address, string why) => $"{verb} {address}, {why}; {MustBePublic}";
}
