using System.Net;
using System.Net.Sockets;
using System.Text;
using FewStep.Functions.Webhooks;

namespace FewStep.Functions.Tests.Webhooks;

/// <summary>
/// <see cref="WebhookHttpHandler"/> against a server on 127.0.0.1: the connection goes only to an address the policy
/// passed at connection time. Every name here resolves (through a fake) to loopback or to an address the handler
/// must refuse before connecting, so nothing leaves this machine.
/// </summary>
public sealed class WebhookHttpHandlerTests : IDisposable
{
    private static readonly TimeSpan s_connectTimeout = TimeSpan.FromSeconds(5);

    private readonly LocalServer _server = new(context =>
    {
        if (context.Request.Url!.AbsolutePath == "/redirect")
        {
            context.Response.StatusCode = 302;
            context.Response.RedirectLocation = "http://127.0.0.1:9/elsewhere";
        }
        else
        {
            context.Response.StatusCode = 204;
        }

        return Task.CompletedTask;
    });

    public void Dispose() => _server.Dispose();

    private Uri HookUri(string path = "/x", string scheme = "http") => new($"{scheme}://hooks.example:{_server.BaseUri.Port}{path}");

    /// <summary>
    /// A webhook POST to <paramref name="uri"/>. HttpListener routes by the Host header and answers 404 to a host
    /// its prefix (127.0.0.1) does not name, so the header is set to the server's own authority; which address the
    /// connection went to is still decided by the handler alone (the URI's host is the fake name).
    /// <see cref="A_pinned_connection_still_sends_the_name_as_host"/> shows the header the handler sends by itself.
    /// </summary>
    private async Task<HttpResponseMessage> PostAsync(HttpClient client, Uri uri)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, uri) { Content = Body() };
        request.Headers.Host = _server.BaseUri.Authority;
        return await client.SendAsync(request);
    }

    private static HttpClient Client(IHostAddressResolver resolver, bool allowLoopback) =>
        new(WebhookHttpHandler.Create(new WebhookAddressPolicy(resolver, allowLoopback), s_connectTimeout)) { Timeout = TimeSpan.FromSeconds(30) };

    private static StringContent Body() => new("""{"status":"Completed"}""", Encoding.UTF8, "application/json");

    [Fact]
    public async Task A_post_reaches_the_address_the_name_resolved_to_when_it_passes()
    {
        var resolver = FakeHostAddressResolver.Answering("127.0.0.1");
        using var client = Client(resolver, allowLoopback: true);

        using var response = await PostAsync(client, HookUri());

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        var request = Assert.Single(_server.Requests);
        Assert.Equal(("POST", "/x", """{"status":"Completed"}"""), (request.Method, request.PathAndQuery, request.Body));
        Assert.Equal("hooks.example", Assert.Single(resolver.Questions));
    }

    [Fact]
    public async Task A_refused_address_fails_the_send_before_anything_is_sent()
    {
        using var client = Client(FakeHostAddressResolver.Answering("127.0.0.1"), allowLoopback: false);

        var e = await Assert.ThrowsAsync<HttpRequestException>(() => PostAsync(client, HookUri()));

        var refused = Assert.IsType<WebhookAddressRefusedException>(e.InnerException);
        Assert.Equal("hooks.example", refused.Host);
        Assert.Equal("resolves to 127.0.0.1, a loopback address (127.0.0.0/8); webhooks must reach a public address.", refused.Reason);
        Assert.Equal(
            "The webhook host 'hooks.example' resolves to 127.0.0.1, a loopback address (127.0.0.0/8); webhooks must reach a public address.",
            refused.Message);
        Assert.Equal(HttpRequestError.ConnectionError, e.HttpRequestError);
        Assert.Empty(_server.Requests);
    }

    [Fact]
    public async Task A_name_that_changes_to_a_private_address_after_validation_is_refused_at_connection_time()
    {
        // Validation sees loopback (allowed here); the connection's own lookup sees 10.0.0.5. https, as validation
        // requires for a name; the refusal comes before any TLS, so the plain-http server is never spoken to.
        var resolver = new FakeHostAddressResolver((_, call) => [IPAddress.Parse(call == 0 ? "127.0.0.1" : "10.0.0.5")]);
        var policy = new WebhookAddressPolicy(resolver, allowLoopback: true);
        var uri = HookUri(scheme: "https");
        var check = await policy.CheckAsync(uri, CancellationToken.None);
        Assert.True(check.Allowed, check.Reason);
        Assert.Equal(IPAddress.Loopback, Assert.Single(check.Addresses));
        using var client = new HttpClient(WebhookHttpHandler.Create(policy, s_connectTimeout));

        var e = await Assert.ThrowsAsync<HttpRequestException>(() => PostAsync(client, uri));

        var refused = Assert.IsType<WebhookAddressRefusedException>(e.InnerException);
        Assert.Equal("resolves to 10.0.0.5, a private address (10.0.0.0/8); webhooks must reach a public address.", refused.Reason);
        Assert.Equal(2, resolver.Questions.Count);
        Assert.Empty(_server.Requests);
    }

    [Fact]
    public async Task A_redirect_is_returned_not_followed()
    {
        using var client = Client(FakeHostAddressResolver.Answering("127.0.0.1"), allowLoopback: true);

        using var response = await PostAsync(client, HookUri("/redirect"));

        Assert.Equal(HttpStatusCode.Found, response.StatusCode);
        Assert.Equal(new Uri("http://127.0.0.1:9/elsewhere"), response.Headers.Location);
        Assert.Equal("/redirect", Assert.Single(_server.Requests).PathAndQuery);
    }

    [Fact]
    public async Task The_next_checked_address_is_tried_when_one_does_not_answer()
    {
        // The server listens on 127.0.0.1 only: ::1 on its port refuses (or the host has no IPv6); 127.0.0.1 answers.
        using var client = Client(FakeHostAddressResolver.Answering("::1", "127.0.0.1"), allowLoopback: true);

        using var response = await PostAsync(client, HookUri());

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Single(_server.Requests);
    }

    [Fact]
    public async Task A_metadata_name_is_refused_at_connection_time_without_asking_the_resolver()
    {
        var resolver = FakeHostAddressResolver.Answering("127.0.0.1");
        using var client = Client(resolver, allowLoopback: true);

        var e = await Assert.ThrowsAsync<HttpRequestException>(
            () => client.PostAsync(new Uri($"http://metadata.google.internal:{_server.BaseUri.Port}/computeMetadata/v1/"), Body()));

        Assert.Contains("cloud metadata endpoint", Assert.IsType<WebhookAddressRefusedException>(e.InnerException).Message, StringComparison.Ordinal);
        Assert.Empty(resolver.Questions);
        Assert.Empty(_server.Requests);
    }

    [Fact]
    public async Task A_pinned_connection_still_sends_the_name_as_host()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var head = Task.Run(async () =>
        {
            using var connection = await listener.AcceptTcpClientAsync();
            var stream = connection.GetStream();
            var received = new StringBuilder();
            var buffer = new byte[4096];
            while (!received.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
            {
                var read = await stream.ReadAsync(buffer);
                if (read == 0)
                {
                    break;
                }

                received.Append(Encoding.ASCII.GetString(buffer, 0, read));
            }

            await stream.WriteAsync("HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n"u8.ToArray());
            return received.ToString();
        });
        using var client = Client(FakeHostAddressResolver.Answering("127.0.0.1"), allowLoopback: true);

        using var response = await client.PostAsync(new Uri($"http://hooks.example:{port}/x"), Body());

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        var request = await head;
        Assert.StartsWith("POST /x HTTP/1.1\r\n", request, StringComparison.Ordinal);
        Assert.Contains($"\r\nHost: hooks.example:{port}\r\n", request, StringComparison.Ordinal);
    }

    [Fact]
    public void The_handler_follows_no_redirects_uses_no_proxy_and_keeps_no_cookies()
    {
        using var handler = WebhookHttpHandler.Create(new WebhookAddressPolicy(FakeHostAddressResolver.Answering(), allowLoopback: false), s_connectTimeout);

        Assert.False(handler.AllowAutoRedirect);
        Assert.False(handler.UseProxy);
        Assert.Null(handler.Proxy);
        Assert.False(handler.UseCookies);
        Assert.NotNull(handler.ConnectCallback);
    }
}
