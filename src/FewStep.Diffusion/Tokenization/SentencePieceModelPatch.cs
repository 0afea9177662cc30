namespace FewStep.Diffusion.Tokenization;

/// <summary>
/// Rewrites one field of a SentencePiece <c>ModelProto</c> so that Microsoft.ML.Tokenizers 2.0.1 can load T5's
/// <c>spiece.model</c>.
/// </summary>
/// <remarks>
/// T5 models are trained with <c>trainer_spec.bos_id = -1</c> (no BOS piece). <c>SentencePieceTokenizer.Create</c>
/// indexes the piece table with that id and throws <see cref="IndexOutOfRangeException"/>. FewStep never asks the
/// library to add a BOS (T5 has none), so the id is replaced by a valid one (the unknown piece's) before loading.
/// The rewrite is the protobuf wire format by hand: <c>ModelProto</c> field 2 is <c>trainer_spec</c> (a
/// length-delimited message) and <c>TrainerSpec</c> field 41 is <c>bos_id</c> (int32 varint). Everything else is
/// copied byte for byte.
/// </remarks>
internal static class SentencePieceModelPatch
{
    private const int TrainerSpecField = 2;
    private const int BosIdField = 41;
    private const int UnkIdField = 40;
    private const int VarintWireType = 0;
    private const int Fixed64WireType = 1;
    private const int LengthDelimitedWireType = 2;
    private const int Fixed32WireType = 5;

    /// <summary>The model with a negative <c>bos_id</c> replaced by <c>unk_id</c> (default 0); unchanged otherwise.</summary>
    public static byte[] WithValidBosId(byte[] model, string path)
    {
        ArgumentNullException.ThrowIfNull(model);
        try
        {
            var output = new List<byte>(model.Length + 16);
            var position = 0;
            while (position < model.Length)
            {
                var start = position;
                var key = ReadVarint(model, ref position);
                var field = (int)(key >> 3);
                var wireType = (int)(key & 7);
                if (field == TrainerSpecField && wireType == LengthDelimitedWireType)
                {
                    var length = checked((int)ReadVarint(model, ref position));
                    var trainerSpec = PatchTrainerSpec(model.AsSpan(position, length));
                    position += length;
                    WriteVarint(output, key);
                    WriteVarint(output, (ulong)trainerSpec.Count);
                    output.AddRange(trainerSpec);
                    continue;
                }

                Skip(model, ref position, wireType);
                output.AddRange(model.AsSpan(start, position - start));
            }

            return [.. output];
        }
        catch (Exception e) when (e is IndexOutOfRangeException or ArgumentOutOfRangeException or OverflowException or InvalidDataException)
        {
            throw new DiffusionException($"'{path}' is not a SentencePiece model (malformed protobuf): {e.Message}", e);
        }
    }

    private static List<byte> PatchTrainerSpec(ReadOnlySpan<byte> spec)
    {
        var bytes = spec.ToArray();
        long? bosId = null;
        long unkId = 0;
        var position = 0;
        while (position < bytes.Length)
        {
            var key = ReadVarint(bytes, ref position);
            var field = (int)(key >> 3);
            var wireType = (int)(key & 7);
            if (wireType == VarintWireType && field is BosIdField or UnkIdField)
            {
                var value = (long)ReadVarint(bytes, ref position);
                if (field == BosIdField)
                {
                    bosId = value;
                }
                else
                {
                    unkId = value;
                }

                continue;
            }

            Skip(bytes, ref position, wireType);
        }

        // int32 -1 is written as a 10-byte varint whose 64-bit value is negative. Absent means the default, 1.
        if (bosId is not { } bos || (int)bos >= 0)
        {
            return [.. bytes];
        }

        var output = new List<byte>(bytes.Length);
        position = 0;
        while (position < bytes.Length)
        {
            var start = position;
            var key = ReadVarint(bytes, ref position);
            var field = (int)(key >> 3);
            var wireType = (int)(key & 7);
            Skip(bytes, ref position, wireType);
            if (field == BosIdField && wireType == VarintWireType)
            {
                WriteVarint(output, key);
                WriteVarint(output, (ulong)Math.Max(0, unkId));
                continue;
            }

            output.AddRange(bytes.AsSpan(start, position - start));
        }

        return output;
    }

    private static void Skip(byte[] bytes, ref int position, int wireType)
    {
        switch (wireType)
        {
            case VarintWireType:
                ReadVarint(bytes, ref position);
                break;
            case Fixed64WireType:
                position += 8;
                break;
            case LengthDelimitedWireType:
                var length = checked((int)ReadVarint(bytes, ref position));
                position += length;
                break;
            case Fixed32WireType:
                position += 4;
                break;
            default:
                throw new InvalidDataException($"unsupported wire type {wireType}");
        }

        if (position > bytes.Length)
        {
            throw new InvalidDataException("a field runs past the end of the file");
        }
    }

    private static ulong ReadVarint(byte[] bytes, ref int position)
    {
        ulong value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            var b = bytes[position++];
            value |= (ulong)(b & 0x7f) << shift;
            if ((b & 0x80) == 0)
            {
                return value;
            }
        }

        throw new InvalidDataException("a varint is longer than 10 bytes");
    }

    private static void WriteVarint(List<byte> output, ulong value)
    {
        while (value >= 0x80)
        {
            output.Add((byte)(value | 0x80));
            value >>= 7;
        }

        output.Add((byte)value);
    }
}
