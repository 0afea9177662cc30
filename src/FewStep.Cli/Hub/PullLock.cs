namespace FewStep.Cli.Hub;

/// <summary>
/// One pull per folder at a time: <c>.fewstep-pull.lock</c> held open without sharing for the whole pull (the OS
/// releases it if the process dies, so a stale lock never blocks). A second pull into the folder fails at once,
/// naming the lock, instead of writing the same part files.
/// </summary>
public sealed class PullLock : IDisposable
{
    public const string FileName = ".fewstep-pull.lock";

    private readonly FileStream _stream;

    private PullLock(FileStream stream) => _stream = stream;

    public static PullLock Acquire(string folder, string? file = null)
    {
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, file is null ? FileName : "." + file + FileName);
        try
        {
            var stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.DeleteOnClose);
            stream.SetLength(0);
            var pid = System.Text.Encoding.ASCII.GetBytes(Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));
            stream.Write(pid);
            stream.Flush();
            return new PullLock(stream);
        }
        catch (IOException e)
        {
            throw new HubException($"Another pull into {(file is null ? folder : Path.Combine(folder, file))} is running (it holds {path}); wait for it to finish, then run this one again.", e);
        }
    }

    public void Dispose() => _stream.Dispose();
}
