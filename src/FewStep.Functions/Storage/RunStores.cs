using FewStep.Functions.Orchestration;
using Microsoft.Extensions.DependencyInjection;

namespace FewStep.Functions.Storage;

/// <summary>The container of each kind of run: generations' images, and jobs' results.</summary>
public sealed class RunStores
{
    public RunStores([FromKeyedServices(StoreKeys.Images)] IImageStore images, [FromKeyedServices(StoreKeys.Results)] IImageStore results)
    {
        Images = images;
        Results = results;
    }

    public IImageStore Images { get; }

    public IImageStore Results { get; }

    public IImageStore For(RunKind kind) => kind == RunKind.Job ? Results : Images;
}
