using System.Text.Json;

namespace FewStep.Diffusion.Configuration;

/// <summary>Reads one JSON config file of a model folder into its record, with errors that name the file.</summary>
public static class ConfigFile
{
    private static readonly JsonSerializerOptions s_options = new()
    {
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowReadingFromString,
    };

    public static T Read<T>(string path)
        where T : class
    {
        if (!File.Exists(path))
        {
            throw new DiffusionException($"Missing config file '{path}'.");
        }

        try
        {
            using var stream = File.OpenRead(path);
            return JsonSerializer.Deserialize<T>(stream, s_options)
                ?? throw new DiffusionException($"Config file '{path}' is empty (JSON null).");
        }
        catch (JsonException e)
        {
            var where = e.Path is null ? string.Empty : $" at {e.Path}";
            throw new DiffusionException($"Config file '{path}' is not valid{where}: {e.Message}", e);
        }
    }
}
