using System.Text.RegularExpressions;
using Platform.Deployment.Tests.Infrastructure;

namespace Platform.Deployment.Tests.Topology;

/// <summary>One place a file states an app id's port.</summary>
public sealed record PortClaim(string File, string What, string AppId, int? Port);

/// <summary>
/// Reads the app ids and ports stated by dapr.yaml, tye.yaml, the gitops bases and the image build (services/docker-bake.json) under a
/// repository root and compares every claim with <see cref="AppTopology"/>.
/// </summary>
public static partial class TopologyCheck
{
    public static IReadOnlyList<string> Mismatches(string root)
    {
        var claims = Claims(root).ToList();
        var problems = new List<string>();
        foreach (var claim in claims)
        {
            var expected = AppTopology.All.FirstOrDefault(a => a.AppId == claim.AppId);
            if (expected is null)
            {
                problems.Add($"{claim.File} ({claim.What}): unknown app id '{claim.AppId}'");
            }
            else if (claim.Port != expected.Port)
            {
                problems.Add($"{claim.File} ({claim.What}): {claim.AppId} has port {claim.Port?.ToString() ?? "none"}, expected {expected.Port}");
            }
        }

        foreach (var file in claims.Select(c => c.File).Distinct().Where(f => !f.StartsWith("gitops/")))
        {
            foreach (var missing in AppTopology.All.Select(a => a.AppId).Except(claims.Where(c => c.File == file).Select(c => c.AppId)))
            {
                problems.Add($"{file}: no entry for {missing}");
            }
        }

        return problems;
    }

    public static IEnumerable<PortClaim> Claims(string root) =>
        DaprRun(root).Concat(Tye(root)).Concat(GitopsBases(root)).Concat(Dockerfiles(root));

    private static IEnumerable<PortClaim> DaprRun(string root)
    {
        const string file = "dapr.yaml";
        foreach (var app in Yaml.LoadFile(Path.Combine(root, file)).Items("apps"))
        {
            var id = app.Text("appID") ?? "";
            yield return new(file, "appPort", id, Number(app.Text("appPort")));
            var command = app.Items("command").OfType<string>().ToList();
            yield return new(file, "command --urls", id, UrlPort(After(command, "--urls")));
            var project = After(command, "--project");
            if (project != $"services/{Repository.ProjectFolders.GetValueOrDefault(id)}")
            {
                yield return new(file, $"command --project {project}", id, null);
            }
        }
    }

    private static IEnumerable<PortClaim> Tye(string root)
    {
        const string file = "tye.yaml";
        foreach (var service in Yaml.LoadFile(Path.Combine(root, file)).Items("services"))
        {
            var id = service.Text("name") ?? "";
            yield return new(file, "bindings port", id, Number(service.Text("bindings", 0, "port")));
        }
    }

    private static IEnumerable<PortClaim> GitopsBases(string root)
    {
        foreach (var app in AppTopology.All)
        {
            var dir = $"gitops/base/{app.AppId}";
            var deployment = Yaml.LoadFile(Path.Combine(root, dir, "deployment.yaml"));
            var annotations = deployment.At("spec", "template", "metadata", "annotations");
            var container = deployment.At("spec", "template", "spec", "containers", 0);
            var file = $"{dir}/deployment.yaml";
            yield return new(file, "dapr.io/app-id and app-port", annotations.Text("dapr.io/app-id") ?? "", Number(annotations.Text("dapr.io/app-port")));
            yield return new(file, "containerPort", app.AppId, Number(container.Text("ports", 0, "containerPort")));
            var urls = container.Items("env").FirstOrDefault(e => e.Text("name") == "ASPNETCORE_URLS").Text("value");
            yield return new(file, "ASPNETCORE_URLS", app.AppId, UrlPort(urls));

            var service = Yaml.LoadFile(Path.Combine(root, dir, "service.yaml"));
            yield return new($"{dir}/service.yaml", "port", service.Name(), Number(service.Text("spec", "ports", 0, "port")));

            // Only the gateway's app port is reached over the network; the services' are reached by their sidecar on localhost.
            if (app != AppTopology.Gateway) continue;
            var policy = Yaml.LoadFile(Path.Combine(root, dir, "networkpolicy.yaml"));
            yield return new($"{dir}/networkpolicy.yaml", "first ingress port", app.AppId, Number(policy.Text("spec", "ingress", 0, "ports", 0, "port")));
        }
    }

    /// <summary>The image build: one Dockerfile, one bake target per app id naming its project folder and port.</summary>
    private static IEnumerable<PortClaim> Dockerfiles(string root)
    {
        const string file = "services/docker-bake.json";
        using var bake = JsonDocument.Parse(File.ReadAllText(Path.Combine(root, file)));
        foreach (var target in bake.RootElement.GetProperty("target").EnumerateObject())
        {
            var args = target.Value.GetProperty("args");
            var folder = args.TryGetProperty("SERVICE", out var service) ? service.GetString() : null;
            if (folder != Repository.ProjectFolders.GetValueOrDefault(target.Name))
            {
                yield return new(file, $"args.SERVICE {folder}", target.Name, null);
            }
            yield return new(file, "args.PORT", target.Name, Number(args.TryGetProperty("PORT", out var port) ? port.GetString() : null));
        }
    }

    private static string? After(List<string> command, string flag)
    {
        var index = command.IndexOf(flag);
        return index >= 0 && index + 1 < command.Count ? command[index + 1] : null;
    }

    private static int? Number(string? text) => int.TryParse(text, out var n) ? n : null;

    private static int? UrlPort(string? url) => url is null ? null : Number(UrlPortPattern().Match(url).Groups[1].Value);


    [GeneratedRegex(@":(\d+)(/|;|$)")]
    private static partial Regex UrlPortPattern();
}
