namespace FewStep.Diffusion.Tokenization;

/// <summary>
/// A prompt as the text encoder receives it: <c>tokenizer(prompt, padding="max_length", truncation=True)</c>.
/// </summary>
/// <param name="Ids">
/// Exactly <see cref="ClipTokenizer.ModelMaxLength"/> ids: BOS, the first <c>ModelMaxLength - 2</c> content tokens,
/// EOS, then the pad id. (Record equality compares this array by reference.)
/// </param>
/// <param name="UntruncatedLength">Length of the ids before truncation and padding, BOS and EOS included.</param>
/// <param name="Truncated">Whether content tokens were cut to fit (diffusers warns about it).</param>
public sealed record TokenizedText(int[] Ids, int UntruncatedLength, bool Truncated);
