namespace FewStep.RealSize;

/// <summary>
/// An exclusive lock on an output folder, so that two test processes or a test and a benchmark filling the same
/// folder at once do not interleave their writes: the second waits, then finds the first one's stamp and reuses it.
/// .NET takes an advisory lock (flock on Unix) for FileShare.None, which is released when the process dies.
/// </summary>
internal sealed class FillLock : IDisposable
{
    private const string FileName = ".fewstep-fill.lock";
    private static readonly TimeSpan s_poll = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan s_limit = TimeSpan.FromMinutes(30);

    private readonly FileStream _stream;

    private FillLock(FileStream stream) => _stream = stream;

    public static FillLock Acquire(string folder, IProgress<string>? progress, CancellationToken cancellationToken)
    {
        var path = Path.Combine(folder, FileName);
        var waited = TimeSpan.Zero;
        while (true)
        {
            try
            {
                return new FillLock(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
            }
            catch (IOException) when (waited < s_limit)
            {
                if (waited == TimeSpan.Zero)
                {
                    progress?.Report($"waiting for another fill of {folder} to finish");
                }

                cancellationToken.WaitHandle.WaitOne(s_poll);
                cancellationToken.ThrowIfCancellationRequested();
                waited += s_poll;
            }
        }
    }

    public void Dispose() => _stream.Dispose();
}
