using FewStep.Diffusion.Configuration;

namespace FewStep.Diffusion.Tests.Configuration;

public sealed class ModelFolderTests
{
    [Theory]
    [InlineData("tiny-sd-turbo", PipelineFamily.StableDiffusion)]
    [InlineData("tiny-sdxl-turbo", PipelineFamily.StableDiffusionXL)]
    [InlineData("tiny-sdxl-lightning", PipelineFamily.StableDiffusionXL)]
    [InlineData("tiny-lcm", PipelineFamily.LatentConsistency)]
    public void Conformance_models_open_as_their_family(string model, PipelineFamily family)
    {
        var folder = ModelFolder.Open(ConformancePaths.Model(model));

        Assert.Equal(family, folder.Family);
        Assert.Equal(model, folder.Name);
    }

    [Fact]
    public void Configs_are_read_from_the_files()
    {
        var sdxl = ModelFolder.Open(ConformancePaths.Model("tiny-sdxl-turbo"));
        var lcm = ModelFolder.Open(ConformancePaths.Model("tiny-lcm"));

        var vae = sdxl.ReadConfig<VaeConfig>("vae_decoder");
        var unet = sdxl.ReadConfig<UNetConfig>("unet");
        Assert.Equal(0.13025f, vae.ScalingFactor);
        Assert.Equal(8, vae.ScaleFactor);
        Assert.Equal(2, unet.LatentSizeMultiple);
        Assert.Equal(8, unet.AdditionTimeEmbedDim);
        Assert.Equal(80, unet.ProjectionClassEmbeddingsInputDim);
        Assert.Equal(64, unet.CrossAttentionWidth());
        Assert.True(sdxl.Index.ForceZerosForEmptyPrompt);
        Assert.Equal("CLIPTextModelWithProjection", sdxl.Index.ComponentClass("text_encoder_2"));
        Assert.Null(sdxl.Index.ComponentClass("image_encoder"));
        Assert.Equal(32, lcm.ReadConfig<UNetConfig>("unet").TimeCondProjDim);
        Assert.Equal(0.18215f, lcm.ReadConfig<VaeConfig>("vae_decoder").ScalingFactor);
    }

    [Fact]
    public void Missing_component_names_it()
    {
        var error = Assert.Throws<DiffusionException>(() => ModelFolder.Open(ConformancePaths.Model("tiny-lcm")).ComponentDirectory("text_encoder_2"));

        Assert.Contains("text_encoder_2", error.Message, StringComparison.Ordinal);
    }
}
