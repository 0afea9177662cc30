namespace FewStep.Functions.Orchestration;

/// <summary>The <c>status</c> values of a generation or job, as the API, manifests and webhooks spell them.</summary>
public static class RunStatuses
{
    public const string Pending = "pending";
    public const string Running = "running";

    /// <summary>A DELETE was accepted; the batch rendering now stops at its next step and no other starts.</summary>
    public const string Canceling = "canceling";

    public const string Succeeded = "succeeded";

    /// <summary>A job some of whose requests failed (each one's reason is in the manifest).</summary>
    public const string PartiallyFailed = "partially_failed";

    public const string Failed = "failed";
    public const string Canceled = "canceled";

    /// <summary>A malformed job file: nothing was rendered; <c>error.json</c> lists every problem.</summary>
    public const string Rejected = "rejected";

    /// <summary>A job file replaced or deleted before its run read it (the newer upload has its own run).</summary>
    public const string Superseded = "superseded";

    /// <summary>The outcome from counts of requests: all succeeded, all failed, or some of each.</summary>
    public static string FromRequests(int requests, int failed) =>
        failed == 0 ? Succeeded : failed >= requests ? Failed : PartiallyFailed;
}
