using System.Net;
using FewStep.Functions.Webhooks;

namespace FewStep.Functions.Tests.Webhooks;

/// <summary><see cref="WebhookAddressPolicy.Classify"/>: every non-public range is refused and named; public unicast passes.</summary>
public sealed class WebhookAddressClassifyTests
{
    public static TheoryData<string, string> RefusedAddresses() => new()
    {
        // IPv4 special-purpose ranges, each with the range the reason must name.
        { "0.0.0.0", "0.0.0.0/8" },
        { "0.1.2.3", "0.0.0.0/8" },
        { "10.0.0.1", "10.0.0.0/8" },
        { "10.255.255.255", "10.0.0.0/8" },
        { "100.64.0.1", "100.64.0.0/10" },
        { "100.127.255.254", "100.64.0.0/10" },
        { "100.100.100.200", "Alibaba" },
        { "127.0.0.1", "127.0.0.0/8" },
        { "127.255.0.9", "127.0.0.0/8" },
        { "169.254.0.1", "169.254.0.0/16" },
        { "169.254.169.254", "metadata" },
        { "169.254.169.254", "169.254.0.0/16" },
        { "168.63.129.16", "168.63.129.16/32" },
        { "168.63.129.16", "wireserver" },
        { "172.16.0.1", "172.16.0.0/12" },
        { "172.31.255.255", "172.16.0.0/12" },
        { "192.0.0.1", "192.0.0.0/24" },
        { "192.0.0.192", "Oracle" },
        { "192.0.2.1", "192.0.2.0/24" },
        { "192.88.99.1", "192.88.99.0/24" },
        { "192.168.1.1", "192.168.0.0/16" },
        { "198.18.0.1", "198.18.0.0/15" },
        { "198.19.255.255", "198.18.0.0/15" },
        { "198.51.100.7", "198.51.100.0/24" },
        { "203.0.113.9", "203.0.113.0/24" },
        { "224.0.0.1", "224.0.0.0/4" },
        { "239.255.255.250", "224.0.0.0/4" },
        { "240.0.0.1", "240.0.0.0/4" },
        { "255.255.255.254", "240.0.0.0/4" },
        { "255.255.255.255", "255.255.255.255/32" },

        // IPv6.
        { "::", "::/128" },
        { "::1", "::1/128" },
        { "::10.0.0.1", "::/96" },
        { "100::1", "100::/64" },
        { "2001:db8::1", "2001:db8::/32" },
        { "3fff::1", "3fff::/20" },
        { "2001:0:4136:e378:8000:63bf:3fff:fdd2", "2001::/32" },
        { "fc00::1", "fc00::/7" },
        { "fd00::1", "fc00::/7" },
        { "fd00:ec2::254", "AWS" },
        { "fd12:3456:789a::1", "fc00::/7" },
        { "fe80::1", "fe80::/10" },
        { "fe80::1%2", "fe80::/10" },
        { "febf:ffff::1", "fe80::/10" },
        { "fec0::1", "fec0::/10" },
        { "ff02::1", "ff00::/8" },
        { "ff05::2", "ff00::/8" },
        { "4000::1", "2000::/3" },
        { "64:ff9b:1::a00:1", "64:ff9b:1::/48" },

        // IPv4 inside IPv6: judged by the IPv4 address, and the form is named.
        { "::ffff:10.0.0.1", "::ffff:0:0/96" },
        { "::ffff:10.0.0.1", "10.0.0.0/8" },
        { "::ffff:169.254.169.254", "169.254.0.0/16" },
        { "::ffff:127.0.0.1", "127.0.0.0/8" },
        { "::ffff:0.0.0.0", "0.0.0.0/8" },
        { "64:ff9b::10.0.0.1", "64:ff9b::/96" },
        { "64:ff9b::169.254.169.254", "169.254.0.0/16" },
        { "64:ff9b::192.168.0.1", "192.168.0.0/16" },
        { "2002:0a00:0001::1", "2002::/16" },
        { "2002:0a00:0001::1", "10.0.0.0/8" },
        { "2002:a9fe:a9fe::", "169.254.0.0/16" },
        { "2002:c0a8:0101:1::1", "192.168.0.0/16" },
    };

    [Theory]
    [MemberData(nameof(RefusedAddresses))]
    public void Non_public_addresses_are_refused_with_their_range(string address, string named)
    {
        var why = WebhookAddressPolicy.Classify(IPAddress.Parse(address), allowLoopback: false);

        Assert.NotNull(why);
        Assert.Contains(named, why, StringComparison.Ordinal);
    }

    public static TheoryData<string> PublicAddresses() => new()
    {
        "8.8.8.8",
        "1.1.1.1",
        "9.9.9.9",
        "93.184.215.14",
        "100.63.255.255",
        "100.128.0.1",
        "169.253.255.255",
        "172.15.255.255",
        "172.32.0.1",
        "192.0.1.1",
        "192.169.0.1",
        "198.17.255.255",
        "198.20.0.1",
        "223.255.255.255",
        "168.63.129.17",
        "2606:4700:4700::1111",
        "2001:4860:4860::8888",
        "2a00:1450:4001:82b::200e",
        "::ffff:8.8.8.8",
        "64:ff9b::8.8.8.8",
        "2002:0808:0808::1",
    };

    [Theory]
    [MemberData(nameof(PublicAddresses))]
    public void Public_unicast_addresses_are_allowed(string address)
    {
        Assert.Null(WebhookAddressPolicy.Classify(IPAddress.Parse(address), allowLoopback: false));
        Assert.Null(WebhookAddressPolicy.Classify(IPAddress.Parse(address), allowLoopback: true));
    }

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("127.1.2.3")]
    [InlineData("::1")]
    [InlineData("::ffff:127.0.0.1")]
    public void Loopback_is_allowed_only_with_allowLoopback(string address)
    {
        var ip = IPAddress.Parse(address);

        Assert.Contains("loopback", WebhookAddressPolicy.Classify(ip, allowLoopback: false), StringComparison.Ordinal);
        Assert.Null(WebhookAddressPolicy.Classify(ip, allowLoopback: true));
    }

    [Theory]
    [InlineData("64:ff9b::127.0.0.1")]
    [InlineData("2002:7f00:0001::1")]
    public void Loopback_behind_a_NAT64_or_6to4_gateway_is_refused_even_with_allowLoopback(string address)
    {
        Assert.Contains("127.0.0.0/8", WebhookAddressPolicy.Classify(IPAddress.Parse(address), allowLoopback: true), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("10.0.0.1", "169.254.169.254", "fd00::1", "0.0.0.0", "::")]
    public void Loopback_permission_does_not_open_other_ranges(params string[] addresses)
    {
        foreach (var address in addresses)
        {
            Assert.NotNull(WebhookAddressPolicy.Classify(IPAddress.Parse(address), allowLoopback: true));
        }
    }
}
