using System.Text;

namespace FewStep.Onnx.Models;

/// <summary>
/// A forward-only reader of the protobuf wire format (varints, fixed 32/64-bit and length-delimited fields) over a
/// stream, holding at most one small buffer: large fields are skipped by seeking, or by reading and discarding in
/// chunks when the stream cannot seek, so a 2 GB model with inline weights costs no more memory than a small one.
/// Every error is an <see cref="InvalidDataException"/> naming the source and the byte offset where it went wrong.
/// </summary>
/// <remarks>
/// Hand-written rather than Google.Protobuf's <c>CodedInputStream</c>: FewStep.Onnx does not reference Google.Protobuf
/// (no generated ONNX classes to keep in step with onnx.proto), and a generated parser would materialise every
/// <c>raw_data</c> field, while all that is wanted here is a handful of short strings.
/// </remarks>
internal sealed class ProtobufWireReader
{
    /// <summary>Protobuf's own default recursion limit: deeper nesting is refused instead of exhausting the stack.</summary>
    public const int MaxDepth = 100;

    public const int WireVarint = 0;
    public const int WireFixed64 = 1;
    public const int WireLengthDelimited = 2;
    public const int WireFixed32 = 5;

    private const int BufferSize = 64 * 1024;

    private static readonly UTF8Encoding s_strictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly Stream _stream;
    private readonly byte[] _buffer = new byte[BufferSize];
    private int _bufferOffset;
    private int _bufferCount;
    private long _position;

    /// <param name="stream">Read from its current position; a seekable stream is also bounded by its length up front.</param>
    /// <param name="sourceName">The file name (or a description of the stream) that error messages name.</param>
    public ProtobufWireReader(Stream stream, string sourceName)
    {
        _stream = stream;
        SourceName = sourceName;
        End = stream.CanSeek ? Math.Max(0, stream.Length - stream.Position) : long.MaxValue;
    }

    public string SourceName { get; }

    /// <summary>Bytes consumed since the reader was created: the offset that error messages report.</summary>
    public long Position => _position;

    /// <summary>The end of the top-level message: the stream's length when known, else <see cref="long.MaxValue"/> (read to end of stream).</summary>
    public long End { get; }

    /// <summary>
    /// Reads the next field's tag, or returns false where the message ending at <paramref name="end"/> is complete
    /// (for the top level of a non-seekable stream: at a clean end of stream, between fields).
    /// </summary>
    public bool TryReadTag(long end, out int field, out int wireType)
    {
        field = 0;
        wireType = 0;
        if (_position > end)
        {
            throw Malformed("a field that runs past the end of its enclosing message", end);
        }

        if (_position == end || (end == long.MaxValue && !EnsureBuffered(1)))
        {
            return false;
        }

        var start = _position;
        var tag = ReadVarint();
        if (tag > uint.MaxValue || (tag >> 3) == 0)
        {
            throw Malformed($"an invalid field tag {tag}", start);
        }

        field = (int)(tag >> 3);
        wireType = (int)(tag & 7);
        return true;
    }

    /// <summary>Reads a base-128 varint of at most ten bytes.</summary>
    public ulong ReadVarint()
    {
        var start = _position;
        ulong result = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if (!EnsureBuffered(1))
            {
                throw Malformed("a truncated varint", start);
            }

            var b = _buffer[_bufferOffset++];
            _position++;
            result |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                return result;
            }
        }

        throw Malformed("a varint longer than ten bytes", start);
    }

    /// <summary>Reads the length prefix of a length-delimited field and checks that the field fits before <paramref name="end"/>.</summary>
    public long ReadLength(long end)
    {
        var start = _position;
        var length = ReadVarint();
        if (length > (ulong)(end - _position))
        {
            var limit = end == End ? "the file" : "its enclosing message";
            throw Malformed($"a length of {length} bytes that runs past the end of {limit}", start);
        }

        return (long)length;
    }

    /// <summary>Skips a field's value of the given wire type; groups (unused by ONNX, deprecated in protobuf) are refused.</summary>
    public void SkipField(int wireType, long end)
    {
        var start = _position;
        switch (wireType)
        {
            case WireVarint:
                ReadVarint();
                break;
            case WireFixed64:
                Skip(CheckFits(8, end, start), start);
                break;
            case WireLengthDelimited:
                Skip(ReadLength(end), start);
                break;
            case WireFixed32:
                Skip(CheckFits(4, end, start), start);
                break;
            default:
                throw Malformed($"an unsupported wire type {wireType}", start);
        }
    }

    /// <summary>Skips <paramref name="count"/> bytes: from the buffer, then by seeking, or by reading and discarding in chunks.</summary>
    public void Skip(long count, long fieldStart)
    {
        var buffered = _bufferCount - _bufferOffset;
        if (count <= buffered)
        {
            _bufferOffset += (int)count;
            _position += count;
            return;
        }

        count -= buffered;
        _position += buffered;
        _bufferOffset = _bufferCount = 0;
        if (_stream.CanSeek)
        {
            // ReadLength has checked the field against the stream's length, so this never seeks past the end.
            _stream.Seek(count, SeekOrigin.Current);
            _position += count;
            return;
        }

        while (count > 0)
        {
            var read = _stream.Read(_buffer, 0, (int)Math.Min(count, _buffer.Length));
            if (read == 0)
            {
                throw Malformed("a field that runs past the end of the stream", fieldStart);
            }

            count -= read;
            _position += read;
        }
    }

    /// <summary>Reads <paramref name="length"/> bytes (at most the buffer's size) as strict UTF-8.</summary>
    public string ReadString(int length)
    {
        var start = _position;
        if (length > BufferSize || !EnsureBuffered(length))
        {
            throw Malformed("a truncated string", start);
        }

        try
        {
            return s_strictUtf8.GetString(_buffer, _bufferOffset, length);
        }
        catch (DecoderFallbackException)
        {
            throw Malformed("a string that is not valid UTF-8", start);
        }
        finally
        {
            _bufferOffset += length;
            _position += length;
        }
    }

    /// <summary>
    /// Reads a length-delimited string field (its length prefix, then the bytes) of at most
    /// <paramref name="maxBytes"/> bytes (and never more than the buffer holds); a longer one is refused as
    /// <paramref name="what"/>, since no name in an ONNX graph is that long.
    /// </summary>
    public string ReadStringField(long end, int maxBytes, string what)
    {
        var start = _position;
        var length = ReadLength(end);
        return length > Math.Min(maxBytes, BufferSize)
            ? throw Malformed($"{what} of {length} bytes, longer than the {Math.Min(maxBytes, BufferSize)} accepted", start)
            : ReadString((int)length);
    }

    /// <summary>Reads a little-endian fixed 32-bit value (protobuf's <c>fixed32</c>, <c>float</c>).</summary>
    public uint ReadFixed32(long end)
    {
        var start = _position;
        CheckFits(4, end, start);
        if (!EnsureBuffered(4))
        {
            throw Malformed("a truncated fixed32 value", start);
        }

        var value = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(_buffer.AsSpan(_bufferOffset, 4));
        _bufferOffset += 4;
        _position += 4;
        return value;
    }

    /// <summary>Whether the next <paramref name="length"/> bytes equal <paramref name="expected"/>; consumes them either way.</summary>
    public bool ReadAndCompare(long length, ReadOnlySpan<byte> expected)
    {
        if (length != expected.Length)
        {
            Skip(length, _position);
            return false;
        }

        var start = _position;
        if (!EnsureBuffered(expected.Length))
        {
            throw Malformed("a truncated string", start);
        }

        var equal = _buffer.AsSpan(_bufferOffset, expected.Length).SequenceEqual(expected);
        _bufferOffset += expected.Length;
        _position += expected.Length;
        return equal;
    }

    /// <summary>An error naming the source and the offset: what a caller shows when the model file is not valid protobuf.</summary>
    public InvalidDataException Malformed(string what, long offset) =>
        new($"'{SourceName}' is not a valid ONNX model: {what} at byte offset {offset}.");

    private long CheckFits(long count, long end, long start) =>
        count <= end - _position ? count : throw Malformed($"a {count}-byte field that runs past the end", start);

    /// <summary>Makes <paramref name="count"/> bytes (at most the buffer's size) contiguous in the buffer; false at end of stream.</summary>
    private bool EnsureBuffered(int count)
    {
        var available = _bufferCount - _bufferOffset;
        if (available >= count)
        {
            return true;
        }

        if (_bufferOffset > 0)
        {
            Buffer.BlockCopy(_buffer, _bufferOffset, _buffer, 0, available);
            _bufferOffset = 0;
            _bufferCount = available;
        }

        while (_bufferCount < count)
        {
            var read = _stream.Read(_buffer, _bufferCount, _buffer.Length - _bufferCount);
            if (read == 0)
            {
                return false;
            }

            _bufferCount += read;
        }

        return true;
    }
}
