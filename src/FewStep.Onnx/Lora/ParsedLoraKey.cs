namespace FewStep.Onnx.Lora;

/// <summary>
/// A key taken apart: its format, component and role, and the module it names. <see cref="Module"/> is a diffusers
/// module path, or for kohya (<see cref="Underscored"/>) the path with every <c>.</c> written <c>_</c>, which only the
/// model's own layer paths can resolve. <see cref="SgmMapped"/>: the kohya path was an SGM block name, mapped.
/// </summary>
internal sealed record ParsedLoraKey(string Key, LoraFormat Format, string Component, string Module, bool Underscored, LoraKeyRole Role,
    bool SgmMapped = false);
