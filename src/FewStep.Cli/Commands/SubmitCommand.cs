using System.Globalization;
using FewStep.Cli.Infrastructure;
using FewStep.Cli.Submit;
using Spectre.Console;
using Spectre.Console.Cli;

namespace FewStep.Cli.Commands;

/// <summary>
/// <c>fewstep submit JOB.json --endpoint URL</c>: posts each request to a FewStep Functions app, follows the
/// status URLs with a progress bar per generation and downloads the images when done.
/// </summary>
public sealed class SubmitCommand(CliContext cli) : AsyncCommand<SubmitSettings>
{
    private static readonly TimeSpan s_maxWait = TimeSpan.FromSeconds(30);

    public override async Task<int> ExecuteAsync(CommandContext context, SubmitSettings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var endpoint = settings.Endpoint ?? cli.Environment("FEWSTEP_ENDPOINT")
            ?? throw new UsageException("--endpoint is required (or set FEWSTEP_ENDPOINT).");
        if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var endpointUri))
        {
            throw new UsageException($"--endpoint must be an http(s) URL, not '{endpoint}'.");
        }

        var requests = JobFileReader.Read(settings.Job);
        var api = new ApiClient(cli.ApiHttp, endpointUri, settings.Key ?? cli.Environment("FEWSTEP_FUNCTIONS_KEY"));
        var interval = settings.PollInterval is { } seconds ? TimeSpan.FromSeconds(seconds) : cli.PollInterval;
        var jobs = new List<SubmittedGeneration>();
        for (var i = 0; i < requests.Count; i++)
        {
            var job = await api.SubmitAsync(requests[i], cancellationToken).ConfigureAwait(false);
            jobs.Add(job);
            cli.Console.MarkupLineInterpolated($"submitted request {i + 1}/{requests.Count}: [bold]{job.Id}[/]");
        }

        var final = new Dictionary<string, GenerationStatus>(StringComparer.Ordinal);
        await cli.Console.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .StartAsync(async ctx =>
            {
                var tasks = jobs.ToDictionary(j => j.Id, j => ctx.AddTask(Markup.Escape($"{j.Id} pending"), maxValue: 1), StringComparer.Ordinal);
                while (final.Count < jobs.Count)
                {
                    var wait = interval;
                    foreach (var job in jobs.Where(j => !final.ContainsKey(j.Id)))
                    {
                        var answer = await api.GetStatusAsync(job.StatusUrl, cancellationToken).ConfigureAwait(false);
                        var status = answer.Status;
                        var task = tasks[job.Id];
                        if (status.Progress is { Total: > 0 } progress)
                        {
                            task.MaxValue = progress.Total;
                            task.Value = Math.Min(progress.Completed, progress.Total);
                        }

                        task.Description = Markup.Escape($"{job.Id} {status.Status}");
                        if (status.IsTerminal)
                        {
                            final[job.Id] = status;
                            if (status.Succeeded)
                            {
                                task.Value = task.MaxValue;
                            }

                            task.StopTask();
                        }

                        if (answer.RetryAfter is { } after && after > wait)
                        {
                            wait = after < s_maxWait ? after : s_maxWait;
                        }
                    }

                    if (final.Count < jobs.Count)
                    {
                        await Task.Delay(wait, cancellationToken).ConfigureAwait(false);
                    }
                }
            }).ConfigureAwait(false);

        var failures = new List<string>();
        foreach (var job in jobs)
        {
            var status = final[job.Id];
            if (!status.Succeeded)
            {
                var reason = status.Error?.Message ?? status.Status;
                failures.Add($"{job.Id} {status.Status}: {reason}");
                cli.Console.MarkupLineInterpolated($"[red]{job.Id} {status.Status}:[/] {reason}");
                continue;
            }

            var folder = Path.GetFullPath(Path.Combine(settings.Out, SafeName(job.Id)));
            foreach (var image in status.Images.OrderBy(i => i.PromptIndex).ThenBy(i => i.ImageIndex))
            {
                if (image.Url is not { Length: > 0 } url)
                {
                    throw new ApiException($"Generation {job.Id} lists image {image.PromptIndex}-{image.ImageIndex} without a url.");
                }

                var path = Path.Combine(folder, string.Create(CultureInfo.InvariantCulture, $"{image.PromptIndex}-{image.ImageIndex}.png"));
                await api.DownloadAsync(api.Resolve(url), path, cancellationToken).ConfigureAwait(false);
                await cli.Out.WriteLineAsync(path).ConfigureAwait(false);
            }

            cli.Console.MarkupLineInterpolated($"{job.Id} succeeded: {status.Images.Count} image(s) in {folder}");
        }

        return failures.Count == 0
            ? 0
            : throw new CliException($"{failures.Count} of {jobs.Count} generation(s) did not succeed: {string.Join("; ", failures)}");
    }

    private static string SafeName(string id)
    {
        var invalid = Path.GetInvalidFileNameChars();
        var name = new string(id.Select(c => invalid.Contains(c) || c == '.' && id.Length <= 2 ? '_' : c).ToArray());
        return name.Length == 0 ? "generation" : name;
    }
}
