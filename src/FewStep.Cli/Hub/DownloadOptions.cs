namespace FewStep.Cli.Hub;

/// <summary>How hard a pull tries before it gives up, and how it sees the disk.</summary>
public sealed record DownloadOptions
{
    /// <summary>Retries per request or file after the first attempt (<c>--retries</c>, <c>FEWSTEP_PULL_RETRIES</c>).</summary>
    public int Retries { get; init; } = 8;

    /// <summary>The first wait; each next one doubles (with jitter) up to <see cref="MaxRetryDelay"/>.</summary>
    public TimeSpan FirstRetryDelay { get; init; } = TimeSpan.FromSeconds(1);

    public TimeSpan MaxRetryDelay { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>A transfer that yields no byte for this long is a stalled connection: dropped and resumed.</summary>
    public TimeSpan ReadTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>The longest <c>Retry-After</c> honoured; a server asking for more is retried after this.</summary>
    public TimeSpan MaxRetryAfter { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Bytes free where a folder is (null when unknown); the file system's own answer unless a test replaces it.</summary>
    public Func<string, long?> FreeSpace { get; init; } = DiskSpace.Available;
}
