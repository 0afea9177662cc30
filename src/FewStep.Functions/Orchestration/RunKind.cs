using System.Text.Json.Serialization;

namespace FewStep.Functions.Orchestration;

/// <summary>
/// Where a run's requests come from and where its images go. Both kinds run through the same orchestration,
/// render activity and manifest writer; only the source (one request posted, or a job file) and the sink
/// (<c>images/generations/{id}/</c> or <c>results/{name}/</c>) differ.
/// </summary>
[JsonConverter(typeof(JsonStringEnumConverter<RunKind>))]
public enum RunKind
{
    /// <summary>One <c>POST /api/generations</c> request.</summary>
    Generation,

    /// <summary>A job file uploaded to the <c>jobs</c> container.</summary>
    Job,
}
