namespace FewStep.Infra.Tests;

/// <summary>Compiles infra/main.bicep once for the template tests (xunit class fixture).</summary>
public sealed class CompiledTemplate
{
    public CompiledTemplate()
    {
        Build = BicepCli.Run("build", "infra/main.bicep", "--stdout");
        Template = Build.ExitCode == 0 ? new ArmTemplate(Build.StandardOutput) : null;
    }

    internal BicepCli.Result Build { get; }

    internal ArmTemplate? Template { get; }

    internal ArmTemplate Arm => Template ?? throw new InvalidOperationException($"bicep build failed: {Build.Describe()}");
}
