using FewStep.Diffusion.Configuration;

namespace FewStep.Diffusion.Tests.Configuration;

public sealed class ModelFolderTests
{
    [Theory]
    [InlineData("tiny-sd-turbo", PipelineFamily.StableDiffusion)]
    [InlineData("tiny-sdxl-turbo", PipelineFamily.StableDiffusionXL)]
    [InlineData("tiny-sdxl-lightning", PipelineFamily.StableDiffusionXL)]
    [InlineData("tiny-lcm", PipelineFamily.LatentConsistency)]
    [InlineData("tiny-pixart-lcm", PipelineFamily.PixArt)]
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
    public void Pixart_folder_reads_its_transformer_and_t5_configs_and_geometry()
    {
        var folder = ModelFolder.Open(ConformancePaths.Model("tiny-pixart-lcm"));

        var transformer = folder.ReadConfig<TransformerConfig>("transformer");
        Assert.Equal((4, 8, 2, 128), (transformer.InChannels, transformer.OutputChannels, transformer.PatchSize, transformer.SampleSize!.Value));
        Assert.True(transformer.LearnedSigma);
        Assert.True(transformer.UsesResolutionConditions);
        Assert.Equal(32, transformer.CaptionChannels);
        Assert.Equal(32, folder.ReadConfig<T5EncoderConfig>("text_encoder").DModel);
        Assert.Equal(["tokenizer", "text_encoder", "transformer", "vae_decoder"], ModelFolder.RequiredComponents(PipelineFamily.PixArt));
        Assert.Equal("spiece.model", ModelFolder.RequiredFile(PipelineFamily.PixArt, "tokenizer"));

        var geometry = ModelGeometry.Read(folder);

        // VAE scale factor 8 × patch 2; default sample_size 128 × 8.
        Assert.Equal((16, 1024), (geometry.SizeMultiple, geometry.DefaultSize));
    }

    [Fact]
    public void Missing_component_names_it()
    {
        var error = Assert.Throws<DiffusionException>(() => ModelFolder.Open(ConformancePaths.Model("tiny-lcm")).ComponentDirectory("text_encoder_2"));

        Assert.Contains("text_encoder_2", error.Message, StringComparison.Ordinal);
    }
}
