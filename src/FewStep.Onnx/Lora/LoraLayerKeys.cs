namespace FewStep.Onnx.Lora;

/// <summary>
/// The keys of one layer gathered from a file (down, up, optional alpha), then checked and read into a
/// <see cref="LoraLayer"/>. Shapes are checked from the header before any data is read.
/// </summary>
internal sealed class LoraLayerKeys(string component, string modulePath)
{
    private ParsedLoraKey? _down;
    private ParsedLoraKey? _up;
    private ParsedLoraKey? _alpha;

    public void Add(ParsedLoraKey key, string path)
    {
        ref var slot = ref _down;
        if (key.Role == LoraKeyRole.Up)
        {
            slot = ref _up;
        }
        else if (key.Role == LoraKeyRole.Alpha)
        {
            slot = ref _alpha;
        }

        if (slot is not null)
        {
            // Two keys for one layer (kohya and PEFT, or lora_A and lora.down) would be summed by no loader in the same
            // way; which one the author meant cannot be told.
            throw LoraErrors.Key(path, key.Key,
                $"gives the {key.Role.ToString().ToLowerInvariant()} of {component} layer '{modulePath}' a second time (also key '{slot.Key}')");
        }

        slot = key;
    }

    public LoraLayer Read(SafetensorsFile file)
    {
        var path = file.Path;
        var down = _down ?? throw Missing(path, _up ?? _alpha!, "down", "lora_down / lora_A / lora.down");
        var up = _up ?? throw Missing(path, down, "up", "lora_up / lora_B / lora.up");
        var downShape = Info(file, down).Shape;
        var upShape = Info(file, up).Shape;
        CheckShapes(path, down.Key, downShape, up.Key, upShape);

        float? alpha = null;
        if (_alpha is { } alphaKey)
        {
            var alphaShape = Info(file, alphaKey).Shape;
            if (alphaShape.Count != 0)
            {
                throw LoraErrors.Key(path, alphaKey.Key, $"is an alpha of shape [{string.Join(", ", alphaShape)}], not a scalar (shape [])");
            }

            alpha = file.ReadFloat32(alphaKey.Key).Data[0];
            if (!float.IsFinite(alpha.Value))
            {
                throw LoraErrors.Key(path, alphaKey.Key, $"is an alpha of {alpha.Value}, not a finite number");
            }
        }

        return new LoraLayer(component, modulePath, file.ReadFloat32(down.Key), file.ReadFloat32(up.Key), alpha);
    }

    private static void CheckShapes(string path, string downKey, IReadOnlyList<int> down, string upKey, IReadOnlyList<int> up)
    {
        if (down.Count is not (2 or 4))
        {
            throw LoraErrors.Key(path, downKey,
                $"is a down matrix of shape [{string.Join(", ", down)}]; a LoRA's down is [rank, in] (Linear) or [rank, in, kh, kw] (Conv)");
        }

        if (down.Contains(0))
        {
            throw LoraErrors.Key(path, downKey, $"is an empty down matrix (shape [{string.Join(", ", down)}])");
        }

        var rank = down[0];
        var expected = down.Count == 2 ? $"[out, {rank}]" : $"[out, {rank}, 1, 1]";
        var fits = up.Count == down.Count && up[0] > 0 && up[1] == rank && (up.Count == 2 || (up[2] == 1 && up[3] == 1));
        if (!fits)
        {
            var why = up.Count >= 2 && up[1] != rank && up.Count == down.Count
                ? $"its rank {up[1]} is not the down matrix's {rank} (key '{downKey}')"
                : $"a down of shape [{string.Join(", ", down)}] (key '{downKey}') needs an up of {expected}";
            throw LoraErrors.Key(path, upKey, $"is an up matrix of shape [{string.Join(", ", up)}]: {why}");
        }
    }

    private static SafetensorsTensorInfo Info(SafetensorsFile file, ParsedLoraKey key)
    {
        if (!file.TryGetInfo(key.Key, out var info))
        {
            throw new InvalidOperationException($"Unreachable: '{key.Key}' came from the header.");
        }

        return SafetensorsDTypes.IsReadableAsFloat32(info.DType)
            ? info
            : throw LoraErrors.Key(file.Path, key.Key, $"is {info.DType}; a LoRA weight must be F32, F16, BF16 or F64");
    }

    private Diffusion.DiffusionException Missing(string path, ParsedLoraKey present, string role, string forms) =>
        LoraErrors.Key(path, present.Key, $"belongs to {component} layer '{modulePath}', which has no {role} matrix ({forms})");
}
