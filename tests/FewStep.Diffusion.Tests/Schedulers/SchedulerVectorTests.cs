using System.Globalization;
using System.Text.Json;
using FewStep.Diffusion.Noise;
using FewStep.Diffusion.Schedulers;
using Xunit.Abstractions;

namespace FewStep.Diffusion.Tests.Schedulers;

/// <summary>
/// Every run of every <c>schedulers/*.json</c> vector: set_timesteps, init_noise_sigma, and per step
/// scale_model_input and step, fed the recorded sample, model output and noise.
/// </summary>
public sealed class SchedulerVectorTests(ITestOutputHelper output)
{
    public static TheoryData<string, int> Runs()
    {
        var data = new TheoryData<string, int>();
        foreach (var file in Directory.GetFiles(ConformancePaths.Schedulers, "*.json").Order(StringComparer.Ordinal))
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(file));
            int runs = doc.RootElement.GetProperty("runs").GetArrayLength();
            for (int r = 0; r < runs; r++)
            {
                data.Add(Path.GetFileNameWithoutExtension(file), r);
            }
        }

        return data;
    }

    [Fact]
    public void Corpus_has_every_scheduler_file()
    {
        var names = Runs().Select(row => (string)row[0]).Distinct().ToList();
        Assert.Equal(7, names.Count);
    }

    [Theory]
    [MemberData(nameof(Runs))]
    public void Run_matches_diffusers(string vector, int runIndex)
    {
        string path = Path.Combine(ConformancePaths.Schedulers, vector + ".json");
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        var root = doc.RootElement;
        string className = root.GetProperty("scheduler_class").GetString()!;
        var config = SchedulerConfig.Parse(root.GetProperty("config"), path) with { ClassName = className };
        var scheduler = SchedulerFactory.Create(config);
        Assert.Equal(className, scheduler.ClassName);

        bool pixArt = vector.Contains("pixart", StringComparison.Ordinal);
        var tol = Tolerance.Scheduler;
        var latentTol = pixArt ? Tolerance.PixArtLatents : Tolerance.Scheduler;

        var run = root.GetProperty("runs")[runIndex];
        int n = run.GetProperty("num_inference_steps").GetInt32();
        scheduler.SetTimesteps(n);

        // Timesteps: exact.
        Assert.Equal(Data(run.GetProperty("timesteps")).Select(v => (double)v), scheduler.Timesteps);

        var maxDiffs = new Dictionary<string, double>(StringComparer.Ordinal);
        void Track(string key, double diff) => maxDiffs[key] = Math.Max(maxDiffs.GetValueOrDefault(key), diff);

        if (run.GetProperty("sigmas").ValueKind != JsonValueKind.Null)
        {
            var sigmas = SigmasOf(scheduler) ?? throw new InvalidOperationException("sigmas recorded for a non-Euler scheduler");
            Track("sigmas", tol.AssertClose("sigmas", Data(run.GetProperty("sigmas")), sigmas.ToArray()));
        }

        Track("init_noise_sigma", tol.AssertClose("init_noise_sigma", run.GetProperty("init_noise_sigma").GetDouble(), scheduler.InitNoiseSigma));

        var steps = run.GetProperty("steps");
        Assert.Equal(n, steps.GetArrayLength());
        for (int i = 0; i < n; i++)
        {
            var step = steps[i];
            Assert.Equal(i, step.GetProperty("index").GetInt32());
            Assert.Equal(step.GetProperty("timestep").GetDouble(), scheduler.Timesteps[i]);

            if (step.TryGetProperty("sigma", out var sigma))
            {
                var sigmas = SigmasOf(scheduler)!;
                Track("sigma", tol.AssertClose($"step {i} sigma", sigma.GetDouble(), sigmas[i]));
                Track("sigma", tol.AssertClose($"step {i} sigma_next", step.GetProperty("sigma_next").GetDouble(), sigmas[i + 1]));
            }

            if (scheduler is LcmScheduler lcm)
            {
                var (cSkip, cOut) = lcm.GetScalingsForBoundaryCondition(i);
                Assert.Equal((float)step.GetProperty("c_skip").GetDouble(), cSkip);
                Assert.Equal((float)step.GetProperty("c_out").GetDouble(), cOut);
            }

            float[] sample = Data(step.GetProperty("sample"));
            float[] modelOutput = Data(step.GetProperty("model_output"));

            // scale_model_input
            float factor = scheduler.ScaleModelInputFactor(i);
            Track("scale_model_input_factor", tol.AssertClose($"step {i} scale_model_input_factor", step.GetProperty("scale_model_input_factor").GetDouble(), factor));
            var scaled = sample.Select(x => x * factor).ToArray();
            Track("scaled_model_input", tol.AssertClose($"step {i} scaled_model_input", Data(step.GetProperty("scaled_model_input")), scaled));

            // step, with the recorded noise
            var noise = new RecordedNoiseSource();
            var recordedNoise = step.GetProperty("noise");
            if (recordedNoise.ValueKind != JsonValueKind.Null)
            {
                noise.Add(NoiseDraw.ForStep(i), Data(recordedNoise));
            }

            var prevSample = new float[sample.Length];
            var x0 = new float[sample.Length];
            scheduler.Step(i, modelOutput, sample, noise, prevSample, x0);

            // EulerDiscrete draws in diffusers but ignores the draw (s_churn = 0): FewStep does not draw at all.
            bool noiseUsed = step.GetProperty("noise_used").GetBoolean();
            bool expectDraw = scheduler is EulerDiscreteScheduler ? false : recordedNoise.ValueKind != JsonValueKind.Null;
            Assert.Equal(expectDraw, noiseUsed);
            Assert.Equal(expectDraw ? [NoiseDraw.ForStep(i)] : [], noise.Draws);

            Track("prev_sample", latentTol.AssertClose($"step {i} prev_sample", Data(step.GetProperty("prev_sample")), prevSample));
            string x0Name = step.TryGetProperty("denoised", out _) ? "denoised" : "pred_original_sample";
            Track(x0Name, latentTol.AssertClose($"step {i} {x0Name}", Data(step.GetProperty(x0Name)), x0));

            // In-place use: prevSample may be the sample buffer.
            var inPlace = (float[])sample.Clone();
            var x0InPlace = new float[sample.Length];
            noise.Draws.Clear();
            scheduler.Step(i, modelOutput, inPlace, noise, inPlace, x0InPlace);
            Assert.Equal(prevSample, inPlace);
            Assert.Equal(x0, x0InPlace);
        }

        output.WriteLine(string.Join(", ", maxDiffs.Select(kv => string.Create(CultureInfo.InvariantCulture, $"{kv.Key} {kv.Value:E2}"))));
    }

    private static IReadOnlyList<float>? SigmasOf(IScheduler scheduler) => scheduler switch
    {
        EulerDiscreteScheduler e => e.Sigmas,
        EulerAncestralDiscreteScheduler a => a.Sigmas,
        _ => null,
    };

    private static float[] Data(JsonElement tensor)
    {
        var data = tensor.ValueKind == JsonValueKind.Array ? tensor : tensor.GetProperty("data");
        return data.EnumerateArray().Select(v => (float)v.GetDouble()).ToArray();
    }
}
