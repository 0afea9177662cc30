namespace FewStep.Diffusion.Configuration;

/// <summary>
/// A diffusers pipeline folder as <c>optimum-cli export onnx</c> writes it: <c>model_index.json</c> at the top,
/// one sub-folder per component with <c>model.onnx</c> (and maybe <c>model.onnx_data</c>) and <c>config.json</c>.
/// Opening it checks the pipeline class and that every component the family needs is there.
/// </summary>
public sealed class ModelFolder
{
    public const string ModelIndexFile = "model_index.json";
    public const string OnnxFile = "model.onnx";
    public const string ConfigFileName = "config.json";

    // Optimum keeps the diffusers class name; older diffusers ONNX exports wrote the Onnx* names.
    private static readonly Dictionary<string, PipelineFamily> s_families = new(StringComparer.Ordinal)
    {
        ["StableDiffusionPipeline"] = PipelineFamily.StableDiffusion,
        ["OnnxStableDiffusionPipeline"] = PipelineFamily.StableDiffusion,
        ["ORTStableDiffusionPipeline"] = PipelineFamily.StableDiffusion,
        ["StableDiffusionXLPipeline"] = PipelineFamily.StableDiffusionXL,
        ["StableDiffusionXLImg2ImgPipeline"] = PipelineFamily.StableDiffusionXL,
        ["ORTStableDiffusionXLPipeline"] = PipelineFamily.StableDiffusionXL,
        ["LatentConsistencyModelPipeline"] = PipelineFamily.LatentConsistency,
        ["ORTLatentConsistencyModelPipeline"] = PipelineFamily.LatentConsistency,
        ["PixArtAlphaPipeline"] = PipelineFamily.PixArt,
    };

    private ModelFolder(string root, ModelIndex index, PipelineFamily family)
    {
        Root = root;
        Index = index;
        Family = family;
    }

    public string Root { get; }

    public ModelIndex Index { get; }

    public PipelineFamily Family { get; }

    /// <summary>The folder's name, used as the model name in image metadata.</summary>
    public string Name => Path.GetFileName(Path.TrimEndingDirectorySeparator(Root));

    public static IReadOnlyCollection<string> SupportedPipelineClasses => s_families.Keys;

    public static ModelFolder Open(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var root = Path.GetFullPath(path);
        if (!Directory.Exists(root))
        {
            throw new DiffusionException($"Model folder '{root}' does not exist.");
        }

        var indexPath = Path.Combine(root, ModelIndexFile);
        var index = ConfigFile.Read<ModelIndex>(indexPath);
        if (string.IsNullOrEmpty(index.ClassName))
        {
            throw new DiffusionException($"'{indexPath}' has no _class_name: it is not a diffusers pipeline folder.");
        }

        if (!s_families.TryGetValue(index.ClassName, out var family))
        {
            throw new DiffusionException(
                $"'{indexPath}' names pipeline class '{index.ClassName}', which FewStep does not run. " +
                $"Supported: {string.Join(", ", s_families.Keys)}.");
        }

        var folder = new ModelFolder(root, index, family);
        foreach (var component in RequiredComponents(family))
        {
            folder.RequireFile(component, RequiredFile(family, component));
        }

        return folder;
    }

    public static IReadOnlyList<string> RequiredComponents(PipelineFamily family) => family switch
    {
        PipelineFamily.StableDiffusionXL =>
            ["tokenizer", "tokenizer_2", "text_encoder", "text_encoder_2", "unet", "vae_decoder"],
        PipelineFamily.PixArt => ["tokenizer", "text_encoder", "transformer", "vae_decoder"],
        _ => ["tokenizer", "text_encoder", "unet", "vae_decoder"],
    };

    /// <summary>The file whose presence marks a component as there: CLIP's vocab.json, T5's spiece.model, or the ONNX model.</summary>
    public static string RequiredFile(PipelineFamily family, string component)
    {
        ArgumentNullException.ThrowIfNull(component);
        if (!component.StartsWith("tokenizer", StringComparison.Ordinal))
        {
            return OnnxFile;
        }

        return family == PipelineFamily.PixArt ? "spiece.model" : "vocab.json";
    }

    /// <summary>The component that denoises: <c>transformer</c> for PixArt, <c>unet</c> for the others.</summary>
    public static string DenoiserComponent(PipelineFamily family) => family == PipelineFamily.PixArt ? "transformer" : "unet";

    public string ComponentDirectory(string component)
    {
        var dir = Path.Combine(Root, component);
        if (!Directory.Exists(dir))
        {
            throw new DiffusionException(
                $"Model folder '{Root}' has no '{component}' folder, which a {Index.ClassName} needs.");
        }

        return dir;
    }

    /// <summary>The path of a file inside a component folder; throws naming it when it is missing.</summary>
    public string RequireFile(string component, string fileName)
    {
        var path = Path.Combine(ComponentDirectory(component), fileName);
        if (!File.Exists(path))
        {
            throw new DiffusionException($"Missing file '{path}' ({component} of a {Index.ClassName}).");
        }

        return path;
    }

    public string OnnxPath(string component) => RequireFile(component, OnnxFile);

    public T ReadConfig<T>(string component)
        where T : class => ConfigFile.Read<T>(RequireFile(component, ConfigFileName));

    public string SchedulerConfigPath => RequireFile("scheduler", "scheduler_config.json");
}
