using FewStep.Diffusion;
using FewStep.Diffusion.Noise;
using FewStep.Onnx.Lora;
using FewStep.Onnx.Pipelines;
using FewStep.Onnx.Sessions;

namespace FewStep.Onnx.Tests.Pipelines;

/// <summary>
/// Pipelines keyed by (model, LoRA contents and scales): a hit shares the loaded sessions, the least recently used LoRA
/// variant is evicted beyond the limit and disposed once its last lease ends, and a failed load is not remembered.
/// </summary>
public sealed class PipelineCacheTests : IDisposable
{
    private static readonly string s_model = ConformancePaths.Model("tiny-sd-turbo");
    private static readonly LoraSpec s_locon = new(ConformancePaths.Lora("sd_kohya_unet_locon"), 1f);
    private static readonly LoraSpec s_te = new(ConformancePaths.Lora("sd_kohya_unet_te"), 0.7f);
    private static readonly GenerationRequest s_request = new() { Prompts = ["a red fox"], NumInferenceSteps = 1, Width = 64, Height = 64 };

    private readonly OnnxSessionFactory _sessions = new(new OnnxExecutionOptions());
    private readonly string _temp = Directory.CreateTempSubdirectory("fewstep-cache-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    [Fact]
    public void The_same_model_and_loras_share_one_pipeline_whatever_the_order_and_a_scale_makes_another()
    {
        using var cache = new PipelineCache(_sessions, maxLoraVariantsPerModel: 4);

        using var first = cache.Acquire(s_model, [s_locon, s_te]);
        using var again = cache.Acquire(s_model, [s_te, s_locon]);
        using var rescaled = cache.Acquire(s_model, [s_locon with { Scale = 0.5f }, s_te]);
        using var plain = cache.Acquire(s_model);

        Assert.Same(first.Pipeline, again.Pipeline);
        Assert.NotSame(first.Pipeline, rescaled.Pipeline);
        Assert.Empty(plain.Pipeline.Loras);
        Assert.Equal([s_locon.Path, s_te.Path], first.Pipeline.Loras.Select(l => l.Path));
        Assert.Equal(3, cache.Keys.Count);
    }

    [Fact]
    public void A_copy_of_the_file_is_the_same_lora_because_the_key_is_its_content()
    {
        var copy = Path.Combine(_temp, "renamed.safetensors");
        File.Copy(s_locon.Path, copy);
        using var cache = new PipelineCache(_sessions, maxLoraVariantsPerModel: 2);

        using var a = cache.Acquire(s_model, [s_locon]);
        using var b = cache.Acquire(s_model, [new LoraSpec(copy)]);

        Assert.Same(a.Pipeline, b.Pipeline);
    }

    [Fact]
    public void Beyond_the_limit_the_least_recently_used_variant_is_evicted_and_disposed_after_its_last_lease()
    {
        using var cache = new PipelineCache(_sessions, maxLoraVariantsPerModel: 1);
        var evicted = new List<string>();
        cache.Evicted += evicted.Add;
        using var plain = cache.Acquire(s_model);

        var held = cache.Acquire(s_model, [s_locon]);
        using (var other = cache.Acquire(s_model, [s_te]))
        {
            // The first variant is out of the cache but still borrowed: it keeps working.
            Assert.Single(evicted);
            Assert.DoesNotContain(evicted[0], cache.Keys);
            var image = held.Pipeline.Generate(s_request, TorchNoiseSource.ForSeeds([1L]));
            Assert.Single(image.Images);
            Assert.Single(other.Pipeline.Generate(s_request, TorchNoiseSource.ForSeeds([1L])).Images);
        }

        held.Dispose();
        Assert.ThrowsAny<ObjectDisposedException>(() => held.Pipeline.Generate(s_request, TorchNoiseSource.ForSeeds([1L])));

        // The plain model is never evicted, and the remaining variant is still served from the cache.
        Assert.Contains(PipelineCache.KeyOf(s_model, []), cache.Keys);
        using var back = cache.Acquire(s_model, [s_te]);
        Assert.Equal(2, cache.Keys.Count);
    }

    [Fact]
    public void A_failed_load_is_not_cached_so_a_fixed_file_loads()
    {
        var path = Path.Combine(_temp, "broken.safetensors");
        File.WriteAllBytes(path, [1, 2, 3]);
        using var cache = new PipelineCache(_sessions, maxLoraVariantsPerModel: 2);

        var error = Assert.Throws<DiffusionException>(() => cache.Acquire(s_model, [new LoraSpec(path)]));
        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.Empty(cache.Keys);

        File.Copy(s_locon.Path, path, overwrite: true);
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddSeconds(5));
        using var lease = cache.Acquire(s_model, [new LoraSpec(path)]);
        Assert.Single(lease.Pipeline.Loras);
    }

    [Fact]
    public void Disposing_the_cache_disposes_idle_pipelines_and_borrowed_ones_when_returned()
    {
        var cache = new PipelineCache(_sessions, maxLoraVariantsPerModel: 2);
        var idle = cache.Acquire(s_model, [s_locon]);
        var idlePipeline = idle.Pipeline;
        idle.Dispose();
        var borrowed = cache.Acquire(s_model, [s_te]);

        cache.Dispose();

        Assert.ThrowsAny<ObjectDisposedException>(() => idlePipeline.Generate(s_request, TorchNoiseSource.ForSeeds([1L])));
        Assert.Single(borrowed.Pipeline.Generate(s_request, TorchNoiseSource.ForSeeds([1L])).Images);
        borrowed.Dispose();
        Assert.ThrowsAny<ObjectDisposedException>(() => borrowed.Pipeline.Generate(s_request, TorchNoiseSource.ForSeeds([1L])));
        Assert.Throws<ObjectDisposedException>(() => cache.Acquire(s_model));
    }
}
