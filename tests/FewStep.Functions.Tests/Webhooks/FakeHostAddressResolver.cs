using System.Collections.Concurrent;
using System.Net;
using FewStep.Functions.Webhooks;

namespace FewStep.Functions.Tests.Webhooks;

/// <summary>
/// A resolver that answers from a function of (host, how many times it was asked before), so a test can make a
/// name change its answer between validation and connection; it logs every question.
/// </summary>
internal sealed class FakeHostAddressResolver : IHostAddressResolver
{
    private readonly Func<string, int, IReadOnlyList<IPAddress>> _answer;
    private int _calls;

    public FakeHostAddressResolver(Func<string, int, IReadOnlyList<IPAddress>> answer) => _answer = answer;

    public ConcurrentQueue<string> Questions { get; } = new();

    /// <summary>Always the same answer for any host.</summary>
    public static FakeHostAddressResolver Answering(params string[] addresses)
    {
        var parsed = addresses.Select(IPAddress.Parse).ToArray();
        return new FakeHostAddressResolver((_, _) => parsed);
    }

    public Task<IReadOnlyList<IPAddress>> ResolveAsync(string host, CancellationToken cancellationToken)
    {
        Questions.Enqueue(host);
        var call = Interlocked.Increment(ref _calls) - 1;
        return Task.FromResult(_answer(host, call));
    }
}
