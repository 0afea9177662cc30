using System.Text.Json;
using FewStep.Diffusion.Schedulers;

namespace FewStep.Diffusion.Tests.Schedulers;

/// <summary>
/// A scheduler replacing a folder's, as diffusers' <c>LCMScheduler.from_config(pipe.scheduler.config)</c>: the class
/// and fields laid over the folder's config, then the overrides.
/// </summary>
public sealed class SchedulerReplacementTests
{
    private static readonly string s_eulerPath = Path.Combine(ConformancePaths.Model("tiny-sd-turbo"), "scheduler", "scheduler_config.json");
    private static readonly string s_euler = File.ReadAllText(s_eulerPath);

    private static Dictionary<string, JsonElement> Fields(string json) =>
        JsonDocument.Parse(json).RootElement.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.Clone(), StringComparer.Ordinal);

    [Fact]
    public void Lcm_from_an_euler_folder_gives_the_lcm_lora_cases_timesteps()
    {
        // ../shared/conformance/cases-lora/sd_turbo_lcm_lora_4step_g1: 999, 759, 499, 259 (LCMScheduler ignores timestep_spacing).
        var config = SchedulerReplacement.Apply(s_euler, s_eulerPath, Fields("""{"_class_name":"LCMScheduler"}"""), null);
        var scheduler = SchedulerFactory.Create(config);
        scheduler.SetTimesteps(4);

        Assert.Equal("LCMScheduler", scheduler.ClassName);
        Assert.Equal([999.0, 759, 499, 259], scheduler.Timesteps.Select(t => (double)t));
        Assert.Equal("trailing", config.TimestepSpacing);
        Assert.Contains("replaced by LCMScheduler", config.Source, StringComparison.Ordinal);
    }

    [Fact]
    public void Overrides_win_over_the_replacement_and_the_replacement_over_the_folder()
    {
        var config = SchedulerReplacement.Apply(s_euler, s_eulerPath,
            Fields("""{"_class_name":"LCMScheduler","original_inference_steps":100,"timestep_scaling":5.0}"""),
            Fields("""{"timestep_scaling":7.0}"""));

        Assert.Equal((100, 7.0), (config.OriginalInferenceSteps, config.TimestepScaling));
    }

    [Fact]
    public void Without_a_replacement_the_folder_class_stays()
    {
        var config = SchedulerReplacement.Apply(s_euler, s_eulerPath, null, Fields("""{"prediction_type":"v_prediction"}"""));

        Assert.Equal(("EulerDiscreteScheduler", "v_prediction"), (config.ClassName, config.PredictionType));
    }

    [Theory]
    [InlineData("""{"timestep_scaling":5.0}""", "_class_name")]
    [InlineData("""{"_class_name":"DDIMScheduler"}""", "_class_name")]
    [InlineData("""{"_class_name":7}""", "_class_name")]
    [InlineData("""{"_class_name":"LCMScheduler","karras":true}""", "karras")]
    [InlineData("""{"_class_name":"LCMScheduler","original_inference_steps":0}""", "original_inference_steps")]
    public void A_bad_replacement_is_an_error_naming_the_field(string json, string field)
    {
        var error = Assert.Throws<DiffusionException>(() =>
            SchedulerFactory.Create(SchedulerReplacement.Apply(s_euler, s_eulerPath, Fields(json), null)));

        Assert.Contains(field, error.Message, StringComparison.Ordinal);
    }
}
