using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using FewStep.Diffusion.Noise;
using FewStep.Onnx.Lora;
using FewStep.Onnx.Models;
using FewStep.Onnx.Pipelines;
using FewStep.Onnx.Sessions;

namespace FewStep.Benchmarks;

/// <summary>
/// <c>lora --model DIR [--rank R] [--plain]</c>: what merging a LoRA at load costs on a real-size model. Writes an
/// LCM-LoRA-shaped file (PEFT keys, float16, rank R on LCM-LoRA's layer set: attention, proj_in/out, ff, resnet
/// convs, conv_shortcut, time_emb_proj, down/upsampler convs) for the model's UNet, loads the pipeline with it (or
/// without, <c>--plain</c>), generates one 512×512 1-step image, and prints load time, memory and the image time.
/// Run each case in its own process so the peak working set is that case's.
/// </summary>
internal static class LoraBenchmark
{
    private static readonly string[] s_lcmLoraLayers =
    [
        ".to_q", ".to_k", ".to_v", ".to_out.0", ".proj_in", ".proj_out", ".ff.net.0.proj", ".ff.net.2",
        ".conv1", ".conv2", ".conv_shortcut", ".time_emb_proj", ".downsamplers.0.conv", ".upsamplers.0.conv",
    ];

    public static int Run(string model, int rank, bool plain)
    {
        var unet = OnnxWeightIndex.Read(Path.Combine(model, "unet", "model.onnx"));
        // PEFT keys name the diffusers module path: without the export's wrapper scope (e.g. "unet.").
        var prefix = unet.WrapperScope is null ? string.Empty : unet.WrapperScope + ".";
        var layers = unet.Layers
            .Where(l => s_lcmLoraLayers.Any(s => l.ModulePath.EndsWith(s, StringComparison.Ordinal)))
            .Select(l => l.ModulePath.StartsWith(prefix, StringComparison.Ordinal) ? l with { ModulePath = l.ModulePath[prefix.Length..] } : l)
            .DistinctBy(l => l.InitializerName).ToList();
        var file = Path.Combine(Path.GetTempPath(), string.Create(CultureInfo.InvariantCulture, $"fewstep-bench-lora-r{rank}.safetensors"));
        var loraBytes = WriteLora(file, layers, rank);
        unet = null;
        GC.Collect();

        var sessions = new OnnxSessionFactory(new OnnxExecutionOptions());
        using var process = Process.GetCurrentProcess();
        var clock = Stopwatch.StartNew();
        using var pipeline = TextToImagePipeline.Load(model, sessions, new PipelineLoadOptions { Loras = plain ? [] : [new LoraSpec(file)] });
        var load = clock.Elapsed;
        process.Refresh();
        var peakLoad = process.PeakWorkingSet64;
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        process.Refresh();
        var afterLoad = process.WorkingSet64;
        var request = new GenerationRequest { Prompts = ["a red fox in the snow"], NumInferenceSteps = 1, Width = 512, Height = 512 };
        clock.Restart();
        var result = pipeline.Generate(request, TorchNoiseSource.ForSeeds([1L]));
        var generate = clock.Elapsed;
        process.Refresh();
        Console.WriteLine(JsonSerializer.Serialize(new
        {
            model,
            lora = plain ? null : new { rank, layers = layers.Count, file_mb = Math.Round(loraBytes / 1e6, 1) },
            load_s = Math.Round(load.TotalSeconds, 2),
            peak_working_set_during_load_gb = Math.Round(peakLoad / 1e9, 2),
            working_set_after_load_gb = Math.Round(afterLoad / 1e9, 2),
            generate_s = Math.Round(generate.TotalSeconds, 2),
            peak_working_set_gb = Math.Round(process.PeakWorkingSet64 / 1e9, 2),
            working_set_after_gb = Math.Round(process.WorkingSet64 / 1e9, 2),
            stages_ms = result.Timings.Stages.ToDictionary(s => s.Stage, s => Math.Round(s.Elapsed.TotalMilliseconds)),
            cores = Environment.ProcessorCount,
            image_sha256 = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(result.Images[0].Rgb))[..16],
        }));
        return 0;
    }

    // A benchmark input, not a product path: the smallest safetensors writer that gives the reader a real file.
    private static long WriteLora(string path, IReadOnlyList<OnnxWeightLayer> layers, int rank)
    {
        var random = new Random(64);
        var header = new Dictionary<string, object> { ["__metadata__"] = new Dictionary<string, string> { ["format"] = "pt" } };
        var tensors = new List<(string Name, int[] Shape)>();
        foreach (var layer in layers)
        {
            var kernel = layer.Kernel;
            int[] down = layer.Layout == OnnxWeightLayout.Conv ? [rank, (int)layer.In, (int)kernel.Height, (int)kernel.Width] : [rank, (int)layer.In];
            int[] up = layer.Layout == OnnxWeightLayout.Conv ? [(int)layer.Out, rank, 1, 1] : [(int)layer.Out, rank];
            tensors.Add(($"unet.{layer.ModulePath}.lora_A.weight", down));
            tensors.Add(($"unet.{layer.ModulePath}.lora_B.weight", up));
        }

        long offset = 0;
        foreach (var (name, shape) in tensors)
        {
            var bytes = shape.Aggregate(2L, (n, d) => n * d);
            header[name] = new { dtype = "F16", shape, data_offsets = new[] { offset, offset + bytes } };
            offset += bytes;
        }

        var json = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(header));
        using var stream = File.Create(path);
        stream.Write(BitConverter.GetBytes((ulong)json.Length));
        stream.Write(json);
        foreach (var (_, shape) in tensors)
        {
            var values = new byte[shape.Aggregate(2L, (n, d) => n * d)];
            for (var i = 0; i < values.Length; i += 2)
            {
                BitConverter.TryWriteBytes(values.AsSpan(i), (Half)((random.NextSingle() - 0.5f) * 0.02f));
            }

            stream.Write(values);
        }

        return stream.Length;
    }
}
