using System.Net;
using System.Net.Sockets;

namespace FewStep.Functions.Webhooks;

/// <summary>
/// The primary handler for webhook deliveries. Validating the URL when the request arrives is not enough: the
/// name is resolved again when the delivery connects, maybe minutes later, and its owner can have changed the
/// answer to a private address in between (DNS rebinding). So the handler's connect step checks the host again
/// through the policy and opens the socket itself, only to an address that just passed; the request URI is
/// unchanged, so TLS (SNI, certificate name) and the Host header still use the name.
/// </summary>
/// <remarks>
/// Redirects are not followed (a 3xx to <c>http://169.254.169.254/</c> would skip the check), no proxy is used (a
/// proxy would resolve and connect for us, defeating the pinning) and no cookies are kept. HTTP/3 does not go
/// through <see cref="SocketsHttpHandler.ConnectCallback"/>, so clients on this handler must not ask for it (the
/// default request version, HTTP/1.1 or lower, never does).
/// </remarks>
public static class WebhookHttpHandler
{
    /// <param name="policy">The policy the connection is checked against (the same one that validated the request).</param>
    /// <param name="connectTimeout">The time allowed for each address's TCP connect before trying the next one.</param>
    public static SocketsHttpHandler Create(WebhookAddressPolicy policy, TimeSpan connectTimeout)
    {
        ArgumentNullException.ThrowIfNull(policy);
        if (connectTimeout <= TimeSpan.Zero && connectTimeout != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(connectTimeout), connectTimeout, "The connect timeout must be positive.");
        }

        return new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseProxy = false,
            Proxy = null,
            UseCookies = false,
            Credentials = null,
            PreAuthenticate = false,
            ConnectCallback = (context, cancellationToken) => ConnectAsync(policy, connectTimeout, context, cancellationToken),
        };
    }

    private static async ValueTask<Stream> ConnectAsync(
        WebhookAddressPolicy policy, TimeSpan connectTimeout, SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var endpoint = context.DnsEndPoint;
        var check = await policy.CheckHostAsync(endpoint.Host, cancellationToken).ConfigureAwait(false);
        if (!check.Allowed)
        {
            throw new WebhookAddressRefusedException(endpoint.Host, check.Reason ?? "is refused.");
        }

        // Plain http only to loopback, as validation allowed it; checked on the addresses actually connected to.
        if (context.InitialRequestMessage.RequestUri?.Scheme != Uri.UriSchemeHttps && !check.Addresses.All(WebhookAddressRanges.IsLoopback))
        {
            throw new WebhookAddressRefusedException(endpoint.Host, "is reached over plain http, which webhooks may use only to a loopback address; use https.");
        }

        Exception? failure = null;
        foreach (var checkedAddress in check.Addresses)
        {
            var address = checkedAddress.IsIPv4MappedToIPv6 ? checkedAddress.MapToIPv4() : checkedAddress;
            Socket? socket = null;
            try
            {
                // Inside the try: creating an IPv6 socket fails on a host without IPv6, and the next address may work.
                socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(connectTimeout);
                await socket.ConnectAsync(new IPEndPoint(address, endpoint.Port), timeout.Token).ConfigureAwait(false);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch (SocketException e)
            {
                socket?.Dispose();
                failure = e;
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                socket?.Dispose();
                failure = new TimeoutException($"Connecting to {address} port {endpoint.Port} took longer than {connectTimeout}.");
            }
            catch
            {
                socket?.Dispose();
                throw;
            }
        }

        // CheckHostAsync never allows an empty list, so at least one connect failed.
        throw failure ?? new SocketException((int)SocketError.HostNotFound);
    }
}
