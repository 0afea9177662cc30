using System.Text.Json;

namespace FewStep.Functions.Validation;

/// <summary>
/// Reading JSON strings that a client controls. Valid UTF-8 can still spell an unpaired surrogate with an escape
/// (<c>"\ud800"</c>); <see cref="JsonElement.GetString"/> and <see cref="JsonProperty.Name"/> then throw, which
/// used to surface as a 500. These return false instead, so the field is named in a 400.
/// </summary>
internal static class JsonText
{
    public const string UnpairedSurrogate = "holds an unpaired UTF-16 surrogate escape (such as \\ud800), which is not text.";

    public static bool TryGetString(JsonElement element, out string value)
    {
        try
        {
            value = element.GetString() ?? string.Empty;
            return true;
        }
        catch (InvalidOperationException) when (element.ValueKind == JsonValueKind.String)
        {
            value = string.Empty;
            return false;
        }
    }

    public static bool TryGetName(JsonProperty property, out string name)
    {
        try
        {
            name = property.Name;
            return true;
        }
        catch (InvalidOperationException)
        {
            name = string.Empty;
            return false;
        }
    }
}
