using FewStep.Diffusion;
using FewStep.Onnx.Pipelines;

namespace FewStep.Onnx.Tests.Pipelines;

/// <summary>Broken model folders fail at load with a <see cref="DiffusionException"/> naming the file or field.</summary>
public sealed class ModelFolderErrorTests : IClassFixture<PipelinesFixture>, IDisposable
{
    private readonly PipelinesFixture _fixture;
    private readonly string _temp = Directory.CreateTempSubdirectory("fewstep-model-").FullName;

    public ModelFolderErrorTests(PipelinesFixture fixture) => _fixture = fixture;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    [Fact]
    public void Missing_folder()
    {
        var path = Path.Combine(_temp, "nope");

        var error = Assert.Throws<DiffusionException>(() => DiffusionPipeline.Load(path, _fixture.Sessions));

        Assert.Contains(path, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_model_index()
    {
        var error = Assert.Throws<DiffusionException>(() => DiffusionPipeline.Load(_temp, _fixture.Sessions));

        Assert.Contains("model_index.json", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_pipeline_class()
    {
        var model = CopyModel("tiny-sd-turbo");
        ReplaceInFile(Path.Combine(model, "model_index.json"), "\"StableDiffusionPipeline\"", "\"KandinskyPipeline\"");

        var error = Assert.Throws<DiffusionException>(() => DiffusionPipeline.Load(model, _fixture.Sessions));

        Assert.Contains("KandinskyPipeline", error.Message, StringComparison.Ordinal);
        Assert.Contains("StableDiffusionXLPipeline", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("tiny-sd-turbo", "unet/model.onnx")]
    [InlineData("tiny-sd-turbo", "vae_decoder/model.onnx")]
    [InlineData("tiny-sd-turbo", "tokenizer/vocab.json")]
    [InlineData("tiny-sd-turbo", "scheduler/scheduler_config.json")]
    [InlineData("tiny-sdxl-turbo", "text_encoder_2/model.onnx")]
    [InlineData("tiny-sdxl-turbo", "unet/config.json")]
    public void Missing_component_file(string source, string file)
    {
        var model = CopyModel(source);
        File.Delete(Path.Combine(model, file));

        var error = Assert.Throws<DiffusionException>(() => DiffusionPipeline.Load(model, _fixture.Sessions));

        Assert.Contains(Path.Combine(model, file), error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_scheduler_class()
    {
        var model = CopyModel("tiny-sd-turbo");
        ReplaceInFile(Path.Combine(model, "scheduler", "scheduler_config.json"), "EulerDiscreteScheduler", "DPMSolverSDEScheduler");

        var error = Assert.Throws<DiffusionException>(() => DiffusionPipeline.Load(model, _fixture.Sessions));

        Assert.Contains("DPMSolverSDEScheduler", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Sdxl_unet_with_one_text_encoder_is_a_mismatch()
    {
        // An SD folder whose UNet is SDXL's: 64-wide cross-attention and text_embeds/time_ids inputs.
        var model = CopyModel("tiny-sd-turbo");
        File.Copy(ConformancePaths.Model("tiny-sdxl-turbo") + "/unet/model.onnx", Path.Combine(model, "unet", "model.onnx"), overwrite: true);
        File.Copy(ConformancePaths.Model("tiny-sdxl-turbo") + "/unet/config.json", Path.Combine(model, "unet", "config.json"), overwrite: true);

        var error = Assert.Throws<DiffusionException>(() => DiffusionPipeline.Load(model, _fixture.Sessions));

        Assert.Contains("cross_attention_dim", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Malformed_config_names_the_file()
    {
        var model = CopyModel("tiny-lcm");
        File.WriteAllText(Path.Combine(model, "vae_decoder", "config.json"), "{ \"scaling_factor\": ");

        var error = Assert.Throws<DiffusionException>(() => DiffusionPipeline.Load(model, _fixture.Sessions));

        Assert.Contains(Path.Combine(model, "vae_decoder", "config.json"), error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Sdxl_img2img_class_is_accepted_for_text_to_image()
    {
        var model = CopyModel("tiny-sdxl-turbo");
        ReplaceInFile(Path.Combine(model, "model_index.json"), "\"StableDiffusionXLPipeline\"", "\"StableDiffusionXLImg2ImgPipeline\"");

        using var pipeline = DiffusionPipeline.Load(model, _fixture.Sessions);

        Assert.Equal(FewStep.Diffusion.Configuration.PipelineFamily.StableDiffusionXL, pipeline.Family);
    }

    private string CopyModel(string name) => ConformancePaths.CopyModel(name, _temp);

    private static void ReplaceInFile(string path, string from, string to) =>
        File.WriteAllText(path, File.ReadAllText(path).Replace(from, to, StringComparison.Ordinal));
}
