using System.Net;

namespace FewStep.Functions.Webhooks;

/// <summary>
/// The verdict on a webhook URL. <see cref="Reason"/> (set when refused) is a sentence fragment written to follow
/// the field name in a validation error, e.g. <c>webhook_url</c> "resolves to 10.0.0.1, a private address
/// (10.0.0.0/8); webhooks must reach a public address."; <see cref="Addresses"/> are the checked addresses, the
/// only ones a delivery may connect to.
/// </summary>
public sealed record WebhookAddressCheck(bool Allowed, string? Reason, IReadOnlyList<IPAddress> Addresses)
{
    internal static WebhookAddressCheck Refused(string reason) => new(false, reason, []);
}
