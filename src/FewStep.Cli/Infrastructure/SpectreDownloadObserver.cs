using System.Globalization;
using FewStep.Cli.Hub;
using Spectre.Console;

namespace FewStep.Cli.Infrastructure;

/// <summary>One Spectre.Console progress bar per downloaded file and one for the whole pull, each with bytes, rate and time left; retries are noted on the file's bar.</summary>
internal sealed class SpectreDownloadObserver(ProgressContext context) : IDownloadObserver
{
    private readonly Dictionary<string, ProgressTask> _tasks = new(StringComparer.Ordinal);
    private ProgressTask? _total;
    private string? _current;

    public int Skipped { get; private set; }

    public void OnPlanned(long bytes)
    {
        if (bytes <= 0)
        {
            return;
        }

        _total ??= context.AddTask("[bold]total[/]", maxValue: 0);
        _total.MaxValue += bytes;
    }

    public void OnFileStarted(string path, long? size, long resumedFrom)
    {
        var label = resumedFrom > 0 ? $"{path} (resumed)" : path;
        var task = context.AddTask(Markup.Escape(label), maxValue: Math.Max(1, size ?? 1));
        task.IsIndeterminate = size is null;
        task.Value = resumedFrom;
        _tasks[path] = task;
        _current = path;
    }

    public void OnFileProgress(string path, long bytes)
    {
        if (_tasks.TryGetValue(path, out var task))
        {
            task.Increment(bytes);
        }

        _total?.Increment(bytes);
    }

    public void OnRetry(int attempt, TimeSpan delay, string reason)
    {
        if (_current is not null && _tasks.TryGetValue(_current, out var task))
        {
            task.Description = Markup.Escape(string.Create(CultureInfo.InvariantCulture, $"{_current} (retry {attempt} in {delay.TotalSeconds:0.#} s: {reason})"));
        }
    }

    public void OnFileCompleted(string path, bool skipped)
    {
        if (skipped)
        {
            Skipped++;
            return;
        }

        if (_tasks.TryGetValue(path, out var task))
        {
            task.Description = Markup.Escape(path);
            task.IsIndeterminate = false;
            task.Value = task.MaxValue;
            task.StopTask();
        }
    }
}
