using FewStep.Onnx.Models;
using FewStep.Onnx.Pipelines;

namespace FewStep.Conformance;

/// <summary>Keeps a copy of every intermediate tensor under the name the case's <c>.npy</c> file has.</summary>
internal sealed class RecordingObserver : IPipelineObserver
{
    public Dictionary<string, double[]> Arrays { get; } = new(StringComparer.Ordinal);

    public List<double> Timesteps { get; } = [];

    public void OnTokenized(string tokenizer, string kind, IReadOnlyList<int[]> ids) =>
        Arrays[$"input_ids_{tokenizer}_{kind}"] = ids.SelectMany(row => row).Select(i => (double)i).ToArray();

    public void OnAttentionMask(string tokenizer, string kind, IReadOnlyList<int[]> mask) =>
        Arrays[$"attention_mask_{tokenizer}_{kind}"] = mask.SelectMany(row => row).Select(i => (double)i).ToArray();

    public void OnTransformerConditioning(TransformerConditioning conditioning)
    {
        Keep("prompt_embeds", conditioning.EncoderHiddenStates);
        Arrays["prompt_attention_mask"] = conditioning.EncoderAttentionMask.Select(i => (double)i).ToArray();
        if (conditioning.Resolution is { } resolution)
        {
            Keep("resolution", resolution);
        }

        if (conditioning.AspectRatio is { } aspectRatio)
        {
            Keep("aspect_ratio", aspectRatio);
        }
    }

    public void OnConditioning(UNetConditioning conditioning)
    {
        Keep("prompt_embeds", conditioning.EncoderHiddenStates);
        if (conditioning.TextEmbeds is { } textEmbeds)
        {
            Keep("add_text_embeds", textEmbeds);
        }

        if (conditioning.TimeIds is { } timeIds)
        {
            Keep("add_time_ids", timeIds);
        }

        if (conditioning.TimestepCond is { } cond)
        {
            Keep("timestep_cond", cond);
        }
    }

    public void OnInitialLatents(ReadOnlyMemory<float> latents) => Keep("latents_init", latents);

    public void OnStep(DenoisingStep step)
    {
        Timesteps.Add(step.Timestep);
        // The UNet's arrays are unet_sample/unet_out; a transformer's are named after its input and output.
        var (input, output) = step.Denoiser == "transformer" ? ("transformer_hidden_states", "transformer_out") : ("unet_sample", "unet_out");
        Keep($"{input}_step{step.Index}", step.UNetSample);
        Keep($"{output}_step{step.Index}", step.UNetOutput);
        if (step.TimestepInput is { } timestepInput)
        {
            Arrays[$"{step.Denoiser}_timestep_step{step.Index}"] = timestepInput.Select(t => (double)t).ToArray();
        }

        Keep($"model_output_step{step.Index}", step.ModelOutput);
        Keep($"latents_after_step{step.Index}", step.PrevSample);
        Keep($"denoised_step{step.Index}", step.PredOriginalSample);
    }

    public void OnVaeInput(ReadOnlyMemory<float> latents) => Keep("vae_decoder_input", latents);

    public void OnVaeOutput(ReadOnlyMemory<float> decoded) => Keep("vae_decoder_output", decoded);

    public void OnImage(int index, ReadOnlyMemory<float> image)
    {
        var existing = Arrays.TryGetValue("image", out var previous) ? previous : [];
        Arrays["image"] = [.. existing, .. ToDoubles(image)];
    }

    private void Keep(string name, ReadOnlyMemory<float> values) => Arrays[name] = ToDoubles(values);

    private static double[] ToDoubles(ReadOnlyMemory<float> values)
    {
        var span = values.Span;
        var result = new double[span.Length];
        for (var i = 0; i < span.Length; i++)
        {
            result[i] = span[i];
        }

        return result;
    }
}
