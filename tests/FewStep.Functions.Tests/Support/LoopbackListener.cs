using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace FewStep.Functions.Tests.Support;

/// <summary>An HTTP endpoint on 127.0.0.1 that records POSTed bodies and answers with a fixed status.</summary>
internal sealed class LoopbackListener : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly HttpStatusCode _status;
    private readonly Task _loop;

    public LoopbackListener(HttpStatusCode status = HttpStatusCode.OK)
    {
        _status = status;
        var port = FreePort();
        Url = $"http://127.0.0.1:{port}/hook/";
        _listener.Prefixes.Add(Url);
        _listener.Start();
        _loop = Task.Run(LoopAsync);
    }

    public string Url { get; }

    public ConcurrentQueue<string> Received { get; } = new();

    public IReadOnlyList<string> Bodies => Received.ToArray();

    public void Dispose()
    {
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

            using (var reader = new StreamReader(context.Request.InputStream))
            {
                Received.Enqueue(await reader.ReadToEndAsync());
            }

            context.Response.StatusCode = (int)_status;
            context.Response.Close();
        }
    }
}
