using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace FewStep.Tests;

/// <summary>An HTTP server on 127.0.0.1 and a free port, answering with a handler; it logs every request.</summary>
internal sealed class LocalServer : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Func<HttpListenerContext, Task> _handler;
    private readonly Task _loop;

    public LocalServer(Func<HttpListenerContext, Task> handler)
    {
        _handler = handler;
        for (var attempt = 0; ; attempt++)
        {
            var port = FreePort();
            _listener.Prefixes.Clear();
            _listener.Prefixes.Add($"http://127.0.0.1:{port}/");
            try
            {
                _listener.Start();
                BaseUri = new Uri($"http://127.0.0.1:{port}/");
                break;
            }
            catch (HttpListenerException) when (attempt < 5)
            {
            }
        }

        _loop = Task.Run(LoopAsync);
    }

    public Uri BaseUri { get; } = null!;

    public ConcurrentQueue<LoggedRequest> Requests { get; } = new();

    public void Dispose()
    {
        _listener.Stop();
        _listener.Close();
        try
        {
            _loop.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
        }
    }

    private static int FreePort()
    {
        using var socket = new TcpListener(IPAddress.Loopback, 0);
        socket.Start();
        return ((IPEndPoint)socket.LocalEndpoint).Port;
    }

    private async Task LoopAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            _ = Task.Run(async () =>
            {
                var request = context.Request;
                string body;
                using (var reader = new StreamReader(request.InputStream))
                {
                    body = await reader.ReadToEndAsync();
                }

                Requests.Enqueue(new LoggedRequest(request.HttpMethod, request.Url!.PathAndQuery, request.Headers["Range"], request.Headers["Authorization"],
                    request.Headers["x-functions-key"], body));
                try
                {
                    await _handler(context);
                    context.Response.Close();
                }
                catch (Exception e) when (e is HttpListenerException or IOException or ObjectDisposedException or InvalidOperationException)
                {
                }
            });
        }
    }
}

internal sealed record LoggedRequest(string Method, string PathAndQuery, string? Range, string? Authorization, string? FunctionsKey, string Body);
