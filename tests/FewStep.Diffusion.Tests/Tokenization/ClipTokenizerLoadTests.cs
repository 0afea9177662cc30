using FewStep.Diffusion.Tokenization;

namespace FewStep.Diffusion.Tests.Tokenization;

/// <summary>Broken tokenizer folders fail with a <see cref="DiffusionException"/> that names the file.</summary>
public sealed class ClipTokenizerLoadTests : IDisposable
{
    private readonly string _folder;

    public ClipTokenizerLoadTests()
    {
        _folder = Path.Combine(Path.GetTempPath(), "fewstep-tokenizer-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_folder);
        string source = TokenizerVectors.FolderPath("tiny-sd-turbo/tokenizer");
        foreach (string file in Directory.GetFiles(source))
        {
            File.Copy(file, Path.Combine(_folder, Path.GetFileName(file)));
        }
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void Copied_folder_loads()
    {
        ClipTokenizer tokenizer = ClipTokenizer.Load(_folder);

        Assert.Equal(0, tokenizer.PadTokenId);
    }

    [Fact]
    public void Missing_folder_names_the_folder()
    {
        string missing = Path.Combine(_folder, "no-such-tokenizer");

        DiffusionException error = Assert.Throws<DiffusionException>(() => ClipTokenizer.Load(missing));

        Assert.Contains(missing, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("vocab.json")]
    [InlineData("merges.txt")]
    [InlineData("tokenizer_config.json")]
    public void Missing_file_names_the_file(string fileName)
    {
        string path = Path.Combine(_folder, fileName);
        File.Delete(path);

        DiffusionException error = Assert.Throws<DiffusionException>(() => ClipTokenizer.Load(_folder));

        Assert.Contains(path, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("vocab.json", "[1, 2, 3]")]
    [InlineData("tokenizer_config.json", "{ \"model_max_length\": ")]
    [InlineData("merges.txt", "#version: 0.2\ni n t\n")]
    [InlineData("special_tokens_map.json", "not json")]
    public void Malformed_file_names_the_file(string fileName, string content)
    {
        string path = Path.Combine(_folder, fileName);
        File.WriteAllText(path, content);

        DiffusionException error = Assert.Throws<DiffusionException>(() => ClipTokenizer.Load(_folder));

        Assert.Contains(path, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Merges_outside_the_vocabulary_name_the_merges_file()
    {
        string path = Path.Combine(_folder, "merges.txt");
        File.WriteAllText(path, "#version: 0.2\nqqqqq zzzzz\n");

        DiffusionException error = Assert.Throws<DiffusionException>(() => ClipTokenizer.Load(_folder));

        Assert.Contains(path, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_pad_token_names_the_config_and_field()
    {
        string path = Path.Combine(_folder, "tokenizer_config.json");
        File.WriteAllText(path, File.ReadAllText(path).Replace("\"pad_token\": \"!\"", "\"pad_token\": \"<|no-such-pad|>\"", StringComparison.Ordinal));

        DiffusionException error = Assert.Throws<DiffusionException>(() => ClipTokenizer.Load(_folder));

        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.Contains("pad_token", error.Message, StringComparison.Ordinal);
        Assert.Contains("<|no-such-pad|>", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_model_max_length_names_the_field()
    {
        string path = Path.Combine(_folder, "tokenizer_config.json");
        File.WriteAllText(path, File.ReadAllText(path).Replace("\"model_max_length\": 77,", string.Empty, StringComparison.Ordinal));

        DiffusionException error = Assert.Throws<DiffusionException>(() => ClipTokenizer.Load(_folder));

        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.Contains("model_max_length", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Pad_token_given_as_an_object_is_read()
    {
        string path = Path.Combine(_folder, "tokenizer_config.json");
        File.WriteAllText(path, File.ReadAllText(path).Replace(
            "\"pad_token\": \"!\"", "\"pad_token\": { \"content\": \"<|endoftext|>\", \"lstrip\": false }", StringComparison.Ordinal));

        ClipTokenizer tokenizer = ClipTokenizer.Load(_folder);

        Assert.Equal(49407, tokenizer.PadTokenId);
    }
}
