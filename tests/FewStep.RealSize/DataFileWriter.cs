using Microsoft.Win32.SafeHandles;

namespace FewStep.RealSize;

/// <summary>
/// Writes one component's external-data file: a new file of exactly data_bytes bytes, each tensor's range filled
/// block by block on all cores with positional writes (blocks are taken in file order, so the writes stay nearly
/// sequential), the gaps left as the zeros a freshly sized file reads as.
/// </summary>
internal static class DataFileWriter
{
    public static void Write(FillSpec spec, string path, ulong seed, IProgress<string>? progress, CancellationToken cancellationToken)
    {
        // A new file, not an overwrite: an old file's bytes would otherwise survive in the gaps between tensors.
        File.Delete(path);
        var blocks = Blocks(spec, seed);
        using (var handle = File.OpenHandle(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None))
        {
            RandomAccess.SetLength(handle, spec.DataBytes);
            var reporter = new ProgressReporter(spec, progress);
            var options = new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount, CancellationToken = cancellationToken };
            Parallel.For(
                0,
                blocks.Count,
                options,
                () => new GaussianBlocks.Scratch(),
                (i, _, scratch) =>
                {
                    WriteBlock(handle, blocks[i], scratch);
                    reporter.Add(blocks[i].Elements * sizeof(float));
                    return scratch;
                },
                _ => { });

            // Data reaches the disk before the stamp can claim it is there.
            FlushToDisk(handle);
        }

        var written = new FileInfo(path).Length;
        if (written != spec.DataBytes)
        {
            throw new IOException($"{path}: wrote {written} bytes, expected data_bytes {spec.DataBytes} from {spec.SourcePath}.");
        }
    }

    private static void WriteBlock(SafeFileHandle handle, Block block, GaussianBlocks.Scratch scratch)
    {
        var values = scratch.Values.AsSpan(0, block.Elements);
        GaussianBlocks.Fill(block.TensorKey, block.Index, block.Tensor.Mean, block.Tensor.Std, values, scratch);
        RandomAccess.Write(handle, GaussianBlocks.AsLittleEndianBytes(values), block.FileOffset);
    }

    private static void FlushToDisk(SafeFileHandle handle)
    {
        using var stream = new FileStream(handle, FileAccess.ReadWrite, bufferSize: 0);
        stream.Flush(flushToDisk: true);
    }

    private static List<Block> Blocks(FillSpec spec, ulong seed)
    {
        var blocks = new List<Block>();
        foreach (var tensor in spec.Tensors)
        {
            var key = GaussianBlocks.TensorKey(seed, tensor.Name);
            var count = GaussianBlocks.BlockCount(tensor.ElementCount);
            for (long b = 0; b < count; b++)
            {
                var elements = (int)Math.Min(GaussianBlocks.BlockElements, tensor.ElementCount - (b * GaussianBlocks.BlockElements));
                blocks.Add(new Block(tensor, key, b, tensor.Offset + (b * GaussianBlocks.BlockElements * sizeof(float)), elements));
            }
        }

        return blocks;
    }

    private sealed record Block(FillTensor Tensor, ulong TensorKey, long Index, long FileOffset, int Elements);

    /// <summary>Reports each tenth of a component from whichever thread crosses it.</summary>
    private sealed class ProgressReporter(FillSpec spec, IProgress<string>? progress)
    {
        private readonly Lock _gate = new();
        private readonly long _total = spec.Tensors.Sum(t => t.Length);
        private long _done;
        private int _lastTenth;

        public void Add(long bytes)
        {
            if (progress is null)
            {
                return;
            }

            lock (_gate)
            {
                _done += bytes;
                var tenth = _total == 0 ? 10 : (int)(_done * 10 / _total);
                if (tenth > _lastTenth)
                {
                    _lastTenth = tenth;
                    progress.Report($"{spec.Component}: {tenth * 10}% of {_total / 1e9:F2} GB");
                }
            }
        }
    }
}
