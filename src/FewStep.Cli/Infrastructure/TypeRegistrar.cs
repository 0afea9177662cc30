using System.Reflection;
using Spectre.Console.Cli;

namespace FewStep.Cli.Infrastructure;

/// <summary>
/// The smallest container Spectre.Console.Cli needs: registered instances and factories (several per service,
/// resolved one at a time or as <c>IEnumerable&lt;T&gt;</c>), and constructor injection of those into commands.
/// </summary>
internal sealed class TypeRegistrar : ITypeRegistrar
{
    private readonly Dictionary<Type, List<Func<object>>> _factories = [];

    public void Register(Type service, Type implementation) => Add(service, () => Create(implementation)!);

    public void RegisterInstance(Type service, object implementation) => Add(service, () => implementation);

    public void RegisterLazy(Type service, Func<object> factory)
    {
        var lazy = new Lazy<object>(factory);
        Add(service, () => lazy.Value);
    }

    public ITypeResolver Build() => new Resolver(this);

    private void Add(Type service, Func<object> factory)
    {
        if (!_factories.TryGetValue(service, out var list))
        {
            _factories[service] = list = [];
        }

        list.Add(factory);
    }

    private bool CanResolve(Type type) =>
        _factories.ContainsKey(type) || (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(IEnumerable<>));

    private object? Resolve(Type type)
    {
        if (_factories.TryGetValue(type, out var list))
        {
            return list[^1]();
        }

        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(IEnumerable<>))
        {
            var element = type.GetGenericArguments()[0];
            var factories = _factories.TryGetValue(element, out var all) ? all : [];
            var array = Array.CreateInstance(element, factories.Count);
            for (var i = 0; i < factories.Count; i++)
            {
                array.SetValue(factories[i](), i);
            }

            return array;
        }

        return type.IsAbstract || type.IsInterface ? null : Create(type);
    }

    private object? Create(Type type)
    {
        var constructor = type.GetConstructors(BindingFlags.Public | BindingFlags.Instance)
            .OrderByDescending(c => c.GetParameters().Length)
            .FirstOrDefault(c => c.GetParameters().All(p => CanResolve(p.ParameterType)));
        return constructor?.Invoke(constructor.GetParameters().Select(p => Resolve(p.ParameterType)).ToArray());
    }

    private sealed class Resolver(TypeRegistrar registrar) : ITypeResolver
    {
        public object? Resolve(Type? type) => type is null ? null : registrar.Resolve(type);
    }
}
