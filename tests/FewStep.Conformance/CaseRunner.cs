using System.Diagnostics;
using System.Globalization;
using FewStep.Diffusion.Configuration;
using FewStep.Diffusion.Noise;
using FewStep.Onnx.Pipelines;
using FewStep.Onnx.Sessions;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace FewStep.Conformance;

/// <summary>
/// Runs cases through the real pipelines — with the recorded noise injected, or, for a seeded case, with the noise
/// drawn from torch CPU generators and every draw checked against diffusers' hash — and compares every
/// intermediate the case recorded with what the pipeline produced. Pipelines are loaded once per model and reused.
/// </summary>
internal sealed class CaseRunner : IDisposable
{
    // Inputs the case gives us (replayed as noise) or component outputs the pipeline does not expose; the
    // pipeline's use of them is checked through prompt_embeds / add_text_embeds and the latents.
    private static readonly string[] s_notCompared = ["latents_input", "noise_step", "te_", "te2_"];

    private readonly string _modelsFolder;
    private readonly PipelineCache _pipelines;

    public CaseRunner(string modelsFolder, OnnxSessionFactory sessions)
    {
        _modelsFolder = modelsFolder;
        _pipelines = new PipelineCache(sessions, maxLoraVariantsPerModel: 2);
    }

    /// <param name="kernelOverride">Draw a seeded case's noise with this kernel instead of the case's (to show the hashes catch it).</param>
    public CaseResult Run(ConformanceCase testCase, TorchNormalKernel? kernelOverride = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(testCase);
        var start = Stopwatch.GetTimestamp();
        var failures = new List<string>();
        var maxAbsDiff = 0.0;
        var compared = 0;
        var arrayDiffs = new List<KeyValuePair<string, double>>();
        var drawsChecked = 0;
        try
        {
            using var lease = _pipelines.Acquire(Path.Combine(_modelsFolder, testCase.Model), testCase.Loras);
            var pipeline = lease.Pipeline;
            var observer = new RecordingObserver();
            var made = new List<(ExpectedDraw Draw, string Sha256, double Sum)>();
            INoiseSource noise = testCase.Seeds is { } seeds
                ? new TorchNoiseSource(seeds, kernelOverride ?? testCase.Kernel) { OnDraw = (draw, image, values) => made.Add((Identify(draw, image), Hash(values), Sum(values))) }
                : new RecordedNoiseSource(testCase.Directory);
            var result = pipeline.Generate(testCase.Request, noise, observer, cancellationToken);
            if (testCase.Seeds is not null)
            {
                CompareDraws(testCase, made, failures);
                drawsChecked = made.Count;
            }

            AddFinalLatents(observer, pipeline.Family);
            CompareTimesteps(testCase, observer, failures);
            foreach (var name in testCase.ArrayNames)
            {
                if (CompareArray(testCase, name, pipeline.Family, observer, failures) is { } diff)
                {
                    maxAbsDiff = Math.Max(maxAbsDiff, diff);
                    compared++;
                    arrayDiffs.Add(new(Path.GetFileNameWithoutExtension(name), diff));
                }
            }

            ComparePngs(testCase, result, failures);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            failures.Add($"{e.GetType().Name}: {e.Message}");
        }

        return new CaseResult(testCase.Name, failures.Count == 0, maxAbsDiff, compared, failures, Stopwatch.GetElapsedTime(start))
        {
            ArrayDiffs = arrayDiffs,
            NoiseDrawsChecked = drawsChecked,
        };
    }

    public void Dispose() => _pipelines.Dispose();

    // A seeded case's noise is exact: each draw's sha256 must match. Unused draws (EulerDiscrete's) may be skipped.
    private static void CompareDraws(ConformanceCase testCase, List<(ExpectedDraw Draw, string Sha256, double Sum)> made, List<string> failures)
    {
        foreach (var (draw, sha256, sum) in made)
        {
            var expected = testCase.NoiseDraws.FirstOrDefault(e => e.Phase == draw.Phase && e.Step == draw.Step && e.Image == draw.Image);
            if (expected is null)
            {
                failures.Add($"noise: the pipeline drew the {draw}, which diffusers did not draw");
            }
            else if (expected.Sha256 != sha256)
            {
                failures.Add(string.Create(CultureInfo.InvariantCulture, $"noise: the {draw} differs from torch's (sum {sum:R}, expected {expected.Sum:R}; sha256 {sha256[..12]}..., expected {expected.Sha256[..12]}...)"));
            }
        }

        foreach (var missing in testCase.NoiseDraws.Where(e => e.Used && !made.Any(m => m.Draw.Phase == e.Phase && m.Draw.Step == e.Step && m.Draw.Image == e.Image)))
        {
            failures.Add($"noise: the pipeline never drew the {missing}, which diffusers drew and used");
        }
    }

    private static ExpectedDraw Identify(NoiseDraw draw, int image) =>
        new(draw.IsInitialLatents ? ExpectedDraw.InitialLatents : ExpectedDraw.SchedulerStep, draw.IsInitialLatents ? null : draw.StepIndex, image, true, 0, string.Empty);

    private static string Hash(ReadOnlySpan<float> values) =>
        Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values)));

    private static double Sum(ReadOnlySpan<float> values)
    {
        var sum = 0.0;
        foreach (var value in values)
        {
            sum += value;
        }

        return sum;
    }

    // latents_final is the last prev_sample, except for LCM, which decodes (and records) the last denoised.
    private static void AddFinalLatents(RecordingObserver observer, PipelineFamily family)
    {
        var last = observer.Timesteps.Count - 1;
        var source = family == PipelineFamily.LatentConsistency ? $"denoised_step{last}" : $"latents_after_step{last}";
        if (observer.Arrays.TryGetValue(source, out var values))
        {
            observer.Arrays["latents_final"] = values;
        }
    }

    private static void CompareTimesteps(ConformanceCase testCase, RecordingObserver observer, List<string> failures)
    {
        if (testCase.Timesteps is { } expected && !expected.SequenceEqual(observer.Timesteps))
        {
            failures.Add($"timesteps: expected [{string.Join(", ", expected)}], got [{string.Join(", ", observer.Timesteps)}]");
        }
    }

    /// <summary>The largest absolute difference, or null when the array is not one the pipeline is compared on.</summary>
    private static double? CompareArray(ConformanceCase testCase, string fileName, PipelineFamily family, RecordingObserver observer, List<string> failures)
    {
        var name = Path.GetFileNameWithoutExtension(fileName);
        if (s_notCompared.Any(prefix => name.StartsWith(prefix, StringComparison.Ordinal)))
        {
            return null;
        }

        if (!observer.Arrays.TryGetValue(name, out var actual))
        {
            failures.Add($"{name}: the pipeline produced no such tensor");
            return 0;
        }

        var expected = NpyArray.Read(Path.Combine(testCase.Directory, fileName));
        if (expected.Values.Length != actual.Length)
        {
            failures.Add($"{name}: expected {expected.Values.Length} values (shape [{string.Join(", ", expected.Shape)}]), got {actual.Length}");
            return 0;
        }

        var tolerance = Tolerance.For(family, name, expected.IsInteger);
        var maxDiff = 0.0;
        var worst = -1;
        var mismatches = 0;
        for (var i = 0; i < actual.Length; i++)
        {
            var diff = Math.Abs(actual[i] - expected.Values[i]);
            if (double.IsNaN(diff))
            {
                diff = double.PositiveInfinity;
            }

            if (diff > maxDiff)
            {
                maxDiff = diff;
            }

            if (!tolerance.Accepts(actual[i], expected.Values[i]))
            {
                mismatches++;
                if (worst < 0 || diff > Math.Abs(actual[worst] - expected.Values[worst]))
                {
                    worst = i;
                }
            }
        }

        if (mismatches > 0)
        {
            failures.Add(string.Create(CultureInfo.InvariantCulture,
                $"{name}: {mismatches} of {actual.Length} values outside atol {tolerance.Atol} + rtol {tolerance.Rtol}; worst at {worst}: expected {expected.Values[worst]}, got {actual[worst]} (max_abs_diff {maxDiff:g4})"));
        }

        return maxDiff;
    }

    // PNGs are round(image · 255); they may differ by 1 in rare pixels at rounding boundaries.
    private static void ComparePngs(ConformanceCase testCase, GenerationResult result, List<string> failures)
    {
        for (var k = 0; k < testCase.Pngs.Count; k++)
        {
            if (k >= result.Images.Count)
            {
                failures.Add($"{testCase.Pngs[k]}: the pipeline made only {result.Images.Count} images");
                continue;
            }

            using var png = Image.Load<Rgb24>(Path.Combine(testCase.Directory, testCase.Pngs[k]));
            var ours = result.Images[k];
            if (png.Width != ours.Width || png.Height != ours.Height)
            {
                failures.Add($"{testCase.Pngs[k]}: expected {png.Width}x{png.Height}, got {ours.Width}x{ours.Height}");
                continue;
            }

            var expected = new byte[ours.Rgb.Length];
            png.CopyPixelDataTo(expected);
            var offByOne = 0;
            var worse = 0;
            for (var i = 0; i < expected.Length; i++)
            {
                var diff = Math.Abs(expected[i] - ours.Rgb[i]);
                offByOne += diff == 1 ? 1 : 0;
                worse += diff > 1 ? 1 : 0;
            }

            if (worse > 0 || offByOne > expected.Length / 100)
            {
                failures.Add($"{testCase.Pngs[k]}: {worse} values differ by more than 1, {offByOne} by 1 (of {expected.Length})");
            }
        }
    }
}
