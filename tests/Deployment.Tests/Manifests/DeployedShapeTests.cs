using System.Text.RegularExpressions;
using Platform.Deployment.Tests.Infrastructure;

namespace Platform.Deployment.Tests.Manifests;

/// <summary>
/// The rendered overlays read as the running system sees them: where the gateway sends each route, which secrets exist
/// under which name, who may issue tokens, what the monitors select, and what the network lets in.
/// </summary>
public sealed class DeployedShapeTests(RenderedManifests rendered) : IClassFixture<RenderedManifests>
{
    public static TheoryData<string> Environments => [.. Repository.Environments];

    private const int MetricsPort = 9464;
    private const int DaprMetricsPort = 9090;
    private const string DaprSidecarHttp = "http://127.0.0.1:3500";

    [Theory]
    [MemberData(nameof(Environments))]
    public void GatewayDestinations_Environment_ResolveToAppsAndServicesInTheSameRender(string environment)
    {
        var resources = rendered.Platform(environment);
        var settings = GatewaySettings(resources);
        foreach (var cluster in RouteClusters())
        {
            var address = settings.GetValueOrDefault($"ReverseProxy__Clusters__{cluster}__Destinations__primary__Address");
            var appId = settings.GetValueOrDefault($"ReverseProxy__Clusters__{cluster}__Metadata__DaprAppId");
            var context = $"{environment}: cluster {cluster}";

            // Through the gateway pod's own sidecar (Dapr's default HTTP port), never a loopback app port.
            Assert.True(address == DaprSidecarHttp, $"{context} goes to {address ?? "gateway.routes.json's loopback default"}");
            var deployment = Assert.Single(resources, r => r.Kind() == "Deployment"
                && r.Text("spec", "template", "metadata", "annotations", "dapr.io/app-id") == appId);
            Assert.Equal("true", deployment.Text("spec", "template", "metadata", "annotations", "dapr.io/enabled"));
            var service = Assert.Single(resources, r => r.Kind() == "Service" && r.Name() == appId);
            var podLabels = Map(deployment.At("spec", "template", "metadata", "labels"));
            Assert.All(Map(service.At("spec", "selector")), l => Assert.Equal(l.Value, podLabels.GetValueOrDefault(l.Key)));
        }

        var gatewayPod = Assert.Single(resources, r => r.Kind() == "Deployment" && r.Name() == "gateway").At("spec", "template", "metadata", "annotations");
        Assert.Null(gatewayPod.Text("dapr.io/http-port"));
    }

    [Theory]
    [MemberData(nameof(Environments))]
    public void AccessControl_Environment_AdmitsOnlyTheGatewaysInvocations(string environment)
    {
        var configuration = Single(rendered.Platform(environment), "Configuration", "appconfig");
        var acl = configuration.At("spec", "accessControl");

        Assert.Equal("deny", acl.Text("defaultAction"));
        var policy = Assert.Single(acl.Items("policies"));
        Assert.Equal("gateway", policy.Text("appId"));
        Assert.Equal("allow", policy.Text("defaultAction"));
        Assert.Equal("market-platform", policy.Text("namespace"));
    }

    [Theory]
    [MemberData(nameof(Environments))]
    public void SecretNames_Environment_AgreeAcrossCodeExternalSecretsRoleStoreAndExample(string environment)
    {
        var resources = rendered.Platform(environment);
        foreach (var name in SecretNames.Gateway)
        {
            var external = Assert.Single(resources, r => r.Kind() == "ExternalSecret" && r.Text("spec", "target", "name") == name);
            Assert.Equal([name], external.Items("spec", "data").Select(d => d.Text("secretKey")));
        }

        var role = Single(resources, "Role", "dapr-secret-reader");
        Assert.Equal(SecretNames.Gateway.Order(), role.Items("rules", 0, "resourceNames").OfType<string>().Order());
        var binding = Single(resources, "RoleBinding", "dapr-secret-reader");
        Assert.Contains(binding.Items("subjects"), s => s.Text("name") == "gateway");
        Assert.Contains("gateway", Single(resources, "Component", Components.SecretStore).Items("scopes").OfType<string>());

        using var example = JsonDocument.Parse(File.ReadAllText(Repository.PathOf("components", "secrets.example.json")));
        Assert.All(SecretNames.Gateway, n => Assert.True(example.RootElement.TryGetProperty(n, out _), $"secrets.example.json lacks {n}"));
    }

    [Theory]
    [MemberData(nameof(Environments))]
    public void AppToken_EveryService_SidecarAndAppShareTheSyncedSecret(string environment)
    {
        var resources = rendered.Platform(environment);
        var external = Assert.Single(resources, r => r.Kind() == "ExternalSecret" && r.Text("spec", "target", "name") == SecretNames.DaprAppApiToken);
        Assert.Equal(["token"], external.Items("spec", "data").Select(d => d.Text("secretKey")));

        foreach (var app in AppTopology.Services)
        {
            var deployment = Single(resources, "Deployment", app.AppId);
            Assert.Equal(SecretNames.DaprAppApiToken, deployment.Text("spec", "template", "metadata", "annotations", "dapr.io/app-token-secret"));
            var env = deployment.Items("spec", "template", "spec", "containers", 0, "env").Single(e => e.Text("name") == "APP_API_TOKEN");
            Assert.Equal(SecretNames.DaprAppApiToken, env.Text("valueFrom", "secretKeyRef", "name"));
            Assert.Equal("token", env.Text("valueFrom", "secretKeyRef", "key"));
        }
    }

    [Fact]
    public void Jwt_EveryEnvironment_HasItsOwnIssuerAndAudience()
    {
        var settings = Repository.Environments.Select(e => GatewaySettings(rendered.Platform(e))).ToList();

        Assert.All(settings, s => Assert.StartsWith("https://", s.GetValueOrDefault("Gateway__Jwt__Issuer")));
        Assert.All(settings, s => Assert.False(string.IsNullOrWhiteSpace(s.GetValueOrDefault("Gateway__Jwt__Audience"))));
        Assert.Equal(settings.Count, settings.Select(s => s["Gateway__Jwt__Audience"]).Distinct().Count());
        // The key comes from the secret store; a key in a ConfigMap would be readable by anyone who can read ConfigMaps.
        Assert.All(settings, s => Assert.DoesNotContain("Gateway__Jwt__SigningKey", s.Keys));
    }

    [Theory]
    [MemberData(nameof(Environments))]
    public void PodMonitor_Environment_SelectsEveryPlatformPodOnPortsItHas(string environment)
    {
        var resources = rendered.Platform(environment);
        var monitor = Assert.Single(resources, r => r.Kind() == "PodMonitor");
        var selector = Map(monitor.At("spec", "selector", "matchLabels"));
        var endpoints = monitor.Items("spec", "podMetricsEndpoints").Select(e => e.Text("port")).ToList();
        Assert.NotEmpty(selector);
        Assert.Equal(["metrics", "dapr-metrics"], endpoints);

        foreach (var app in AppTopology.All)
        {
            var template = Single(resources, "Deployment", app.AppId).At("spec", "template");
            var labels = Map(template.At("metadata", "labels"));
            Assert.All(selector, l => Assert.True(labels.GetValueOrDefault(l.Key) == l.Value, $"{app.AppId} pods lack {l.Key}={l.Value}"));
            var ports = template.Items("spec", "containers", 0, "ports").ToDictionary(p => p.Text("name") ?? "", p => p.Text("containerPort"));
            Assert.Equal(MetricsPort.ToString(), ports.GetValueOrDefault("metrics"));
            // dapr-metrics is the port the Dapr injector names on the daprd container (dapr.io/metrics-port).
            Assert.Equal(DaprMetricsPort.ToString(), template.Text("metadata", "annotations", "dapr.io/metrics-port"));
            Assert.Equal("true", template.Text("metadata", "annotations", "dapr.io/enable-metrics"));
        }
    }

    [Theory]
    [MemberData(nameof(Environments))]
    public void Metrics_Environment_ServedOnAManagementPortNoServiceOrIngressRoutes(string environment)
    {
        var resources = rendered.Platform(environment);
        var platform = resources.Single(r => r.Kind() == "ConfigMap" && r.Name().StartsWith("platform-settings", StringComparison.Ordinal));
        Assert.Equal(MetricsPort.ToString(), platform.Text("data", "Management__Port"));

        foreach (var app in AppTopology.All)
        {
            var container = Single(resources, "Deployment", app.AppId).At("spec", "template", "spec", "containers", 0);
            var urls = container.Items("env").Single(e => e.Text("name") == "ASPNETCORE_URLS").Text("value");
            Assert.Contains($":{MetricsPort}", urls);
            var service = Single(resources, "Service", app.AppId);
            Assert.DoesNotContain(service.Items("spec", "ports"), p => p.Text("targetPort") is "metrics" or "9464" || p.Text("port") == "9464");
        }

        var paths = Single(resources, "Ingress", "gateway").Items("spec", "rules", 0, "http", "paths").Select(p => p.Text("path")).ToList();
        Assert.Equal(["/v1", "/openapi"], paths);
    }

    [Theory]
    [MemberData(nameof(Environments))]
    public void NetworkPolicies_Observability_ReachesTheMetricsPortsOnly(string environment)
    {
        var resources = rendered.Platform(environment);
        foreach (var app in AppTopology.All)
        {
            var rules = Single(resources, "NetworkPolicy", app.AppId).Items("spec", "ingress").ToList();
            var fromObservability = rules
                .Where(r => r.Items("from").Any(f => f.Text("namespaceSelector", "matchLabels", "kubernetes.io/metadata.name") == "observability"))
                .SelectMany(r => r.Items("ports"))
                .Select(p => p.Text("port"))
                .ToList();
            Assert.Equal([MetricsPort.ToString(), DaprMetricsPort.ToString()], fromObservability);
            // A rule without "from" or without "ports" admits every source or every port.
            Assert.All(rules, r => Assert.NotEmpty(r.Items("from")));
            Assert.All(rules, r => Assert.NotEmpty(r.Items("ports")));
        }
    }

    [Fact]
    public void Terraform_VpcCni_EnforcesNetworkPolicies()
    {
        var cluster = File.ReadAllText(Repository.PathOf("terraform", "modules", "cluster", "main.tf"));

        var addon = Regex.Match(cluster, "resource \"aws_eks_addon\" \"vpc_cni\" \\{(?<body>.*?)\\n\\}", RegexOptions.Singleline);
        Assert.True(addon.Success, "no vpc-cni add-on resource");
        Assert.Contains("addon_name                  = \"vpc-cni\"", addon.Groups["body"].Value);
        Assert.Matches("enableNetworkPolicy\\s*=\\s*\"true\"", addon.Groups["body"].Value);
        Assert.DoesNotMatch("toset\\(\\[[^\\]]*\"vpc-cni\"", cluster);
    }

    /// <summary>Cluster ids the gateway's routes send to (<c>services/Gateway/gateway.routes.json</c>).</summary>
    private static IReadOnlyList<string> RouteClusters()
    {
        using var routes = JsonDocument.Parse(File.ReadAllText(Repository.PathOf("services", "Gateway", "gateway.routes.json")));
        return routes.RootElement.GetProperty("ReverseProxy").GetProperty("Routes").EnumerateObject()
            .Select(r => r.Value.GetProperty("ClusterId").GetString()!).Distinct().Order().ToList();
    }

    /// <summary>The environment the gateway container gets from its ConfigMaps (later ones win, as in Kubernetes).</summary>
    private static Dictionary<string, string> GatewaySettings(IReadOnlyList<Dictionary<object, object?>> resources)
    {
        var gateway = Single(resources, "Deployment", "gateway").At("spec", "template", "spec", "containers", 0);
        var settings = new Dictionary<string, string>();
        foreach (var name in gateway.Items("envFrom").Select(e => e.Text("configMapRef", "name")))
        {
            var map = Single(resources, "ConfigMap", name!);
            foreach (var (key, value) in Map(map.At("data"))) settings[key] = value;
        }

        return settings;
    }

    private static Dictionary<string, string> Map(object? node) =>
        (node as Dictionary<object, object?> ?? []).ToDictionary(p => (string)p.Key, p => p.Value as string ?? "");

    private static Dictionary<object, object?> Single(IEnumerable<Dictionary<object, object?>> resources, string kind, string name) =>
        Assert.Single(resources, r => r.Kind() == kind && r.Name() == name);
}
