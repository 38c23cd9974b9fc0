using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.Serialization;

namespace Platform.Deployment.Tests.Infrastructure;

/// <summary>YAML documents as plain maps, lists and strings, with path lookups for assertions.</summary>
public static class Yaml
{
    private static readonly IDeserializer Deserializer = new DeserializerBuilder().Build();

    public static IReadOnlyList<Dictionary<object, object?>> LoadAll(string text)
    {
        var parser = new Parser(new StringReader(text));
        parser.Consume<StreamStart>();
        var documents = new List<Dictionary<object, object?>>();
        while (parser.Accept<DocumentStart>(out _))
        {
            if (Deserializer.Deserialize<object?>(parser) is Dictionary<object, object?> document)
            {
                documents.Add(document);
            }
        }

        return documents;
    }

    public static Dictionary<object, object?> LoadFile(string path) => LoadAll(File.ReadAllText(path)).Single();

    /// <summary>Follows a path of map keys and list indexes ("spec", "ports", 0, "port"); null when absent.</summary>
    public static object? At(this object? node, params object[] path)
    {
        foreach (var step in path)
        {
            node = (node, step) switch
            {
                (Dictionary<object, object?> map, string key) => map.GetValueOrDefault(key),
                (List<object?> list, int index) when index < list.Count => list[index],
                _ => null,
            };
        }

        return node;
    }

    public static string? Text(this object? node, params object[] path) => node.At(path) as string;

    public static IEnumerable<object?> Items(this object? node, params object[] path) =>
        node.At(path) as List<object?> ?? [];

    public static string Kind(this Dictionary<object, object?> resource) => resource.Text("kind") ?? "";

    public static string Name(this Dictionary<object, object?> resource) => resource.Text("metadata", "name") ?? "";
}
