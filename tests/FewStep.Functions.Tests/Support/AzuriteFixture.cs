using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Azure.Storage.Blobs;
using FewStep.Tests;

namespace FewStep.Functions.Tests.Support;

/// <summary>All tests that talk to Azurite share one instance (tests in one collection run one after another).</summary>
[CollectionDefinition(Name)]
public sealed class AzuriteDefinition : ICollectionFixture<AzuriteFixture>
{
    public const string Name = "Azurite";
}

/// <summary>
/// Starts Azurite (the npm package pinned in the repository's package.json, installed by <c>npm ci</c>) in memory
/// on free loopback ports, and stops it, with any child processes, when the tests are done. Missing Azurite is a
/// failure, not a skip: CI installs it.
/// </summary>
public sealed class AzuriteFixture : IAsyncLifetime
{
    /// <summary>Azurite's well-known development account (public, the same on every machine).</summary>
    public const string AccountName = "devstoreaccount1";

    public const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private static readonly TimeSpan s_startTimeout = TimeSpan.FromSeconds(60);
    private const int StartAttempts = 3;

    private readonly StringBuilder _output = new();
    private readonly Lock _outputGate = new();
    private Process? _process;

    public int BlobPort { get; private set; }

    public int QueuePort { get; private set; }

    public int TablePort { get; private set; }

    public Uri BlobEndpoint => new($"http://127.0.0.1:{BlobPort}/{AccountName}");

    /// <summary>A connection string for the account with explicit endpoints on the chosen ports.</summary>
    public string ConnectionString =>
        $"DefaultEndpointsProtocol=http;AccountName={AccountName};AccountKey={AccountKey};" +
        $"BlobEndpoint=http://127.0.0.1:{BlobPort}/{AccountName};" +
        $"QueueEndpoint=http://127.0.0.1:{QueuePort}/{AccountName};" +
        $"TableEndpoint=http://127.0.0.1:{TablePort}/{AccountName};";

    public BlobServiceClient BlobServiceClient { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var azurite = FindAzurite();
        Exception? last = null;
        for (var attempt = 1; attempt <= StartAttempts; attempt++)
        {
            // Another process may take a port between our probe and Azurite's bind: then Azurite exits, and we
            // try again on new ports.
            try
            {
                await StartAsync(azurite).ConfigureAwait(false);
                BlobServiceClient = new BlobServiceClient(ConnectionString);
                return;
            }
            catch (AzuriteStartException e)
            {
                last = e;
                StopProcess();
            }
        }

        throw new InvalidOperationException($"Azurite did not start after {StartAttempts} attempts.", last);
    }

    public Task DisposeAsync()
    {
        StopProcess();
        return Task.CompletedTask;
    }

    /// <summary>A fresh, valid container name, so tests sharing the instance never see each other's blobs.</summary>
    public static string NewContainerName(string prefix = "t") => $"{prefix}-{Guid.NewGuid():N}";

    private async Task StartAsync(string azurite)
    {
        (BlobPort, QueuePort, TablePort) = FreePorts();
        lock (_outputGate)
        {
            _output.Clear();
        }

        var start = new ProcessStartInfo(azurite)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            WorkingDirectory = Path.GetTempPath(),
        };
        foreach (var argument in new[]
        {
            "--silent", "--inMemoryPersistence",
            "--blobHost", "127.0.0.1", "--queueHost", "127.0.0.1", "--tableHost", "127.0.0.1",
            "--blobPort", Invariant(BlobPort), "--queuePort", Invariant(QueuePort), "--tablePort", Invariant(TablePort),
            "--skipApiVersionCheck", "--loose",
        })
        {
            start.ArgumentList.Add(argument);
        }

        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) => Record(e.Data);
        process.ErrorDataReceived += (_, e) => Record(e.Data);
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            process.Dispose();
            throw new InvalidOperationException($"Could not run '{azurite}' ({e.Message}). Run 'npm ci' in the repository root.", e);
        }

        _process = process;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        await WaitForBlobEndpointAsync(process).ConfigureAwait(false);
    }

    private async Task WaitForBlobEndpointAsync(Process process)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < s_startTimeout)
        {
            if (process.HasExited)
            {
                throw new AzuriteStartException($"Azurite exited with code {process.ExitCode} while starting. Output:\n{Output()}");
            }

            try
            {
                // Any HTTP answer (403 for this unsigned request) means the blob service is listening.
                using var response = await http.GetAsync(new Uri(BlobEndpoint, "?comp=list")).ConfigureAwait(false);
                return;
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }

            await Task.Delay(100).ConfigureAwait(false);
        }

        throw new AzuriteStartException($"Azurite's blob endpoint {BlobEndpoint} did not answer within {s_startTimeout.TotalSeconds} s. Output:\n{Output()}");
    }

    private void StopProcess()
    {
        var process = Interlocked.Exchange(ref _process, null);
        if (process is null)
        {
            return;
        }

        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException)
        {
            // It exited between the check and the kill.
        }
        finally
        {
            process.Dispose();
        }
    }

    private void Record(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_outputGate)
        {
            if (_output.Length < 64 * 1024)
            {
                _output.AppendLine(line);
            }
        }
    }

    private string Output()
    {
        lock (_outputGate)
        {
            return _output.ToString();
        }
    }

    /// <summary><c>node_modules/.bin/azurite</c> of the repository (the folder holding FewStepFunctions.sln).</summary>
    private static string FindAzurite()
    {
        var root = RepositoryPaths.Root;
        var bin = Path.Combine(root, "node_modules", ".bin", OperatingSystem.IsWindows() ? "azurite.cmd" : "azurite");
        return File.Exists(bin)
            ? bin
            : throw new InvalidOperationException(
                $"Azurite is not installed: '{bin}' is missing. Run 'npm ci' in '{root}' (it installs the azurite version pinned in package-lock.json).");
    }

    // Three distinct free ports: all bound at once so none is handed out twice, then released for Azurite.
    private static (int Blob, int Queue, int Table) FreePorts()
    {
        var listeners = Enumerable.Range(0, 3).Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToArray();
        try
        {
            foreach (var listener in listeners)
            {
                listener.Start();
            }

            var ports = listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port).ToArray();
            return (ports[0], ports[1], ports[2]);
        }
        finally
        {
            foreach (var listener in listeners)
            {
                listener.Stop();
                listener.Dispose();
            }
        }
    }

    private static string Invariant(int value) => value.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private sealed class AzuriteStartException(string message) : Exception(message);
}
