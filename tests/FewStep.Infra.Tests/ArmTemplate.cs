using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace FewStep.Infra.Tests;

/// <summary>
/// The ARM JSON that <c>bicep build</c> writes, with the modules' nested deployments walked: every resource with the
/// template it sits in and the deployment that passes that template its parameters.
/// </summary>
internal sealed partial class ArmTemplate
{
    public ArmTemplate(string json)
    {
        Json = json;
        Root = JsonNode.Parse(json)?.AsObject() ?? throw new InvalidOperationException("The compiled template is empty.");
        Templates = [];
        Resources = [];
        Walk(Root, deployment: null);
    }

    public string Json { get; }

    public JsonObject Root { get; }

    /// <summary>The main template and every module's template.</summary>
    public List<JsonObject> Templates { get; }

    public List<ArmResource> Resources { get; }

    public IEnumerable<ArmResource> OfType(string type) =>
        Resources.Where(r => string.Equals(r.Type, type, StringComparison.OrdinalIgnoreCase));

    public ArmResource Single(string type)
    {
        var matches = OfType(type).ToList();
        Assert.True(matches.Count == 1, $"expected one {type}, found {matches.Count}");
        return matches[0];
    }

    private void Walk(JsonObject template, ArmResource? deployment)
    {
        Templates.Add(template);
        IEnumerable<JsonNode?> resources = template["resources"] switch
        {
            JsonArray array => array,
            JsonObject symbolic => symbolic.Select(p => p.Value),   // languageVersion 2.0: resources by symbolic name
            _ => [],
        };
        foreach (var node in resources.OfType<JsonObject>())
        {
            var resource = new ArmResource(node, template, deployment);
            Resources.Add(resource);
            if (resource.Type == "Microsoft.Resources/deployments" && node["properties"]?["template"] is JsonObject nested)
            {
                Walk(nested, resource);
            }
        }
    }

    [GeneratedRegex(@"^\[parameters\('(?<name>[^']+)'\)\]$")]
    internal static partial Regex ParameterReference();

    [GeneratedRegex(@"^\[variables\('(?<name>[^']+)'\)\]$")]
    internal static partial Regex VariableReference();
}

internal sealed record ArmResource(JsonObject Node, JsonObject Template, ArmResource? Deployment)
{
    public string Type => Node["type"]?.GetValue<string>() ?? string.Empty;

    public JsonNode? Properties => Node["properties"];

    public JsonNode? this[string path] => path.Split('.').Aggregate<string, JsonNode?>(Node, (n, part) => n?[part]);

    /// <summary>
    /// A value as deployed: a variable reference (<c>[variables('x')]</c>) becomes the variable's value, a module parameter reference (<c>[parameters('x')]</c>) becomes what the calling
    /// deployment passes, or the parameter's default; anything else is returned as written.
    /// </summary>
    public string? Resolve(JsonNode? value)
    {
        var text = value?.ToString();
        if (text is not null && ArmTemplate.VariableReference().Match(text) is { Success: true } variable
            && Template["variables"]?[variable.Groups["name"].Value] is { } variableValue)
        {
            return Resolve(variableValue);
        }

        if (text is null || ArmTemplate.ParameterReference().Match(text) is not { Success: true } match)
        {
            return text;
        }

        var name = match.Groups["name"].Value;
        var passed = Deployment?.Node["properties"]?["parameters"]?[name]?["value"];
        return (passed ?? Template["parameters"]?[name]?["defaultValue"])?.ToString() ?? text;
    }
}
