using FewStep.Cli.Hub;
using Spectre.Console;

namespace FewStep.Cli.Infrastructure;

/// <summary>One Spectre.Console progress bar per downloaded file, with size and rate.</summary>
internal sealed class SpectreDownloadObserver(ProgressContext context) : IDownloadObserver
{
    private readonly Dictionary<string, ProgressTask> _tasks = new(StringComparer.Ordinal);

    public int Skipped { get; private set; }

    public void OnFileStarted(string path, long? size, long resumedFrom)
    {
        var label = resumedFrom > 0 ? $"{path} (resumed)" : path;
        var task = context.AddTask(Markup.Escape(label), maxValue: Math.Max(1, size ?? 1));
        task.IsIndeterminate = size is null;
        task.Value = resumedFrom;
        _tasks[path] = task;
    }

    public void OnFileProgress(string path, long bytes)
    {
        if (_tasks.TryGetValue(path, out var task))
        {
            task.Increment(bytes);
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
            task.IsIndeterminate = false;
            task.Value = task.MaxValue;
            task.StopTask();
        }
    }
}
