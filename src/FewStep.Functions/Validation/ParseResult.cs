using FewStep.Functions.Contracts;

namespace FewStep.Functions.Validation;

/// <summary>A validated request, or the reasons it was refused.</summary>
public sealed record ParseResult(GenerationSpec? Spec, ValidationErrors Errors, bool ModelUnavailable = false)
{
    public bool IsValid => Spec is not null && Errors.IsEmpty;
}
