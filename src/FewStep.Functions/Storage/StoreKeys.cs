namespace FewStep.Functions.Storage;

/// <summary>Service keys of the two <see cref="IImageStore"/>s: generations' images and jobs' results.</summary>
public static class StoreKeys
{
    public const string Images = "images";
    public const string Results = "results";
}
