using System.Globalization;
using FewStep.Cli.Infrastructure;
using FewStep.Onnx.Benchmarking;
using Spectre.Console;
using Spectre.Console.Cli;

namespace FewStep.Cli.Commands;

/// <summary><c>fewstep bench</c>: the pipeline benchmark (<see cref="PipelineBenchmark"/>) as a table or one JSON object.</summary>
public sealed class BenchCommand(CliContext cli) : AsyncCommand<BenchSettings>
{
    public override async Task<int> ExecuteAsync(CommandContext context, BenchSettings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var store = ModelStore.Open(settings.ModelsDir, cli.Environment);
        var model = store.Resolve(settings.Model!);
        await ModelPuller.EnsureOnDiskAsync(cli, model, cancellationToken).ConfigureAwait(false);
        var loadStart = System.Diagnostics.Stopwatch.GetTimestamp();
        using var pipeline = await PipelineLoader.LoadAsync(cli, model, DeviceOption.Parse(settings.Device), cancellationToken).ConfigureAwait(false);
        var loadMs = System.Diagnostics.Stopwatch.GetElapsedTime(loadStart).TotalMilliseconds;
        var benchmark = new BenchmarkSettings
        {
            Steps = settings.Steps ?? model.Entry?.Steps ?? 1,
            GuidanceScale = settings.Guidance ?? model.Entry?.GuidanceScale ?? 0f,
            Width = settings.Width ?? model.Entry?.Width,
            Height = settings.Height ?? model.Entry?.Height,
            BatchSizes = settings.BatchSizes,
            Runs = settings.Runs,
            WarmupRuns = settings.Warmup,
        };
        var report = await cli.Console.Status()
            .StartAsync("Benchmarking...", _ => Task.Run(() => PipelineBenchmark.Run(pipeline, benchmark, cancellationToken) with { LoadMs = loadMs }, cancellationToken))
            .ConfigureAwait(false);
        if (settings.Json)
        {
            await cli.Out.WriteLineAsync(report.ToJson()).ConfigureAwait(false);
            return 0;
        }

        Render(report);
        return 0;
    }

    private void Render(BenchmarkReport report)
    {
        var inv = CultureInfo.InvariantCulture;
        cli.Console.MarkupLineInterpolated(
            $"model [bold]{report.Model}[/] ({report.Pipeline}) on {report.Provider}, {report.Steps} step(s), {report.Width}x{report.Height}, peak working set {report.PeakWorkingSetMb.ToString("F0", inv)} MB, {report.WorkingSetAfterMb.ToString("F0", inv)} MB after the runs, loaded in {(report.LoadMs ?? 0).ToString("F0", inv)} ms");
        var summary = new Table().AddColumns("batch", "runs", "median ms", "with PNG ms", "ONNX ms", "images/s", "overhead ratio");
        foreach (var b in report.Batches)
        {
            summary.AddRow(
                b.BatchSize.ToString(inv), b.Runs.ToString(inv), b.MedianMs.ToString("F2", inv), b.MedianWithPngMs.ToString("F2", inv),
                b.MedianOnnxMs.ToString("F2", inv), b.ImagesPerSecond.ToString("F2", inv), b.OverheadRatio.ToString("F3", inv));
        }

        cli.Console.Write(summary);
        var stages = new Table().Title("median ms per stage").AddColumn("stage");
        foreach (var b in report.Batches)
        {
            stages.AddColumn(new TableColumn(string.Create(inv, $"batch {b.BatchSize}")).RightAligned());
        }

        foreach (var stage in report.Batches[0].Stages.Select(s => s.Key))
        {
            stages.AddRow([stage, .. report.Batches.Select(b => b.Stages.FirstOrDefault(s => s.Key == stage).Value.ToString("F3", inv))]);
        }

        cli.Console.Write(stages);
        if (report.Preview is { } preview)
        {
            cli.Console.MarkupLineInterpolated(
                $"live preview ({preview.Method}, {preview.Width}x{preview.Height}): {preview.MedianMs.ToString("F3", inv)} ms, {preview.Share.ToString("P2", inv)} of a {preview.StepMs.ToString("F2", inv)} ms denoising step");
        }
    }
}
