using System.Globalization;
using YamlDotNet.RepresentationModel;

namespace Platform.DaprSidecar.Testing;

/// <summary>Reads a Dapr <c>Resiliency</c> resource: the policies its component targets name, as daprd resolves them.</summary>
public sealed class ResiliencyFile
{
    private readonly YamlMappingNode _spec;

    private ResiliencyFile(YamlMappingNode spec) => _spec = spec;

    public static ResiliencyFile Load(string path)
    {
        var stream = new YamlStream();
        using (var reader = File.OpenText(path)) stream.Load(reader);
        var root = (YamlMappingNode)stream.Documents[0].RootNode;
        return new ResiliencyFile((YamlMappingNode)root.Children[new YamlScalarNode("spec")]);
    }

    /// <summary>Names of every retry policy defined.</summary>
    public IReadOnlyList<string> RetryPolicies => Policies("retries").Select(p => p.Key).ToList();

    /// <summary>The policy name a component target uses for <paramref name="kind"/> (<c>retry</c>, <c>timeout</c>, <c>circuitBreaker</c>) in
    /// <paramref name="direction"/> (<c>inbound</c>, <c>outbound</c>); null when the target names none.</summary>
    public string? ComponentPolicy(string component, string direction, string kind)
    {
        if (Child(_spec, "targets") is not YamlMappingNode targets || Child(targets, "components") is not YamlMappingNode components) return null;
        if (Child(components, component) is not YamlMappingNode target || Child(target, direction) is not YamlMappingNode dir) return null;
        return (Child(dir, kind) as YamlScalarNode)?.Value;
    }

    /// <summary>The inbound delivery policy of <paramref name="pubsub"/> as the faithful sidecar applies it.</summary>
    public DeliveryPolicy Delivery(string pubsub)
    {
        var retryName = ComponentPolicy(pubsub, "inbound", "retry") ?? throw new InvalidOperationException($"{pubsub} has no inbound retry policy.");
        var retry = Policies("retries").Single(p => p.Key == retryName).Value;
        var timeoutName = ComponentPolicy(pubsub, "inbound", "timeout");
        var timeout = timeoutName is null ? TimeSpan.FromSeconds(30) : Duration(Policies("timeouts").Single(p => p.Key == timeoutName).Value.ToString());
        return new DeliveryPolicy(
            int.Parse(Scalar(retry, "maxRetries") ?? "-1", CultureInfo.InvariantCulture),
            Duration(Scalar(retry, "duration") ?? "5s"),
            Duration(Scalar(retry, "maxInterval") ?? "60s"),
            timeout);
    }

    private IEnumerable<KeyValuePair<string, YamlNode>> Policies(string kind) =>
        Child(_spec, "policies") is YamlMappingNode policies && Child(policies, kind) is YamlMappingNode map
            ? map.Children.Select(c => KeyValuePair.Create(((YamlScalarNode)c.Key).Value!, c.Value))
            : [];

    private static YamlNode? Child(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var value) ? value : null;

    private static string? Scalar(YamlNode node, string key) => node is YamlMappingNode m ? (Child(m, key) as YamlScalarNode)?.Value : null;

    /// <summary>Go durations as Dapr writes them: <c>100ms</c>, <c>5s</c>, <c>1m</c>.</summary>
    public static TimeSpan Duration(string text)
    {
        if (text.EndsWith("ms", StringComparison.Ordinal)) return TimeSpan.FromMilliseconds(double.Parse(text[..^2], CultureInfo.InvariantCulture));
        if (text.EndsWith('s')) return TimeSpan.FromSeconds(double.Parse(text[..^1], CultureInfo.InvariantCulture));
        if (text.EndsWith('m')) return TimeSpan.FromMinutes(double.Parse(text[..^1], CultureInfo.InvariantCulture));
        if (text.EndsWith('h')) return TimeSpan.FromHours(double.Parse(text[..^1], CultureInfo.InvariantCulture));
        throw new FormatException($"'{text}' is not a duration Dapr accepts here.");
    }
}
