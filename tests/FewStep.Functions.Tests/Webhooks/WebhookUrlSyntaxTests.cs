using FewStep.Functions.Webhooks;

namespace FewStep.Functions.Tests.Webhooks;

/// <summary><see cref="WebhookAddressPolicy.CheckSyntax"/>: what the URL alone decides, before any DNS.</summary>
public sealed class WebhookUrlSyntaxTests
{
    [Theory]
    [InlineData("https://hooks.example.com/fewstep")]
    [InlineData("https://hooks.example.com:8443/fewstep?token=abc")]
    [InlineData("https://8.8.8.8/x")]
    [InlineData("https://[2606:4700:4700::1111]/x")]
    [InlineData("https://münchen.de/hook")]
    [InlineData("https://metadata.example.com/")]
    [InlineData("https://instance-data.example.com/")]
    public void Https_to_a_public_host_is_fine(string url)
    {
        Assert.Null(WebhookAddressPolicy.CheckSyntax(new Uri(url), allowLoopback: false));
        Assert.Null(WebhookAddressPolicy.CheckSyntax(new Uri(url), allowLoopback: true));
    }

    [Theory]
    [InlineData("http://hooks.example.com/x", false)]
    [InlineData("http://hooks.example.com/x", true)]
    [InlineData("http://8.8.8.8/x", true)]
    [InlineData("http://[2606:4700:4700::1111]/x", true)]
    public void Plain_http_to_a_public_host_is_refused(string url, bool allowLoopback)
    {
        var why = WebhookAddressPolicy.CheckSyntax(new Uri(url), allowLoopback);

        Assert.NotNull(why);
        Assert.StartsWith("must use https", why, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://127.0.0.1:7071/hook")]
    [InlineData("http://127.8.9.10/hook")]
    [InlineData("http://[::1]:7071/hook")]
    [InlineData("http://localhost:7071/hook")]
    [InlineData("http://LOCALHOST./hook")]
    [InlineData("http://hooks.localhost/hook")]
    [InlineData("https://localhost/hook")]
    [InlineData("https://127.0.0.1/hook")]
    public void Loopback_is_allowed_over_http_or_https_only_with_allowLoopback(string url)
    {
        var uri = new Uri(url);

        Assert.Null(WebhookAddressPolicy.CheckSyntax(uri, allowLoopback: true));
        var why = WebhookAddressPolicy.CheckSyntax(uri, allowLoopback: false);
        Assert.NotNull(why);
        Assert.True(why.Contains("loopback", StringComparison.Ordinal) || why.StartsWith("must use https", StringComparison.Ordinal), why);
    }

    [Theory]
    [InlineData("https://localhost/hook")]
    [InlineData("https://api.localhost/hook")]
    [InlineData("https://127.0.0.1/hook")]
    [InlineData("https://[::1]/hook")]
    [InlineData("https://0x7f000001/hook")]
    [InlineData("https://2130706433/hook")]
    [InlineData("https://127.1/hook")]
    public void Loopback_hosts_in_any_spelling_are_refused_without_allowLoopback(string url)
    {
        Assert.Contains("loopback", WebhookAddressPolicy.CheckSyntax(new Uri(url), allowLoopback: false), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("https://user:secret@hooks.example.com/x")]
    [InlineData("https://token@hooks.example.com/x")]
    [InlineData("http://user:pw@127.0.0.1/x")]
    public void Credentials_in_the_url_are_refused(string url)
    {
        Assert.Equal("must not carry credentials in the URL.", WebhookAddressPolicy.CheckSyntax(new Uri(url), allowLoopback: true));
    }

    [Theory]
    [InlineData("https://metadata.google.internal/computeMetadata/v1/")]
    [InlineData("https://METADATA.google.internal./computeMetadata/v1/")]
    [InlineData("https://ｍetadata.google.internal/")]
    [InlineData("https://metadata.goog/computeMetadata/v1/")]
    [InlineData("https://metadata/computeMetadata/v1/")]
    [InlineData("https://instance-data/latest/meta-data/")]
    [InlineData("https://metadata.tencentyun.com/latest/meta-data/")]
    [InlineData("https://metadata.platformequinix.com/metadata")]
    [InlineData("https://metadata.packet.net/metadata")]
    public void Cloud_metadata_host_names_are_refused_by_name(string url)
    {
        var why = WebhookAddressPolicy.CheckSyntax(new Uri(url), allowLoopback: true);

        Assert.NotNull(why);
        Assert.Contains("cloud metadata endpoint", why, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("https://instance-data.ec2.internal/latest/meta-data/", ".internal")]
    [InlineData("https://ip-10-0-0-5.eu-west-1.compute.internal/", ".internal")]
    [InlineData("https://host.docker.internal/", ".internal")]
    [InlineData("https://printer.local/", ".local")]
    [InlineData("https://router.home.arpa/", ".home.arpa")]
    public void Private_use_names_are_refused_by_name(string url, string suffix)
    {
        var why = WebhookAddressPolicy.CheckSyntax(new Uri(url), allowLoopback: true);

        Assert.NotNull(why);
        Assert.Contains($"private-use name ({suffix})", why, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("https://10.0.0.1/x", "points to 10.0.0.1, a private address (10.0.0.0/8); webhooks must reach a public address.")]
    [InlineData("https://169.254.169.254/latest/meta-data/", "169.254.0.0/16")]
    [InlineData("https://[fd00::1]/x", "fc00::/7")]
    [InlineData("https://[fd00:ec2::254]/latest/meta-data/", "AWS")]
    [InlineData("https://[::ffff:10.0.0.1]/x", "10.0.0.0/8")]
    [InlineData("https://[fe80::1%25eth0]/x", "fe80::/10")]
    [InlineData("https://168.63.129.16/machine", "wireserver")]
    [InlineData("https://0.0.0.0/x", "0.0.0.0/8")]
    [InlineData("https://012.0.0.1/x", "10.0.0.0/8")]
    public void Ip_literals_are_classified_without_dns(string url, string named)
    {
        var why = WebhookAddressPolicy.CheckSyntax(new Uri(url), allowLoopback: true);

        Assert.NotNull(why);
        Assert.Contains(named, why, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ftp://hooks.example.com/x")]
    [InlineData("file:///etc/passwd")]
    [InlineData("gopher://hooks.example.com/x")]
    [InlineData("ws://hooks.example.com/x")]
    public void Other_schemes_are_refused(string url)
    {
        Assert.StartsWith("must use https", WebhookAddressPolicy.CheckSyntax(new Uri(url), allowLoopback: true), StringComparison.Ordinal);
    }

    [Fact]
    public void A_relative_url_is_refused()
    {
        Assert.Equal("must be an absolute https URL.", WebhookAddressPolicy.CheckSyntax(new Uri("/hook", UriKind.Relative), allowLoopback: true));
    }
}
