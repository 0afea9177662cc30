namespace FewStep.Functions.Tests.Playground;

/// <summary>
/// A browser test: it runs where Debian's Chromium is installed (<c>.ci/run</c> installs it: <c>apt-get install
/// chromium</c>) and is skipped, saying so, on a machine without it. <c>FEWSTEP_CHROMIUM</c> names another binary.
/// </summary>
internal sealed class ChromiumFactAttribute : FactAttribute
{
    public ChromiumFactAttribute()
    {
        if (!File.Exists(Executable))
        {
            Skip = $"needs Chromium at {Executable} (apt-get install chromium, as .ci/run does)";
        }
    }

    public static string Executable => Environment.GetEnvironmentVariable("FEWSTEP_CHROMIUM") is { Length: > 0 } path ? path : "/usr/bin/chromium";
}
