namespace FewStep.Diffusion.Tokenization;

/// <summary>
/// A prompt as the T5 text encoder receives it: <c>tokenizer(text, padding="max_length", max_length=N,
/// truncation=True, add_special_tokens=True)</c>.
/// </summary>
/// <param name="Ids">Exactly <see cref="T5Tokenizer.ModelMaxLength"/> ids: the pieces, <c>&lt;/s&gt;</c>, then <c>&lt;pad&gt;</c>.</param>
/// <param name="AttentionMask">1 for the pieces and <c>&lt;/s&gt;</c>, 0 for the padding.</param>
/// <param name="UntruncatedLength">Length of the ids before truncation and padding, <c>&lt;/s&gt;</c> included.</param>
/// <param name="Truncated">Whether pieces were cut to fit (diffusers warns about it).</param>
public sealed record T5TokenizedText(int[] Ids, int[] AttentionMask, int UntruncatedLength, bool Truncated);
