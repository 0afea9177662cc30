using System.Net;

namespace FewStep.Functions.Webhooks;

/// <summary>
/// What a webhook host <em>name</em> says before any DNS: IP literals, loopback names, and names that only exist
/// inside a cloud or private network. Refusing these by name matters because inside such a network they resolve
/// to addresses the address table also refuses, but the name check does not depend on the resolver being the
/// cloud's own.
/// </summary>
internal static class WebhookHostNames
{
    /// <summary>Cloud instance-metadata host names, refused by name. Each is documented by its provider.</summary>
    private static readonly HashSet<string> s_metadataHosts = new(StringComparer.Ordinal)
    {
        // Google Compute Engine's metadata server (cloud.google.com/compute/docs/metadata/querying-metadata:
        // http://metadata.google.internal/computeMetadata/v1/, also reachable as metadata.goog), and the bare
        // "metadata", which the google.internal search domain on GCE VMs and GKE nodes resolves to it.
        "metadata.google.internal",
        "metadata.goog",
        "metadata",

        // Amazon EC2: the Amazon-provided DNS resolves instance-data (and instance-data.ec2.internal, refused by the
        // .internal rule below) to the instance metadata service at 169.254.169.254.
        "instance-data",

        // Tencent Cloud CVM instance metadata (cloud.tencent.com/document/product/213/4934:
        // http://metadata.tencentyun.com/latest/meta-data/).
        "metadata.tencentyun.com",

        // Equinix Metal (formerly Packet) metadata, a public name that answers by the caller's source address:
        // https://metadata.platformequinix.com/metadata (formerly https://metadata.packet.net/metadata).
        "metadata.platformequinix.com",
        "metadata.packet.net",

        // Not listed: Azure's IMDS (learn.microsoft.com/azure/virtual-machines/instance-metadata-service) and its
        // platform endpoint (the wireserver) have no host name, only 169.254.169.254 and 168.63.129.16, which the
        // address table refuses; the same holds for Alibaba Cloud (100.100.100.200), Oracle Cloud
        // (169.254.169.254, formerly 192.0.0.192), DigitalOcean, Hetzner and OpenStack (169.254.169.254).
    };

    /// <summary>
    /// Special-use suffixes that never name a public host: <c>.internal</c> (reserved by ICANN for private use in
    /// 2024; GCE's metadata.google.internal and EC2's *.compute.internal live here), <c>.local</c> (multicast DNS,
    /// RFC 6762) and <c>.home.arpa</c> (home networks, RFC 8375).
    /// </summary>
    private static readonly string[] s_privateSuffixes = [".internal", ".local", ".home.arpa"];

    /// <summary>Lower-cased, without the root's trailing dot (<c>Metadata.Google.Internal.</c> is the same host).</summary>
    public static string Normalize(string host) => host.TrimEnd('.').ToLowerInvariant();

    /// <summary>
    /// An IP literal as a URI or a connection names it: <c>10.0.0.1</c>, <c>::1</c>, <c>[::1]</c>, or with a zone
    /// (<c>fe80::1%eth0</c>, <c>%25</c>-escaped in URIs; the zone does not change the address's class).
    /// </summary>
    public static bool TryParseAddress(string host, out IPAddress address)
    {
        var text = host.Trim();
        if (text.Length > 1 && text[0] == '[' && text[^1] == ']')
        {
            text = text[1..^1];
        }

        var zone = text.IndexOf('%', StringComparison.Ordinal);
        if (zone >= 0 && text.Contains(':', StringComparison.Ordinal))
        {
            text = text[..zone];
        }

        // IPAddress.TryParse also takes "1" or "127.1" (inet_aton forms); System.Uri has already canonicalized such a
        // host to dotted form, and the system resolver would read them the same way, so the answers agree.
        if (IPAddress.TryParse(text, out var parsed))
        {
            address = parsed;
            return true;
        }

        address = IPAddress.None;
        return false;
    }

    /// <summary><c>localhost</c> and any <c>*.localhost</c> name (RFC 6761 §6.3: always the loopback address).</summary>
    public static bool IsLoopbackName(string normalizedHost) =>
        normalizedHost == "localhost" || normalizedHost.EndsWith(".localhost", StringComparison.Ordinal);

    /// <summary>The loopback addresses a loopback name stands for, answered without DNS (RFC 6761 §6.3).</summary>
    public static IReadOnlyList<IPAddress> LoopbackAddresses { get; } = [IPAddress.Loopback, IPAddress.IPv6Loopback];

    /// <summary>Why a host name (not an IP literal) is refused by name alone, or null.</summary>
    public static string? CheckName(string normalizedHost, bool allowLoopback)
    {
        if (normalizedHost.Length == 0)
        {
            return "must name a host.";
        }

        if (s_metadataHosts.Contains(normalizedHost))
        {
            return $"names {normalizedHost}, a cloud metadata endpoint; webhooks must reach a public address.";
        }

        if (IsLoopbackName(normalizedHost))
        {
            return allowLoopback
                ? null
                : $"names {normalizedHost}, a loopback name; webhooks must reach a public address.";
        }

        foreach (var suffix in s_privateSuffixes)
        {
            if (normalizedHost.EndsWith(suffix, StringComparison.Ordinal) || normalizedHost == suffix[1..])
            {
                return $"names {normalizedHost}, a private-use name ({suffix}); webhooks must reach a public address.";
            }
        }

        return null;
    }
}
