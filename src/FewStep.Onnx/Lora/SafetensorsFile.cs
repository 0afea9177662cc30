using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using FewStep.Diffusion;
using Microsoft.Win32.SafeHandles;

namespace FewStep.Onnx.Lora;

/// <summary>
/// A safetensors file opened for reading: its validated header, and tensors read one at a time by offset.
/// </summary>
/// <remarks>
/// Read by hand: no .NET safetensors library is among this repository's packages. The format
/// (huggingface/safetensors) is an 8-byte little-endian u64 header length N, N bytes of UTF-8 JSON
/// <c>{"__metadata__": {str: str}, "&lt;name&gt;": {"dtype": "F32" | "F16" | "BF16" | ..., "shape": [..],
/// "data_offsets": [begin, end]}, ...}</c>, then the byte buffer; offsets are relative to the buffer's start and all
/// data is little-endian, row-major. Only the header is held in memory; a tensor is read from its byte range with
/// positional reads (<see cref="RandomAccess"/>), so reading one tensor never loads the whole file.
/// </remarks>
public sealed class SafetensorsFile : IDisposable
{
    /// <summary>The reference implementation's limit (safetensors' MAX_HEADER_SIZE): a longer header is refused, not buffered.</summary>
    public const long MaxHeaderLength = 100_000_000;

    private const int ChunkBytes = 1 << 20;

    private readonly SafeFileHandle _handle;
    private readonly Dictionary<string, SafetensorsTensorInfo> _tensors;
    private readonly long _bufferStart;

    private SafetensorsFile(string path, SafeFileHandle handle, long bufferStart,
        IReadOnlyDictionary<string, string> metadata, IReadOnlyList<SafetensorsTensorInfo> tensors)
    {
        Path = path;
        _handle = handle;
        _bufferStart = bufferStart;
        Metadata = metadata;
        Names = tensors.Select(t => t.Name).ToArray();
        _tensors = tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
    }

    public string Path { get; }

    /// <summary>The header's <c>__metadata__</c> (empty when it has none).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>The tensor names in header order.</summary>
    public IReadOnlyList<string> Names { get; }

    /// <summary>Opens <paramref name="path"/> and validates its whole header (every error names the file and, where one is at fault, the tensor).</summary>
    /// <exception cref="DiffusionException">The file cannot be opened or is not a valid safetensors file.</exception>
    public static SafetensorsFile Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        SafeFileHandle handle;
        try
        {
            handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.RandomAccess);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new DiffusionException($"Cannot open the safetensors file '{path}': {ex.Message}", ex);
        }

        try
        {
            var length = RandomAccess.GetLength(handle);
            Span<byte> prefix = stackalloc byte[8];
            if (length < prefix.Length)
            {
                throw new DiffusionException($"'{path}' is not a valid safetensors file: it has {length} bytes, fewer than the 8 of the header length.");
            }

            ReadExactly(handle, prefix, 0, path);
            var headerLength = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
            if (headerLength > MaxHeaderLength)
            {
                throw new DiffusionException($"'{path}' is not a valid safetensors file: its header length {headerLength} is over the limit of {MaxHeaderLength} bytes.");
            }

            if ((long)headerLength > length - 8)
            {
                throw new DiffusionException($"'{path}' is not a valid safetensors file: its header length {headerLength} runs past the end of the {length}-byte file.");
            }

            var header = new byte[headerLength];
            ReadExactly(handle, header, 8, path);
            var bufferStart = 8 + (long)headerLength;
            var (metadata, tensors) = SafetensorsHeader.Parse(header, length - bufferStart, path);
            return new SafetensorsFile(path, handle, bufferStart, metadata, tensors);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    public bool TryGetInfo(string name, [NotNullWhen(true)] out SafetensorsTensorInfo? info) =>
        _tensors.TryGetValue(name, out info);

    /// <summary>
    /// Reads tensor <paramref name="name"/> as float32: F32 as stored, F16 and BF16 widened exactly, F64 rounded to
    /// the nearest float32. Any other dtype is refused, naming it.
    /// </summary>
    /// <exception cref="DiffusionException">No such tensor, a dtype that is not a float, or a read error.</exception>
    public LoraTensor ReadFloat32(string name)
    {
        ObjectDisposedException.ThrowIf(_handle.IsClosed, this);
        if (!_tensors.TryGetValue(name, out var info))
        {
            throw new DiffusionException($"'{Path}' has no tensor '{name}'.");
        }

        if (!SafetensorsDTypes.IsReadableAsFloat32(info.DType) || !SafetensorsDTypes.TryGetSize(info.DType, out var size))
        {
            throw new DiffusionException($"'{Path}': tensor '{name}' is {info.DType}; a weight must be F32, F16, BF16 or F64.");
        }

        if (info.ElementCount > Array.MaxLength)
        {
            throw new DiffusionException($"'{Path}': tensor '{name}' has {info.ElementCount} elements, more than one array can hold.");
        }

        var data = new float[info.ElementCount];
        var chunkElements = ChunkBytes / size;
        var buffer = ArrayPool<byte>.Shared.Rent(chunkElements * size);
        try
        {
            for (var done = 0; done < data.Length; done += chunkElements)
            {
                var count = Math.Min(chunkElements, data.Length - done);
                var bytes = buffer.AsSpan(0, count * size);
                ReadExactly(_handle, bytes, _bufferStart + info.Begin + ((long)done * size), Path);
                Widen(info.DType, bytes, data.AsSpan(done, count));
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return new LoraTensor(name, info.Shape, data);
    }

    /// <summary>The SHA-256 of the whole file, streamed, as lowercase hex.</summary>
    public string ComputeSha256()
    {
        ObjectDisposedException.ThrowIf(_handle.IsClosed, this);
        using var stream = new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    public void Dispose() => _handle.Dispose();

    private static void Widen(string dtype, ReadOnlySpan<byte> bytes, Span<float> values)
    {
        switch (dtype)
        {
            case "F32":
                for (var i = 0; i < values.Length; i++)
                {
                    values[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes[(i * 4)..]);
                }

                break;
            case "F16":
                // Every binary16 value (subnormals, infinities, NaN payload aside) is exactly a float32.
                for (var i = 0; i < values.Length; i++)
                {
                    values[i] = (float)BinaryPrimitives.ReadHalfLittleEndian(bytes[(i * 2)..]);
                }

                break;
            case "BF16":
                // bfloat16 is the high half of a float32: shifting its bits up is the exact widening.
                for (var i = 0; i < values.Length; i++)
                {
                    values[i] = BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(bytes[(i * 2)..]) << 16);
                }

                break;
            case "F64":
                for (var i = 0; i < values.Length; i++)
                {
                    values[i] = (float)BinaryPrimitives.ReadDoubleLittleEndian(bytes[(i * 8)..]);
                }

                break;
            default:
                throw new InvalidOperationException($"Unreachable: dtype {dtype} was checked to be a float.");
        }
    }

    private static void ReadExactly(SafeFileHandle handle, Span<byte> buffer, long offset, string path)
    {
        while (buffer.Length > 0)
        {
            var read = RandomAccess.Read(handle, buffer, offset);
            if (read == 0)
            {
                // The header was checked against the length at open, so only a file cut short since then gets here.
                throw new DiffusionException($"'{path}' ended early at byte {offset}: was it changed while being read?");
            }

            buffer = buffer[read..];
            offset += read;
        }
    }
}
