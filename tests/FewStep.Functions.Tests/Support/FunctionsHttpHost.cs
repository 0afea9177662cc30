using System.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Abstractions;
using Microsoft.AspNetCore.Routing;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace FewStep.Functions.Tests.Support;

/// <summary>
/// The app's HTTP functions behind a real ASP.NET Core pipeline on Kestrel (127.0.0.1, a free port), mapped as the
/// Functions host maps them: every <c>[Function]</c> method with an <c>[HttpTrigger]</c> of the given classes at
/// <c>/api/{Route}</c> for its methods, the <see cref="HttpRequest"/>, the durable client and route values bound to
/// its parameters, and the <see cref="IActionResult"/> it returns executed against the live response — so headers
/// set after the body has started are lost here exactly as they are under the host. Function keys are not checked
/// (as with <c>func start</c>) unless keys are given: then a function-level route answers 401 with no body, as the
/// host does, to a request without one of them in <c>x-functions-key</c> or <c>?code=</c> (the only places the host
/// reads a key from).
/// </summary>
internal sealed class FunctionsHttpHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private FunctionsHttpHost(WebApplication app, Uri baseAddress)
    {
        _app = app;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }

    /// <summary>The routes mapped, as "METHOD /api/route".</summary>
    public IReadOnlyList<string> Routes { get; private init; } = [];

    public static Task<FunctionsHttpHost> StartAsync(IServiceProvider appServices, DurableTaskClient client, params Type[] functionClasses) =>
        StartAsync(appServices, client, null, functionClasses);

    public static async Task<FunctionsHttpHost> StartAsync(IServiceProvider appServices, DurableTaskClient client, IReadOnlyCollection<string>? functionKeys, params Type[] functionClasses)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        builder.Services.AddRouting();
        var app = builder.Build();
        var routes = new List<string>();
        foreach (var type in functionClasses)
        {
            foreach (var method in type.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static))
            {
                if (method.GetCustomAttribute<FunctionAttribute>() is null)
                {
                    continue;
                }

                var trigger = method.GetParameters().Select(p => p.GetCustomAttribute<HttpTriggerAttribute>()).SingleOrDefault(a => a is not null);
                if (trigger is null)
                {
                    continue;
                }

                var pattern = "/api/" + trigger.Route;
                var verbs = trigger.Methods!.Select(m => m.ToUpperInvariant()).ToArray();
                routes.AddRange(verbs.Select(v => $"{v} {pattern}"));
                var keyed = functionKeys is not null && trigger.AuthLevel != AuthorizationLevel.Anonymous;
                app.MapMethods(pattern, verbs, context => keyed && !HasKey(context.Request, functionKeys!)
                    ? Unauthorized(context)
                    : InvokeAsync(context, appServices, client, type, method));
            }
        }

        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new FunctionsHttpHost(app, new Uri(address.EndsWith('/') ? address : address + "/")) { Routes = routes };
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private static bool HasKey(HttpRequest request, IReadOnlyCollection<string> keys)
    {
        var key = request.Headers.TryGetValue("x-functions-key", out var header) ? header.ToString()
            : request.Query.TryGetValue("code", out var code) ? code.ToString() : null;
        return key is not null && keys.Contains(key, StringComparer.Ordinal);
    }

    private static Task Unauthorized(HttpContext context)
    {
        context.Response.StatusCode = StatusCodes.Status401Unauthorized;
        return Task.CompletedTask;
    }

    private static async Task InvokeAsync(HttpContext context, IServiceProvider appServices, DurableTaskClient client, Type type, MethodInfo method)
    {
        using var scope = appServices.CreateScope();
        var instance = method.IsStatic ? null : ActivatorUtilities.GetServiceOrCreateInstance(scope.ServiceProvider, type);
        var arguments = method.GetParameters().Select(parameter => parameter.ParameterType switch
        {
            var t when t == typeof(HttpRequest) => context.Request,
            var t when t == typeof(DurableTaskClient) => client,
            var t when t == typeof(CancellationToken) => context.RequestAborted,
            var t when t == typeof(string) => context.Request.RouteValues.TryGetValue(parameter.Name!, out var value) ? value?.ToString() : null,
            var t => (object?)(t.IsValueType ? Activator.CreateInstance(t) : null),
        }).ToArray();

        var result = await (Task<IActionResult>)method.Invoke(instance, arguments)!;
        await result.ExecuteResultAsync(new ActionContext(context, context.GetRouteData(), new ActionDescriptor()));
    }
}
