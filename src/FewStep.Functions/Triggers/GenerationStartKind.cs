namespace FewStep.Functions.Triggers;

/// <summary>What a request to start a generation came to.</summary>
public enum GenerationStartKind
{
    /// <summary>A new generation was recorded and its orchestration started.</summary>
    Started,

    /// <summary>The <c>Idempotency-Key</c> named an earlier generation of the same request: that one is answered.</summary>
    Replayed,

    /// <summary>The <c>Idempotency-Key</c> named an earlier generation of a different request.</summary>
    KeyConflict,

    /// <summary>The service-wide queue is full.</summary>
    QueueFull,
}
