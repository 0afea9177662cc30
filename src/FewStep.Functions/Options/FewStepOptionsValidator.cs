using FewStep.Onnx.Sessions;
using Microsoft.Extensions.Options;

namespace FewStep.Functions.Options;

/// <summary>Runs <see cref="FewStepOptions.Validate"/> at start-up so a misconfigured app fails fast, naming the setting.</summary>
internal sealed class FewStepOptionsValidator : IValidateOptions<FewStepOptions>, IValidateOptions<OnnxExecutionOptions>
{
    public ValidateOptionsResult Validate(string? name, FewStepOptions options) => Result(options.Validate());

    public ValidateOptionsResult Validate(string? name, OnnxExecutionOptions options) => Result(options.Validate());

    private static ValidateOptionsResult Result(IReadOnlyList<string> errors) =>
        errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
}
