using Microsoft.Extensions.Logging;

namespace FewStep.Functions.Tests.Support.Durable;

/// <summary>
/// Hands out loggers of another factory that drop everything below <see cref="LogLevel.Warning"/>. DurableTask.Core,
/// DurableTask.AzureStorage and the worker shims log every dispatch, lease and message at Information (thousands of
/// lines a test); their warnings and errors are what a failing test needs.
/// </summary>
public sealed class WarningLoggerFactory(ILoggerFactory inner) : ILoggerFactory
{
    private readonly ILoggerFactory _inner = inner ?? throw new ArgumentNullException(nameof(inner));

    public ILogger CreateLogger(string categoryName) => new WarningLogger(_inner.CreateLogger(categoryName));

    /// <summary>Adding providers belongs to the factory this one wraps.</summary>
    public void AddProvider(ILoggerProvider provider) =>
        throw new NotSupportedException($"Add providers to the wrapped factory, not to {nameof(WarningLoggerFactory)}.");

    /// <summary>The wrapped factory belongs to the caller.</summary>
    public void Dispose()
    {
    }

    private sealed class WarningLogger(ILogger inner) : ILogger
    {
        private readonly ILogger _inner = inner;

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => _inner.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning && _inner.IsEnabled(logLevel);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                _inner.Log(logLevel, eventId, state, exception, formatter);
            }
        }
    }
}
