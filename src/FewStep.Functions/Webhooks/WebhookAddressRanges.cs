using System.Net;
using System.Net.Sockets;

namespace FewStep.Functions.Webhooks;

/// <summary>
/// The address tables behind <see cref="WebhookAddressPolicy.Classify"/>: every range that is not public unicast
/// (IANA's special-purpose registries, RFC 6890 and successors) plus the cloud platform addresses that sit in
/// otherwise ordinary space. A webhook is a request the service makes on a stranger's behalf, so anything that
/// reaches this machine, its network or its cloud's control plane is refused, with the range in the reason so
/// the caller can see why.
/// </summary>
internal static class WebhookAddressRanges
{
    private static readonly IPNetwork s_ipv4Loopback = IPNetwork.Parse("127.0.0.0/8");

    /// <summary>IPv4, most specific first (a platform address before the range that holds it).</summary>
    private static readonly (IPNetwork Network, string Description)[] s_ipv4 =
    [
        (IPNetwork.Parse("0.0.0.0/8"), "a \"this network\" address (0.0.0.0/8)"),
        (IPNetwork.Parse("10.0.0.0/8"), "a private address (10.0.0.0/8)"),
        // Alibaba Cloud ECS instance metadata (http://100.100.100.200/latest/meta-data/).
        (IPNetwork.Parse("100.100.100.200/32"), "Alibaba Cloud's instance metadata address (100.100.100.200/32, in the shared address space 100.64.0.0/10)"),
        (IPNetwork.Parse("100.64.0.0/10"), "a shared (carrier-grade NAT) address (100.64.0.0/10)"),
        // The instance metadata service of AWS, Azure, GCP, Oracle Cloud, DigitalOcean, OpenStack and others.
        (IPNetwork.Parse("169.254.169.254/32"), "the cloud instance metadata address (169.254.169.254/32, link-local 169.254.0.0/16)"),
        (IPNetwork.Parse("169.254.0.0/16"), "a link-local address (169.254.0.0/16)"),
        // Azure's virtual public IP for the platform (DNS, DHCP, health probes, the VM agent's wireserver); it is
        // reachable from every Azure VM and container, so it is refused although it lies in public space.
        (IPNetwork.Parse("168.63.129.16/32"), "Azure's platform address (168.63.129.16/32, the wireserver)"),
        (IPNetwork.Parse("172.16.0.0/12"), "a private address (172.16.0.0/12)"),
        // Oracle Cloud's legacy instance metadata address.
        (IPNetwork.Parse("192.0.0.192/32"), "Oracle Cloud's legacy metadata address (192.0.0.192/32, in 192.0.0.0/24)"),
        (IPNetwork.Parse("192.0.0.0/24"), "an IETF protocol assignment (192.0.0.0/24)"),
        (IPNetwork.Parse("192.0.2.0/24"), "a documentation address (192.0.2.0/24)"),
        (IPNetwork.Parse("192.88.99.0/24"), "a 6to4 relay anycast address (192.88.99.0/24)"),
        (IPNetwork.Parse("192.168.0.0/16"), "a private address (192.168.0.0/16)"),
        (IPNetwork.Parse("198.18.0.0/15"), "a benchmarking address (198.18.0.0/15)"),
        (IPNetwork.Parse("198.51.100.0/24"), "a documentation address (198.51.100.0/24)"),
        (IPNetwork.Parse("203.0.113.0/24"), "a documentation address (203.0.113.0/24)"),
        (IPNetwork.Parse("224.0.0.0/4"), "a multicast address (224.0.0.0/4)"),
        (IPNetwork.Parse("255.255.255.255/32"), "the broadcast address (255.255.255.255/32)"),
        (IPNetwork.Parse("240.0.0.0/4"), "a reserved address (240.0.0.0/4)"),
    ];

    private static readonly IPNetwork s_ipv6Unspecified = IPNetwork.Parse("::/128");
    private static readonly IPNetwork s_ipv6Loopback = IPNetwork.Parse("::1/128");
    private static readonly IPNetwork s_nat64 = IPNetwork.Parse("64:ff9b::/96");
    private static readonly IPNetwork s_sixToFour = IPNetwork.Parse("2002::/16");
    private static readonly IPNetwork s_globalUnicast = IPNetwork.Parse("2000::/3");

    /// <summary>IPv6 ranges with no IPv4 address inside, most specific first.</summary>
    private static readonly (IPNetwork Network, string Description)[] s_ipv6 =
    [
        (IPNetwork.Parse("::/96"), "a deprecated IPv4-compatible address (::/96)"),
        (IPNetwork.Parse("64:ff9b:1::/48"), "a local-use NAT64 address (64:ff9b:1::/48)"),
        (IPNetwork.Parse("100::/64"), "a discard-only address (100::/64)"),
        (IPNetwork.Parse("2001::/32"), "a Teredo tunnel address (2001::/32)"),
        (IPNetwork.Parse("2001:db8::/32"), "a documentation address (2001:db8::/32)"),
        (IPNetwork.Parse("3fff::/20"), "a documentation address (3fff::/20)"),
        // AWS's IPv6 instance metadata service on Nitro instances (the IPv4 one is 169.254.169.254).
        (IPNetwork.Parse("fd00:ec2::254/128"), "AWS's IPv6 instance metadata address (fd00:ec2::254/128, unique-local fc00::/7)"),
        (IPNetwork.Parse("fc00::/7"), "a unique-local address (fc00::/7)"),
        (IPNetwork.Parse("fe80::/10"), "a link-local address (fe80::/10)"),
        (IPNetwork.Parse("fec0::/10"), "a deprecated site-local address (fec0::/10)"),
        (IPNetwork.Parse("ff00::/8"), "a multicast address (ff00::/8)"),
    ];

    public static string? Classify(IPAddress address, bool allowLoopback)
    {
        ArgumentNullException.ThrowIfNull(address);
        return address.AddressFamily switch
        {
            AddressFamily.InterNetwork => ClassifyIpv4(address, allowLoopback),
            AddressFamily.InterNetworkV6 => ClassifyIpv6(address, allowLoopback),
            _ => $"not an IP address ({address.AddressFamily})",
        };
    }

    /// <summary>Loopback in any spelling: 127.0.0.0/8, ::1, or 127.x as an IPv4-mapped IPv6 address.</summary>
    public static bool IsLoopback(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        return address.AddressFamily == AddressFamily.InterNetwork ? s_ipv4Loopback.Contains(address) : s_ipv6Loopback.Contains(address);
    }

    private static string? ClassifyIpv4(IPAddress address, bool allowLoopback)
    {
        if (s_ipv4Loopback.Contains(address))
        {
            return allowLoopback ? null : "a loopback address (127.0.0.0/8)";
        }

        foreach (var (network, description) in s_ipv4)
        {
            if (network.Contains(address))
            {
                return description;
            }
        }

        return null;
    }

    private static string? ClassifyIpv6(IPAddress address, bool allowLoopback)
    {
        // Forms that carry an IPv4 address are judged by it: an IPv4-mapped address is that IPv4 address on this
        // host's dual-stack sockets; NAT64 and 6to4 gateways forward to it. Loopback is never allowed through a
        // gateway (RFC 6052 §3.1 forbids non-global IPv4 behind the NAT64 well-known prefix).
        // Mapped addresses are unwrapped first, by IsIPv4MappedToIPv6 and never through an IPv6 IPNetwork: the
        // .NET 10 runtime's IPNetwork.Contains takes its IPv4 path for a mapped address even against an IPv6
        // network (dotnet/runtime#131861), so ::ffff:10.0.0.1 is not "in" ::ffff:0:0/96 and ::ffff:0:0 is "in" ::/128.
        var bytes = address.GetAddressBytes();
        if (address.IsIPv4MappedToIPv6)
        {
            return Embedded("an IPv4-mapped address (::ffff:0:0/96)", new IPAddress(bytes.AsSpan(12, 4)), allowLoopback);
        }

        if (s_ipv6Loopback.Contains(address))
        {
            return allowLoopback ? null : "the loopback address (::1/128)";
        }

        if (s_ipv6Unspecified.Contains(address))
        {
            return "the unspecified address (::/128)";
        }

        if (s_nat64.Contains(address))
        {
            return Embedded("a NAT64 address (64:ff9b::/96)", new IPAddress(bytes.AsSpan(12, 4)), allowLoopback: false);
        }

        if (s_sixToFour.Contains(address))
        {
            return Embedded("a 6to4 address (2002::/16)", new IPAddress(bytes.AsSpan(2, 4)), allowLoopback: false);
        }

        foreach (var (network, description) in s_ipv6)
        {
            if (network.Contains(address))
            {
                return description;
            }
        }

        return s_globalUnicast.Contains(address) ? null : "a reserved address (outside the global unicast range 2000::/3)";
    }

    private static string? Embedded(string form, IPAddress ipv4, bool allowLoopback) =>
        ClassifyIpv4(ipv4, allowLoopback) is { } why ? $"{form} for {ipv4}, {why}" : null;
}
