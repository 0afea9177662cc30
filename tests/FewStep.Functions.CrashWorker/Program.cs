using System.Globalization;
using FewStep.Functions;
using FewStep.Functions.Rendering;
using FewStep.Functions.Storage;
using FewStep.Functions.Tests.Support;
using FewStep.Functions.Tests.Support.Durable;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

// Usage: FewStep.Functions.CrashWorker <task hub> <work-item visibility> <control-queue visibility>
// The app's settings come from the environment (FewStep__*, Onnx__*, AzureWebJobsStorage), as under the host.
if (args.Length != 3)
{
    Console.Error.WriteLine("usage: FewStep.Functions.CrashWorker <task hub> <work-item visibility> <control-queue visibility>");
    return 2;
}

var configuration = new ConfigurationBuilder().AddEnvironmentVariables().Build();
var connection = configuration[StorageClientFactory.SettingName] ?? throw new InvalidOperationException("AzureWebJobsStorage is not set.");
await using var services = new ServiceCollection()
    .AddLogging(logging => logging.SetMinimumLevel(LogLevel.Warning))
    .AddSingleton<IImageRenderer>(new HangingRenderer())
    .AddFewStep(configuration)
    .BuildServiceProvider();
await using var host = await AzureStorageDurableHost.StartAsync(connection, args[0], registrar => AppTasks.Register(registrar, services, CancellationToken.None), new AzureStorageDurableHostOptions
{
    WorkItemQueueVisibilityTimeout = TimeSpan.Parse(args[1], CultureInfo.InvariantCulture),
    ControlQueueVisibilityTimeout = TimeSpan.Parse(args[2], CultureInfo.InvariantCulture),
});
Console.WriteLine("READY");
await Task.Delay(Timeout.Infinite);
return 0;

/// <summary>A GPU that takes a batch and never gives it back: the process is killed while it holds it.</summary>
internal sealed class HangingRenderer : IImageRenderer
{
    public async Task<IReadOnlyList<RenderedImage>> RenderAsync(RenderJob job, CancellationToken cancellationToken)
    {
        Console.WriteLine($"RENDERING {job.Items[0].Prompt} {job.Items[0].ImageIndex}");
        await Task.Delay(Timeout.Infinite, cancellationToken);
        return [];
    }
}
