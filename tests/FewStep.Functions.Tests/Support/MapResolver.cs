using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using FewStep.Functions.Webhooks;

namespace FewStep.Functions.Tests.Support;

/// <summary>
/// Webhook host names resolved from a table the test sets (and may change, as DNS can between a request's
/// validation and its delivery); an unknown name fails as DNS does. No test ever resolves a real name.
/// </summary>
internal sealed class MapResolver : IHostAddressResolver
{
    private readonly ConcurrentDictionary<string, IPAddress[]> _table = new(StringComparer.OrdinalIgnoreCase);

    public ConcurrentQueue<string> Questions { get; } = new();

    public MapResolver Map(string host, params string[] addresses)
    {
        _table[host] = addresses.Select(IPAddress.Parse).ToArray();
        return this;
    }

    public Task<IReadOnlyList<IPAddress>> ResolveAsync(string host, CancellationToken cancellationToken)
    {
        Questions.Enqueue(host);
        return _table.TryGetValue(host, out var addresses)
            ? Task.FromResult<IReadOnlyList<IPAddress>>(addresses)
            : Task.FromException<IReadOnlyList<IPAddress>>(new SocketException((int)SocketError.HostNotFound));
    }
}
