using Microsoft.DurableTask.Testing;

namespace FewStep.Functions.Tests.Support;

/// <summary>Starting the in-process durable host reliably.</summary>
internal static class DurableTestHost
{
    /// <summary>
    /// Starts a host on a port the OS just reported free; the host's own random pick sometimes lands on a port in
    /// use (Azurite's, or one a previous host is still releasing), so a bind failure is retried on a new port.
    /// </summary>
    public static async Task<DurableTaskTestHost> StartOnFreePortAsync(Action<Microsoft.DurableTask.DurableTaskRegistry> register)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await DurableTaskTestHost.StartAsync(register, new DurableTaskTestHostOptions { Port = FreePort() });
            }
            catch (IOException) when (attempt < 5)
            {
            }
        }
    }

    private static int FreePort()
    {
        using var socket = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        socket.Start();
        return ((System.Net.IPEndPoint)socket.LocalEndpoint).Port;
    }
}
