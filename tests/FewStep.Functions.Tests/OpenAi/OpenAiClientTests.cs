using System.ClientModel;
using FewStep.Functions.Tests.Support;
using OpenAI;
using OpenAI.Images;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace FewStep.Functions.Tests.OpenAi;

/// <summary>
/// The official OpenAI .NET client, pointed at the app as a user would (<c>Endpoint = https://&lt;app&gt;/api/v1</c>,
/// the function key as its API key): the tiny SD-Turbo model renders for real, the orchestration runs on the
/// Functions host's durable engine against Azurite, and the answer is what the client parses.
/// </summary>
[Collection(AzuriteDefinition.Name)]
public sealed class OpenAiClientTests : IAsyncLifetime
{
    private const string Key = "client-test-key";

    private readonly AzuriteFixture _azurite;
    private TestApp _app = null!;

    public OpenAiClientTests(AzuriteFixture azurite) => _azurite = azurite;

    public async Task InitializeAsync() => _app = await TestApp.StartAsync(o =>
    {
        o.Azurite = _azurite;
        o.RealRenderer = true;
        o.Backend = DurableBackend.AzureStorage;
        o.FunctionKeys = [Key];
    });

    public async Task DisposeAsync() => await _app.DisposeAsync();

    [Fact]
    public async Task The_openai_client_gets_a_url_to_a_real_png()
    {
        var client = Client(Key);

        var result = await client.GenerateImageAsync("a red fox in the snow", new ImageGenerationOptions
        {
            Size = new GeneratedImageSize(64, 64),
            ResponseFormat = GeneratedImageFormat.Uri,
        });

        var image = result.Value;
        Assert.NotNull(image.ImageUri);
        using var http = new HttpClient();
        var png = await http.GetByteArrayAsync(image.ImageUri);
        using var decoded = Image.Load<Rgb24>(png);
        Assert.Equal((64, 64), (decoded.Width, decoded.Height));
    }

    [Fact]
    public async Task The_openai_client_gets_b64_json_pngs_for_n_images()
    {
        var client = Client(Key);

        var result = await client.GenerateImagesAsync("a blue bird", 2, new ImageGenerationOptions { ResponseFormat = GeneratedImageFormat.Bytes });

        Assert.Equal(2, result.Value.Count);
        var pixels = result.Value.Select(image =>
        {
            Assert.Null(image.ImageUri);
            using var decoded = Image.Load<Rgb24>(image.ImageBytes.ToArray());
            Assert.Equal((64, 64), (decoded.Width, decoded.Height));
            var bytes = new byte[64 * 64 * 3];
            decoded.CopyPixelDataTo(bytes);
            return Convert.ToHexString(bytes);
        }).ToList();
        Assert.NotEqual(pixels[0], pixels[1]);
    }

    [Fact]
    public async Task A_bad_size_is_a_typed_client_error_naming_the_size()
    {
        var client = Client(Key);

        var error = await Assert.ThrowsAsync<ClientResultException>(() => client.GenerateImageAsync("a fox", new ImageGenerationOptions { Size = new GeneratedImageSize(512, 512) }));

        Assert.Equal(400, error.Status);
        Assert.Contains("size", error.Message, StringComparison.Ordinal);
        Assert.Contains("256", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_wrong_key_is_a_401_client_error()
    {
        var error = await Assert.ThrowsAsync<ClientResultException>(() => Client("not-the-key").GenerateImageAsync("a fox"));

        Assert.Equal(401, error.Status);
    }

    private ImageClient Client(string key) =>
        new(TestApp.Model, new ApiKeyCredential(key), new OpenAIClientOptions { Endpoint = new Uri(_app.Http.BaseAddress!, "api/v1") });
}
