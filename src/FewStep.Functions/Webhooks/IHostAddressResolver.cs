using System.Net;

namespace FewStep.Functions.Webhooks;

/// <summary>
/// Turns a webhook's host into the addresses a connection would go to. An interface so the policy and the
/// connection pinning can be tested with made-up names and answers, without DNS and without sending anything
/// off the machine.
/// </summary>
public interface IHostAddressResolver
{
    /// <summary>The host's addresses, in the order to try them; an IP literal is its own answer.</summary>
    Task<IReadOnlyList<IPAddress>> ResolveAsync(string host, CancellationToken cancellationToken);
}
