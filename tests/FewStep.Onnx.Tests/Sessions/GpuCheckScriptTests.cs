using System.Diagnostics;
using FewStep.Tests;

namespace FewStep.Onnx.Tests.Sessions;

/// <summary>
/// tests/gpu/check.sh runs where GPU time is scarce, so its plumbing is checked here: with a stand-in nvidia-smi and
/// stand-ins for the published conformance runner and CLI (--app), it must run every folder and bench it lists and
/// print their rows, the CUDA graphs and the sampled GPU memory included.
/// </summary>
public sealed class GpuCheckScriptTests : IDisposable
{
    private readonly string _temp = Directory.CreateTempSubdirectory("fewstep-gpucheck-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    private static string Script => Path.Combine(RepositoryPaths.Root, "tests", "gpu", "check.sh");

    [Fact]
    public void Without_a_gpu_it_stops_saying_so()
    {
        var (code, output) = Run(withGpu: false);

        Assert.Equal(3, code);
        Assert.Contains("needs a CUDA GPU", output, StringComparison.Ordinal);
    }

    [Fact]
    public void With_a_gpu_it_prints_a_row_for_every_conformance_folder_and_bench()
    {
        var (code, output) = Run(withGpu: true);

        Assert.True(code == 0, output);
        foreach (var folder in Directory.EnumerateDirectories(ConformancePaths.Root, "cases*").Select(Path.GetFileName))
        {
            Assert.Contains($"conformance {folder}", output, StringComparison.Ordinal);
        }

        Assert.Contains("bench tiny-sd-turbo-512 ", output, StringComparison.Ordinal);
        Assert.Contains("Cuda b1 12.5 ms (80.0 img/s, overhead 1.010); peak 900 MB host, 2048 MiB GPU", output, StringComparison.Ordinal);
        Assert.Contains("bench tiny-pixart-lcm-512-cuda-graph", output, StringComparison.Ordinal);
        Assert.Contains("; 2 CUDA graph(s)", output, StringComparison.Ordinal);
        // Every bench ran with the CPU fallback off, so that no figure is a CPU one.
        Assert.All(File.ReadAllLines(Path.Combine(_temp, "cli.log")), line => Assert.Contains("fallback=false", line, StringComparison.Ordinal));
        Assert.Equal(8, File.ReadAllLines(Path.Combine(_temp, "cli.log")).Length);
    }

    private (int Code, string Output) Run(bool withGpu)
    {
        var bin = Directory.CreateDirectory(Path.Combine(_temp, "bin")).FullName;
        Executable(Path.Combine(bin, "nvidia-smi"), withGpu
            ? "if [ \"$1\" = -L ]; then echo 'GPU 0: Stand-in H200'; exit 0; fi\nwhile true; do echo 2048; echo 1024; sleep 0.1; done"
            : "exit 9");
        var app = Path.Combine(_temp, "app");
        Executable(Path.Combine(app, "conformance", "FewStep.Conformance"), "echo \"$(basename \"$1\"): 12 cases passed\"");
        Executable(Path.Combine(app, "cli", "fewstep"), $$"""
            echo "$* fallback=$Onnx__FallBackToCpu" >> '{{_temp}}/cli.log'
            graphs=""
            if [ "$Onnx__EnableCudaGraph" = true ]; then graphs=', "cuda_graphs": 2'; fi
            echo "{\"provider\": \"Cuda\", \"peak_working_set_mb\": 900.0$graphs, \"batches\": [{\"batch_size\": 1, \"median_ms\": 12.5, \"images_per_s\": 80.0, \"overhead_ratio\": 1.01}]}"
            """);

        var start = new ProcessStartInfo("bash", [Script, "--app", app, "--shared", ConformancePaths.Root, "--out", Path.Combine(_temp, "out")])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["PATH"] = bin + ":" + Environment.GetEnvironmentVariable("PATH");
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        Assert.True(process.WaitForExit(TimeSpan.FromMinutes(2)), "check.sh did not finish");
        return (process.ExitCode, stdout.Result + stderr.Result);
    }

    private static void Executable(string path, string body)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, "#!/usr/bin/env bash\n" + body + "\n");
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }
}
