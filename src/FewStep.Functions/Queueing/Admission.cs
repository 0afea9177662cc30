namespace FewStep.Functions.Queueing;

/// <summary>Whether a request was admitted, and the images queued (with it, when admitted).</summary>
public sealed record Admission(bool Admitted, long Queued);
