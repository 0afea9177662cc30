namespace FewStep.Conformance;

/// <summary>One noise draw of a seeded case: which (initial latents or a scheduler step), for which image, and its hash.</summary>
/// <param name="Used">Whether the scheduler used it (EulerDiscrete draws and ignores its noise; a runtime may skip those draws).</param>
internal sealed record ExpectedDraw(string Phase, int? Step, int Image, bool Used, double Sum, string Sha256)
{
    public const string InitialLatents = "initial_latents";
    public const string SchedulerStep = "scheduler_step";

    public override string ToString() => Phase == InitialLatents ? $"initial latents of image {Image}" : $"step {Step} noise of image {Image}";
}
