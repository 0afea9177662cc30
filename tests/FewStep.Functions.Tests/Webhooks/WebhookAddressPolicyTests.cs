using System.Net;
using System.Net.Sockets;
using FewStep.Functions.Webhooks;

namespace FewStep.Functions.Tests.Webhooks;

/// <summary><see cref="WebhookAddressPolicy.CheckAsync"/>: the URL, then every address its host resolves to.</summary>
public sealed class WebhookAddressPolicyTests
{
    [Fact]
    public async Task A_name_that_resolves_to_public_addresses_is_allowed_with_them()
    {
        var resolver = FakeHostAddressResolver.Answering("93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c");
        var policy = new WebhookAddressPolicy(resolver, allowLoopback: false);

        var check = await policy.CheckAsync(new Uri("https://hooks.example.com/x"), CancellationToken.None);

        Assert.True(check.Allowed);
        Assert.Null(check.Reason);
        Assert.Equal([IPAddress.Parse("93.184.215.14"), IPAddress.Parse("2606:2800:21f:cb07:6820:80da:af6b:8b2c")], check.Addresses);
        Assert.Equal("hooks.example.com", Assert.Single(resolver.Questions));
    }

    [Fact]
    public async Task A_name_with_one_public_and_one_private_record_is_refused()
    {
        var policy = new WebhookAddressPolicy(FakeHostAddressResolver.Answering("8.8.8.8", "10.0.0.1"), allowLoopback: false);

        var check = await policy.CheckAsync(new Uri("https://rebind.example.com/x"), CancellationToken.None);

        Assert.False(check.Allowed);
        Assert.Equal("resolves to 10.0.0.1, a private address (10.0.0.0/8); webhooks must reach a public address.", check.Reason);
        Assert.Empty(check.Addresses);
    }

    [Theory]
    [InlineData("169.254.169.254", "169.254.0.0/16")]
    [InlineData("127.0.0.1", "127.0.0.0/8")]
    [InlineData("fd00:ec2::254", "fc00::/7")]
    [InlineData("::ffff:192.168.0.1", "192.168.0.0/16")]
    [InlineData("168.63.129.16", "wireserver")]
    public async Task A_name_that_resolves_to_a_refused_address_is_refused_with_the_address(string address, string named)
    {
        var policy = new WebhookAddressPolicy(FakeHostAddressResolver.Answering(address), allowLoopback: false);

        var check = await policy.CheckAsync(new Uri("https://innocent.example.com/x"), CancellationToken.None);

        Assert.False(check.Allowed);
        Assert.StartsWith($"resolves to {IPAddress.Parse(address)}, ", check.Reason, StringComparison.Ordinal);
        Assert.Contains(named, check.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_name_that_resolves_to_nothing_is_refused()
    {
        var policy = new WebhookAddressPolicy(FakeHostAddressResolver.Answering(), allowLoopback: false);

        var check = await policy.CheckAsync(new Uri("https://empty.example.com/x"), CancellationToken.None);

        Assert.False(check.Allowed);
        Assert.Equal("resolves to no address; webhooks must reach a public address.", check.Reason);
    }

    [Fact]
    public async Task A_name_that_cannot_be_resolved_is_a_refusal_not_an_exception()
    {
        var resolver = new FakeHostAddressResolver((_, _) => throw new SocketException((int)SocketError.HostNotFound));
        var policy = new WebhookAddressPolicy(resolver, allowLoopback: false);

        var check = await policy.CheckAsync(new Uri("https://nowhere.example.com/x"), CancellationToken.None);

        Assert.False(check.Allowed);
        Assert.StartsWith("could not be resolved (", check.Reason, StringComparison.Ordinal);
        Assert.EndsWith(").", check.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cancellation_is_not_turned_into_a_refusal()
    {
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        var resolver = new FakeHostAddressResolver((_, _) => throw new OperationCanceledException(cancelled.Token));
        var policy = new WebhookAddressPolicy(resolver, allowLoopback: false);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => policy.CheckAsync(new Uri("https://slow.example.com/x"), cancelled.Token));
    }

    [Theory]
    [InlineData("https://10.0.0.1/x")]
    [InlineData("https://[fd00::1]/x")]
    [InlineData("https://8.8.8.8/x")]
    [InlineData("https://metadata.google.internal/x")]
    [InlineData("http://hooks.example.com/x")]
    [InlineData("https://localhost/x")]
    public async Task Ip_literals_and_refused_names_never_reach_the_resolver(string url)
    {
        var resolver = FakeHostAddressResolver.Answering("8.8.8.8");
        var policy = new WebhookAddressPolicy(resolver, allowLoopback: false);

        await policy.CheckAsync(new Uri(url), CancellationToken.None);

        Assert.Empty(resolver.Questions);
    }

    [Fact]
    public async Task A_public_ip_literal_is_allowed_as_itself()
    {
        var policy = new WebhookAddressPolicy(FakeHostAddressResolver.Answering("10.0.0.1"), allowLoopback: false);

        var check = await policy.CheckAsync(new Uri("https://[2606:4700:4700::1111]/x"), CancellationToken.None);

        Assert.True(check.Allowed);
        Assert.Equal(IPAddress.Parse("2606:4700:4700::1111"), Assert.Single(check.Addresses));
    }

    [Fact]
    public async Task Localhost_names_stand_for_loopback_without_dns_when_loopback_is_allowed()
    {
        var resolver = FakeHostAddressResolver.Answering("8.8.8.8");
        var policy = new WebhookAddressPolicy(resolver, allowLoopback: true);

        var check = await policy.CheckAsync(new Uri("http://hooks.localhost:7071/x"), CancellationToken.None);

        Assert.True(check.Allowed);
        Assert.Equal([IPAddress.Loopback, IPAddress.IPv6Loopback], check.Addresses);
        Assert.Empty(resolver.Questions);
    }

    [Fact]
    public async Task Syntax_refusals_come_before_resolution()
    {
        var policy = new WebhookAddressPolicy(FakeHostAddressResolver.Answering("8.8.8.8"), allowLoopback: false);

        var check = await policy.CheckAsync(new Uri("https://user:pw@hooks.example.com/x"), CancellationToken.None);

        Assert.False(check.Allowed);
        Assert.Equal("must not carry credentials in the URL.", check.Reason);
    }

    [Fact]
    public async Task The_system_resolver_answers_an_ip_literal_as_itself()
    {
        var resolver = new DnsHostAddressResolver();

        Assert.Equal(IPAddress.Parse("10.0.0.1"), Assert.Single(await resolver.ResolveAsync("10.0.0.1", CancellationToken.None)));
        Assert.Equal(IPAddress.Parse("fd00::1"), Assert.Single(await resolver.ResolveAsync("[fd00::1]", CancellationToken.None)));
    }
}
