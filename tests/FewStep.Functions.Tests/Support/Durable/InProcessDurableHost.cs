using Microsoft.DurableTask.Testing;

namespace FewStep.Functions.Tests.Support.Durable;

/// <summary>
/// Starts Microsoft.DurableTask.InProcessTestHost (in-memory backend, no Azure) with code registered through
/// <see cref="ITaskRegistrar"/>, so the same registration runs here and on <see cref="AzureStorageDurableHost"/>.
/// </summary>
public static class InProcessDurableHost
{
    /// <summary>
    /// Starts the host on a port the OS just reported free, retrying a bind failure on a new port (the host's own
    /// random pick sometimes lands on a port in use; see <see cref="DurableTestHost.StartOnFreePortAsync"/>).
    /// </summary>
    public static Task<DurableTaskTestHost> StartAsync(Action<ITaskRegistrar> register)
    {
        ArgumentNullException.ThrowIfNull(register);
        return DurableTestHost.StartOnFreePortAsync(registry => register(new InProcessRegistrar(registry)));
    }
}
