namespace FewStep.Diffusion.Schedulers;

/// <summary>Creates the scheduler a <c>scheduler_config.json</c> names in <c>_class_name</c>.</summary>
public static class SchedulerFactory
{
    /// <summary>The supported <c>_class_name</c> values.</summary>
    public static IReadOnlyList<string> SupportedClasses { get; } =
        ["EulerDiscreteScheduler", "EulerAncestralDiscreteScheduler", "LCMScheduler"];

    /// <summary>A new scheduler for <paramref name="config"/> (one per generation).</summary>
    /// <exception cref="DiffusionException">The class is missing or not supported, or the config has a value the
    /// class does not support.</exception>
    public static IScheduler Create(SchedulerConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return config.ClassName switch
        {
            "EulerDiscreteScheduler" => new EulerDiscreteScheduler(config),
            "EulerAncestralDiscreteScheduler" => new EulerAncestralDiscreteScheduler(config),
            "LCMScheduler" => new LcmScheduler(config),
            _ => throw new DiffusionException(
                $"Scheduler config '{config.Source}': _class_name '{config.ClassName ?? "(missing)"}' is not a supported " +
                $"scheduler; supported: {string.Join(", ", SupportedClasses)}."),
        };
    }
}
