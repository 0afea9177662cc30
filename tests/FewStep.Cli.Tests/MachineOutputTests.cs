using System.Diagnostics;
using System.Text.Json;

namespace FewStep.Cli.Tests;

/// <summary>
/// The real <c>fewstep</c> process, stdout piped as a shell pipe would: with <c>--json</c> stdout holds exactly one
/// JSON document (progress, spinners and notes go to stderr), so <c>fewstep bench --json | jq .</c> works.
/// </summary>
public sealed class MachineOutputTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Bench_json_prints_one_json_document_on_stdout_and_its_notes_on_stderr()
    {
        var (code, stdout, stderr) = await RunAsync("bench", "--model", ConformancePaths.Model("tiny-sd-turbo"), "--steps", "1", "--size", "64x64", "--batch", "1", "--runs", "1", "--warmup", "0", "--json");

        Assert.True(code == 0, stderr);
        using var document = JsonDocument.Parse(stdout);
        Assert.True(document.RootElement.TryGetProperty("peak_working_set_mb", out _), stdout);
        Assert.NotEmpty(stderr.Trim());
    }

    [Fact]
    public async Task Models_list_json_prints_one_json_document_on_stdout()
    {
        var (code, stdout, stderr) = await RunAsync("models", "list", "--json", "--models-dir", _temp.Path);

        Assert.True(code == 0, stderr);
        using var document = JsonDocument.Parse(stdout);
        Assert.Contains(document.RootElement.GetProperty("models").EnumerateArray(), m => m.GetProperty("name").GetString() == "sd-turbo");
    }

    private static async Task<(int Code, string Stdout, string Stderr)> RunAsync(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add("exec");
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "fewstep.dll"));
        foreach (var argument in args)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["HF_ENDPOINT"] = "http://127.0.0.1:9";
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout, await stderr);
    }
}
