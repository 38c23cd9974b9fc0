using Platform.Deployment.Tests.Infrastructure;

namespace Platform.Deployment.Tests.Manifests;

/// <summary>Every Kustomize build the repository ships, rendered once for the manifest tests.</summary>
public sealed class RenderedManifests : IDisposable
{
    public RenderedManifests()
    {
        Directory.CreateDirectory(OutputDirectory);
        foreach (var build in Builds)
        {
            var yaml = Tool.Kustomize(Repository.PathOf(build.Split('/')));
            var file = Path.Combine(OutputDirectory, build.Replace('/', '_') + ".yaml");
            File.WriteAllText(file, yaml);
            Files[build] = file;
            Resources[build] = Yaml.LoadAll(yaml);
        }
    }

    public static readonly string[] Builds =
    [
        .. Repository.Environments.Select(e => $"gitops/envs/{e}"),
        .. Repository.Environments.Select(e => $"gitops/argocd/envs/{e}"),
        "gitops/cluster",
    ];

    public string OutputDirectory { get; } = Directory.CreateTempSubdirectory("rendered-").FullName;

    public Dictionary<string, string> Files { get; } = [];

    public Dictionary<string, IReadOnlyList<Dictionary<object, object?>>> Resources { get; } = [];

    public IReadOnlyList<Dictionary<object, object?>> Platform(string environment) => Resources[$"gitops/envs/{environment}"];

    public void Dispose() => Directory.Delete(OutputDirectory, recursive: true);
}
