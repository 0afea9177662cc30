namespace FewStep.Cli.Hub;

/// <summary>Hears about each file of a model download, for progress bars.</summary>
public interface IDownloadObserver
{
    /// <summary>A file starts (<paramref name="resumedFrom"/> bytes already on disk from an earlier run).</summary>
    void OnFileStarted(string path, long? size, long resumedFrom);

    void OnFileProgress(string path, long bytes);

    /// <summary>More bytes are to be transferred (called once the listing is read, and again once the ONNX files name their external data).</summary>
    void OnPlanned(long bytes);

    /// <summary>A request or transfer failed transiently; attempt <paramref name="attempt"/> follows after <paramref name="delay"/>.</summary>
    void OnRetry(int attempt, TimeSpan delay, string reason);

    /// <summary>The file is in place (verified), or was already there (<paramref name="skipped"/>).</summary>
    void OnFileCompleted(string path, bool skipped);
}
