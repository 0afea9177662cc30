using FewStep.Diffusion.Catalog;

namespace FewStep.Diffusion.Tests.Catalog;

public sealed class ModelCatalogTests : IDisposable
{
    private readonly string _temp = Directory.CreateTempSubdirectory("fewstep-catalog-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    [Fact]
    public void Built_in_catalog_has_every_supported_family_with_its_recommended_settings()
    {
        var catalog = ModelCatalog.BuiltIn;

        Assert.True(catalog.TryGet("sd-turbo", out var sdTurbo));
        Assert.Equal((1, 0f, 512, 512), (sdTurbo.Steps, sdTurbo.GuidanceScale, sdTurbo.Width!.Value, sdTurbo.Height!.Value));
        Assert.True(catalog.TryGet("SDXL-Turbo", out _));
        Assert.True(catalog.TryGet("lcm-dreamshaper-v7", out var lcm));
        Assert.Equal(8f, lcm.GuidanceScale);
        foreach (var steps in new[] { 1, 2, 4, 8 })
        {
            Assert.True(catalog.TryGet($"sdxl-lightning-{steps}step", out var lightning));
            Assert.Equal((steps, steps, steps, 1024), (lightning.Steps, lightning.MinSteps, lightning.MaxSteps, lightning.Width!.Value));
        }

        Assert.True(catalog.TryGet("pixart-lcm", out var pixart));
        Assert.Equal((4, 0f, 1024, 1024), (pixart.Steps, pixart.GuidanceScale, pixart.Width!.Value, pixart.Height!.Value));
        Assert.Null(pixart.HubRepo);
        Assert.True(catalog.TryGet("sdxl-lightning-1step", out var oneStep));
        Assert.Equal("sample", oneStep.SchedulerOverrides!["prediction_type"].GetString());
    }

    [Fact]
    public void A_user_catalog_adds_and_replaces_entries_by_name()
    {
        var path = Write("""{ "models": [ { "name": "sd-turbo", "folder": "/models/mine", "steps": 2, "max_steps": 4 }, { "name": "tiny", "width": 64, "height": 64 } ] }""");

        var catalog = ModelCatalog.BuiltIn.Extend(ModelCatalog.Load(path));

        Assert.True(catalog.TryGet("sd-turbo", out var replaced));
        Assert.Equal(2, replaced.Steps);
        Assert.Equal("/models/mine", replaced.ResolveFolder("/elsewhere"));
        Assert.True(catalog.TryGet("tiny", out var added));
        Assert.Equal(Path.GetFullPath("/root/models/tiny"), added.ResolveFolder("/root/models"));
        Assert.True(catalog.TryGet("sdxl-turbo", out _));
    }

    [Theory]
    [InlineData("""{ "models": [ { "name": "x", "steps": 9, "max_steps": 8 } ] }""", "model 'x'")]
    [InlineData("""{ "models": [ { "name": "x", "guidance_scale": -1 } ] }""", "guidance_scale")]
    [InlineData("""{ "models": [ { "name": "x" }, { "name": "X" } ] }""", "listed twice")]
    [InlineData("""{ "nothing": [] }""", "no \"models\" list")]
    [InlineData("""{ "models": [ { "name": "x", "steps": "many" } ] }""", "$.models[0].steps")]
    [InlineData("""{ "models": [ { "steps": 1 } ] }""", "name")]
    public void Bad_catalog_names_the_file_and_the_problem(string json, string expected)
    {
        var path = Write(json);

        var error = Assert.Throws<DiffusionException>(() => ModelCatalog.Load(path));

        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    private string Write(string json)
    {
        var path = Path.Combine(_temp, $"{Guid.NewGuid():N}.json");
        File.WriteAllText(path, json);
        return path;
    }
}
