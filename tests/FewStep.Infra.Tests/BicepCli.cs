using System.Diagnostics;

namespace FewStep.Infra.Tests;

/// <summary>Runs the Bicep CLI (self-contained, offline) and captures what it prints.</summary>
internal static class BicepCli
{
    public sealed record Result(int ExitCode, string StandardOutput, string StandardError)
    {
        /// <summary>Compiler and linter diagnostics: lines with " : Error " or " : Warning " (any level fails the checks).</summary>
        public IReadOnlyList<string> Diagnostics =>
            (StandardError + "\n" + (ExitCode == 0 ? string.Empty : StandardOutput))
                .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Where(l => l.Contains(" : Error ", StringComparison.Ordinal) || l.Contains(" : Warning ", StringComparison.Ordinal)
                    || l.Contains(" : Info ", StringComparison.Ordinal))
                .ToList();

        public string Describe() => $"exit code {ExitCode}\nstderr:\n{StandardError}";
    }

    public static Result Run(params string[] arguments)
    {
        var bicep = Repository.BicepPath;
        if (!File.Exists(bicep))
        {
            throw new FileNotFoundException($"The Bicep CLI is missing at '{bicep}': restore tests/FewStep.Infra.Tests (it downloads Azure.Bicep.CommandLine.linux-x64).", bicep);
        }

        EnsureExecutable(bicep);
        var start = new ProcessStartInfo(bicep)
        {
            WorkingDirectory = Repository.Root,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // Offline and quiet: no telemetry, no version check.
        start.Environment["BICEP_TELEMETRY_ENABLED"] = "false";
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start '{bicep}'.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"bicep {string.Join(' ', arguments)} did not finish in 3 minutes.");
        }

        return new Result(process.ExitCode, stdout.GetAwaiter().GetResult(), stderr.GetAwaiter().GetResult());
    }

    private static void EnsureExecutable(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        var mode = File.GetUnixFileMode(path);
        if (!mode.HasFlag(UnixFileMode.UserExecute))
        {
            File.SetUnixFileMode(path, mode | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        }
    }
}
