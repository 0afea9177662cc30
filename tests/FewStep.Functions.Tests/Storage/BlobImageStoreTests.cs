using System.Globalization;
using System.Net;
using System.Web;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using FewStep.Functions.Options;
using FewStep.Functions.Storage;
using FewStep.Functions.Tests.Support;

namespace FewStep.Functions.Tests.Storage;

/// <summary><see cref="BlobImageStore"/> against Azurite: uploads, listing, SAS URLs that really work.</summary>
[Collection(AzuriteDefinition.Name)]
public sealed class BlobImageStoreTests : IDisposable
{
    private static readonly HttpClient s_http = new() { Timeout = TimeSpan.FromSeconds(20) };

    private readonly AzuriteFixture _azurite;
    private readonly string _containerName = AzuriteFixture.NewContainerName("store");
    private readonly List<BlobImageStore> _stores = [];

    public BlobImageStoreTests(AzuriteFixture azurite) => _azurite = azurite;

    private BlobContainerClient Container => _azurite.BlobServiceClient.GetBlobContainerClient(_containerName);

    public void Dispose()
    {
        foreach (var store in _stores)
        {
            store.Dispose();
        }
    }

    [Fact]
    public async Task Upload_creates_the_container_and_stores_the_png_with_its_content_type_and_metadata()
    {
        var store = NewStore();
        Assert.False((await Container.ExistsAsync()).Value);
        var metadata = ImageMetadata.For(1, 2, 1234567890123L, "tiny-sd-turbo", 4, 1.5f, 64, 48);
        var png = Png(1, 2);

        await store.UploadPngAsync("generations/g1/1-2.png", png, metadata, CancellationToken.None);

        Assert.True((await Container.ExistsAsync()).Value);
        var blob = Container.GetBlobClient("generations/g1/1-2.png");
        var properties = (await blob.GetPropertiesAsync()).Value;
        Assert.Equal("image/png", properties.ContentType);
        Assert.Equal(metadata.OrderBy(m => m.Key, StringComparer.Ordinal), properties.Metadata.OrderBy(m => m.Key, StringComparer.Ordinal));
        Assert.Equal(png.ToArray(), (await blob.DownloadContentAsync()).Value.Content.ToArray());
    }

    [Fact]
    public async Task A_second_store_on_an_existing_container_uploads_too()
    {
        await Container.CreateAsync();

        await NewStore().UploadPngAsync("g/0-0.png", Png(0, 0), ImageMetadata.For(0, 0, 1, "m", 1, 0, 64, 64), CancellationToken.None);

        Assert.Single(await NewStore().ListImagesAsync("g", CancellationToken.None));
    }

    [Fact]
    public async Task Listing_orders_by_prompt_then_image_and_skips_manifests_foreign_blobs_and_other_prefixes()
    {
        var store = NewStore();
        // Uploaded out of order; 10-0 sorts before 2-0 by name, so name order is not the expected order.
        (int Prompt, int Image)[] order = [(10, 0), (2, 1), (0, 1), (2, 0), (0, 0), (1, 10), (1, 2)];
        foreach (var (p, i) in order)
        {
            await store.UploadPngAsync($"generations/abc/{p}-{i}.png", Png(p, i), ImageMetadata.For(p, i, 100 + (p * 100) + i, "m", 1, 0, 64, 64), CancellationToken.None);
        }

        await store.WriteJsonAsync("generations/abc/manifest.json", BinaryData.FromString("{\"prompt_index\":\"0\"}"), CancellationToken.None);
        // A PNG without our metadata, and one whose metadata is not a number.
        await store.UploadPngAsync("generations/abc/foreign.png", Png(9, 9), new Dictionary<string, string>(), CancellationToken.None);
        await store.UploadPngAsync("generations/abc/odd.png", Png(9, 9), new Dictionary<string, string> { [ImageMetadata.PromptIndex] = "x", [ImageMetadata.ImageIndex] = "0", [ImageMetadata.Seed] = "1" }, CancellationToken.None);
        // Our metadata on a blob that is not a PNG.
        await Container.GetBlobClient("generations/abc/3-0.jpg").UploadAsync(BinaryData.FromString("jpeg"), new BlobUploadOptions { Metadata = ImageMetadata.For(3, 0, 1, "m", 1, 0, 64, 64) });
        // Another generation whose id starts with this one's, and one beside it.
        await store.UploadPngAsync("generations/abcd/0-0.png", Png(0, 0), ImageMetadata.For(0, 0, 7, "m", 1, 0, 64, 64), CancellationToken.None);
        await store.UploadPngAsync("generations/xyz/0-0.png", Png(0, 0), ImageMetadata.For(0, 0, 7, "m", 1, 0, 64, 64), CancellationToken.None);

        var images = await store.ListImagesAsync("generations/abc", CancellationToken.None);

        Assert.Equal(
            [(0, 0), (0, 1), (1, 2), (1, 10), (2, 0), (2, 1), (10, 0)],
            images.Select(i => (i.PromptIndex, i.ImageIndex)).ToArray());
        Assert.All(images, i =>
        {
            Assert.Equal($"generations/abc/{i.PromptIndex}-{i.ImageIndex}.png", i.Blob);
            Assert.Equal(100 + (i.PromptIndex * 100) + i.ImageIndex, i.Seed);
        });
        Assert.Equal(images, await store.ListImagesAsync("generations/abc/", CancellationToken.None));
    }

    [Fact]
    public async Task Listing_a_container_that_does_not_exist_yet_is_empty()
    {
        Assert.Empty(await NewStore().ListImagesAsync("generations/none", CancellationToken.None));
        Assert.False((await Container.ExistsAsync()).Value);
    }

    [Fact]
    public async Task Read_urls_are_sas_urls_that_serve_the_png_and_the_bare_url_is_refused()
    {
        var store = NewStore();
        var png = Png(0, 0);
        await store.UploadPngAsync("generations/sas/0-0.png", png, ImageMetadata.For(0, 0, 5, "m", 1, 0, 64, 64), CancellationToken.None);
        await store.UploadPngAsync("generations/sas/0-1.png", Png(0, 1), ImageMetadata.For(0, 1, 6, "m", 1, 0, 64, 64), CancellationToken.None);

        var urls = await store.GetReadUrisAsync(["generations/sas/0-0.png", "generations/sas/0-1.png"], CancellationToken.None);

        Assert.Equal(2, urls.Count);
        Assert.Equal($"/{AzuriteFixture.AccountName}/{_containerName}/generations/sas/0-0.png", urls[0].AbsolutePath);
        Assert.Equal($"/{AzuriteFixture.AccountName}/{_containerName}/generations/sas/0-1.png", urls[1].AbsolutePath);
        var query = HttpUtility.ParseQueryString(urls[0].Query);
        Assert.Equal("r", query["sp"]);
        Assert.Equal("b", query["sr"]);
        Assert.False(string.IsNullOrEmpty(query["sig"]));

        using (var response = await s_http.GetAsync(urls[0]))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("image/png", response.Content.Headers.ContentType?.MediaType);
            Assert.Equal(png.ToArray(), await response.Content.ReadAsByteArrayAsync());
        }

        using (var second = await s_http.GetAsync(urls[1]))
        {
            Assert.Equal(Png(0, 1).ToArray(), await second.Content.ReadAsByteArrayAsync());
        }

        using var bare = await s_http.GetAsync(new UriBuilder(urls[0]) { Query = string.Empty }.Uri);
        Assert.NotEqual(HttpStatusCode.OK, bare.StatusCode);
        Assert.Contains(bare.StatusCode, new[] { HttpStatusCode.Forbidden, HttpStatusCode.NotFound });

        // Read-only: the same SAS cannot overwrite the blob.
        using var put = new HttpRequestMessage(HttpMethod.Put, urls[0]) { Content = new ByteArrayContent([1, 2, 3]) };
        put.Headers.Add("x-ms-blob-type", "BlockBlob");
        using var written = await s_http.SendAsync(put);
        Assert.Equal(HttpStatusCode.Forbidden, written.StatusCode);
    }

    [Fact]
    public async Task Sas_expiry_is_now_plus_the_configured_lifetime()
    {
        var lifetime = TimeSpan.FromMinutes(97);
        var now = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        var store = NewStore(lifetime, new FixedTimeProvider(now));
        await store.UploadPngAsync("g/0-0.png", Png(0, 0), ImageMetadata.For(0, 0, 1, "m", 1, 0, 64, 64), CancellationToken.None);

        var url = (await store.GetReadUrisAsync(["g/0-0.png"], CancellationToken.None))[0];

        Assert.Equal(now + lifetime, Expiry(url));
        using var response = await s_http.GetAsync(url);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Sas_expiry_follows_the_system_clock_by_default()
    {
        var lifetime = TimeSpan.FromHours(5);
        var store = NewStore(lifetime, TimeProvider.System);
        await store.UploadPngAsync("g/0-0.png", Png(0, 0), ImageMetadata.For(0, 0, 1, "m", 1, 0, 64, 64), CancellationToken.None);

        var before = DateTimeOffset.UtcNow;
        var url = (await store.GetReadUrisAsync(["g/0-0.png"], CancellationToken.None))[0];
        var after = DateTimeOffset.UtcNow;

        // se= has whole seconds.
        var expiry = Expiry(url);
        Assert.InRange(expiry, before + lifetime - TimeSpan.FromSeconds(1), after + lifetime + TimeSpan.FromSeconds(1));
    }

    [Fact]
    public async Task An_expired_sas_is_refused()
    {
        var lifetime = TimeSpan.FromMinutes(10);
        var store = NewStore(lifetime, new FixedTimeProvider(DateTimeOffset.UtcNow - TimeSpan.FromHours(1)));
        await store.UploadPngAsync("g/0-0.png", Png(0, 0), ImageMetadata.For(0, 0, 1, "m", 1, 0, 64, 64), CancellationToken.None);

        var url = (await store.GetReadUrisAsync(["g/0-0.png"], CancellationToken.None))[0];

        using var response = await s_http.GetAsync(url);
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }

    [Fact]
    public async Task Uploading_the_same_name_again_overwrites()
    {
        var store = NewStore();
        await store.UploadPngAsync("generations/re/0-0.png", BinaryData.FromString("first"), ImageMetadata.For(0, 0, 1, "m", 1, 0, 64, 64), CancellationToken.None);

        await store.UploadPngAsync("generations/re/0-0.png", BinaryData.FromString("second"), ImageMetadata.For(0, 0, 2, "m", 1, 0, 64, 64), CancellationToken.None);

        var blobs = new List<string>();
        await foreach (var blob in Container.GetBlobsAsync(BlobTraits.None, BlobStates.None, "generations/re/", CancellationToken.None))
        {
            blobs.Add(blob.Name);
        }

        Assert.Equal(["generations/re/0-0.png"], blobs);
        Assert.Equal("second", (await Container.GetBlobClient("generations/re/0-0.png").DownloadContentAsync()).Value.Content.ToString());
        var image = Assert.Single(await store.ListImagesAsync("generations/re", CancellationToken.None));
        Assert.Equal(2, image.Seed);
    }

    [Fact]
    public async Task Json_documents_are_stored_as_application_json()
    {
        var store = NewStore();

        await store.WriteJsonAsync("g/manifest.json", BinaryData.FromString("{\"a\":1}"), CancellationToken.None);
        await store.WriteJsonAsync("g/manifest.json", BinaryData.FromString("{\"a\":2}"), CancellationToken.None);

        var blob = Container.GetBlobClient("g/manifest.json");
        Assert.Equal("application/json", (await blob.GetPropertiesAsync()).Value.ContentType);
        Assert.Equal("{\"a\":2}", (await blob.DownloadContentAsync()).Value.Content.ToString());
    }

    private BlobImageStore NewStore(TimeSpan? sasLifetime = null, TimeProvider? time = null)
    {
        var options = new FewStepOptions { ImagesContainer = _containerName };
        if (sasLifetime is { } lifetime)
        {
            options.SasLifetime = lifetime;
        }

        var store = new BlobImageStore(_azurite.BlobServiceClient, Microsoft.Extensions.Options.Options.Create(options), time ?? TimeProvider.System);
        _stores.Add(store);
        return store;
    }

    // Not a real PNG: the store does not look inside; distinct bytes per image.
    private static BinaryData Png(int prompt, int image) => BinaryData.FromBytes([0x89, (byte)'P', (byte)'N', (byte)'G', (byte)prompt, (byte)image]);

    private static DateTimeOffset Expiry(Uri url) =>
        DateTimeOffset.Parse(HttpUtility.ParseQueryString(url.Query)["se"]!, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);

    private sealed class FixedTimeProvider(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
