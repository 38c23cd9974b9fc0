using Platform.Deployment.Tests.Infrastructure;

namespace Platform.Deployment.Tests.Manifests;

public sealed class PlatformManifestTests(RenderedManifests rendered) : IClassFixture<RenderedManifests>
{
    public static TheoryData<string> Environments => [.. Repository.Environments];

    /// <summary>Which apps load each Dapr component, fixed by the architecture.</summary>
    private static readonly Dictionary<string, string[]> ComponentScopes = new()
    {
        [Components.PubSub] = ["gateway", "marketdata", "features", "training", "serving", "backtesting", "monitoring"],
        [Components.StateStore] = [.. AppTopology.All.Select(a => a.AppId)],
        [Components.FeatureStore] = ["features", "serving"],
        [Components.ModelStore] = ["training", "serving", "backtesting", "monitoring"],
        [Components.SecretStore] = [.. AppTopology.All.Select(a => a.AppId)],
    };

    private static readonly Dictionary<string, string> KeyPrefixes = new()
    {
        [Components.StateStore] = "appid",
        [Components.FeatureStore] = "name",
        [Components.ModelStore] = "name",
    };

    [Theory]
    [MemberData(nameof(Environments))]
    public void Deployments_EveryService_RunsRestrictedWithProbesAndSidecar(string environment)
    {
        var resources = rendered.Platform(environment);
        foreach (var app in AppTopology.All)
        {
            var deployment = Single(resources, "Deployment", app.AppId);
            var pod = deployment.At("spec", "template", "spec");
            var container = pod.At("containers", 0);
            var annotations = deployment.At("spec", "template", "metadata", "annotations");
            var context = $"{environment}/{app.AppId}";

            Assert.True(annotations.Text("dapr.io/enabled") == "true", context);
            Assert.Equal(app.AppId, annotations.Text("dapr.io/app-id"));
            Assert.Equal(app.Port.ToString(), annotations.Text("dapr.io/app-port"));
            Assert.Equal("appconfig", annotations.Text("dapr.io/config"));
            Assert.Equal("/health/live", container.Text("livenessProbe", "httpGet", "path"));
            Assert.Equal("/health/ready", container.Text("readinessProbe", "httpGet", "path"));
            Assert.NotNull(container.At("resources", "requests", "cpu"));
            Assert.NotNull(container.At("resources", "limits", "memory"));
            Assert.Equal("true", pod.Text("securityContext", "runAsNonRoot"));
            Assert.Equal("RuntimeDefault", pod.Text("securityContext", "seccompProfile", "type"));
            Assert.Equal("true", container.Text("securityContext", "readOnlyRootFilesystem"));
            Assert.Equal("false", container.Text("securityContext", "allowPrivilegeEscalation"));
            Assert.Equal(["ALL"], container.Items("securityContext", "capabilities", "drop").OfType<string>());
            var mounts = container.Items("volumeMounts").Select(m => m.Text("mountPath")).ToList();
            Assert.Contains("/tmp", mounts);
            Assert.Contains("/app/.data", mounts);
            Assert.Matches(@"\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com/market-platform/" + app.AppId + @":\S+$", container.Text("image"));

            Single(resources, "Service", app.AppId);
            Single(resources, "PodDisruptionBudget", app.AppId);
            var hpa = Single(resources, "HorizontalPodAutoscaler", app.AppId);
            Assert.Equal(app.AppId, hpa.Text("spec", "scaleTargetRef", "name"));
        }
    }

    [Theory]
    [MemberData(nameof(Environments))]
    public void NetworkPolicies_OnlyGateway_AdmitsTrafficFromOutsideTheNamespace(string environment)
    {
        var resources = rendered.Platform(environment);
        var defaultDeny = Single(resources, "NetworkPolicy", "default-deny-ingress");
        Assert.Empty(defaultDeny.Items("spec", "podSelector", "matchLabels"));

        foreach (var app in AppTopology.All)
        {
            var rules = Single(resources, "NetworkPolicy", app.AppId).Items("spec", "ingress").ToList();
            var appPortSources = rules
                .Where(r => r.Items("ports").Any(p => p.Text("port") == app.Port.ToString()))
                .SelectMany(r => r.Items("from"))
                .ToList();
            var fromIngress = appPortSources.Any(f => f.Text("namespaceSelector", "matchLabels", "kubernetes.io/metadata.name") == "ingress-nginx");
            var fromGateway = appPortSources.Any(f => f.At("namespaceSelector") is null && f.Text("podSelector", "matchLabels", "app.kubernetes.io/name") == "gateway");

            Assert.Equal(app == AppTopology.Gateway, fromIngress);
            // The gateway reaches the services through Dapr service invocation (sidecar to sidecar), never their app port.
            Assert.False(fromGateway, app.AppId);
        }

        var ingress = Single(resources, "Ingress", "gateway");
        Assert.Equal("gateway", ingress.Text("spec", "rules", 0, "http", "paths", 0, "backend", "service", "name"));
        Assert.Single(resources, r => r.Kind() == "Ingress");
    }

    [Theory]
    [InlineData("dev", "pubsub.redis", "state.redis")]
    [InlineData("staging", "pubsub.kafka", "state.postgresql")]
    [InlineData("prod", "pubsub.kafka", "state.postgresql")]
    public void DaprComponents_Environment_UseItsBrokerAndStoreWithFixedScopes(string environment, string pubsubType, string stateType)
    {
        var components = rendered.Platform(environment).Where(r => r.Kind() == "Component").ToList();

        Assert.Equal(ComponentScopes.Keys.Order(), components.Select(c => c.Name()).Order());
        Assert.Equal(pubsubType, Single(components, "Component", Components.PubSub).Text("spec", "type"));
        foreach (var (store, prefix) in KeyPrefixes)
        {
            var component = Single(components, "Component", store);
            Assert.Equal(stateType, component.Text("spec", "type"));
            Assert.Equal(prefix, Metadata(component, "keyPrefix"));
        }

        foreach (var component in components)
        {
            Assert.Equal(ComponentScopes[component.Name()], component.Items("scopes").OfType<string>());
        }
    }

    [Fact]
    public void LocalComponents_EveryVariant_KeepsNamesScopesAndKeyPrefixes()
    {
        var files = new[] { "components", "components/kafka", "components/postgres" }
            .SelectMany(d => Directory.GetFiles(Repository.PathOf(d.Split('/')), "*.yaml"));
        var components = files.SelectMany(f => Yaml.LoadAll(File.ReadAllText(f))).Where(r => r.Kind() == "Component").ToList();

        Assert.Equal(ComponentScopes.Keys.Order(), components.Select(c => c.Name()).Distinct().Order());
        foreach (var component in components)
        {
            Assert.Equal(ComponentScopes[component.Name()], component.Items("scopes").OfType<string>());
            if (KeyPrefixes.TryGetValue(component.Name(), out var prefix))
            {
                Assert.Equal(prefix, Metadata(component, "keyPrefix"));
            }
        }
    }

    [Theory]
    [MemberData(nameof(Environments))]
    public void Secrets_Environment_ComeFromTheExternalStoreOnly(string environment)
    {
        var resources = rendered.Platform(environment);

        Assert.DoesNotContain(resources, r => r.Kind() == "Secret");
        var synced = resources.Where(r => r.Kind() == "ExternalSecret").Select(r => r.Text("spec", "target", "name")).OfType<string>().ToHashSet();
        var referenced = resources.Where(r => r.Kind() == "Component")
            .SelectMany(c => c.Items("spec", "metadata"))
            .Select(m => m.Text("secretKeyRef", "name"))
            .Concat(resources.Where(r => r.Kind() == "Deployment")
                .SelectMany(d => d.Items("spec", "template", "spec", "containers", 0, "env"))
                .Select(e => e.Text("valueFrom", "secretKeyRef", "name")))
            .OfType<string>()
            .ToHashSet();

        Assert.NotEmpty(referenced);
        Assert.Empty(referenced.Except(synced));
    }

    [Theory]
    [MemberData(nameof(Environments))]
    public void ArgoApplications_Environment_SyncAutomaticallyInWaves(string environment)
    {
        var resources = rendered.Resources[$"gitops/argocd/envs/{environment}"];
        var applications = resources.Where(r => r.Kind() == "Application").ToList();

        Assert.Single(resources, r => r.Kind() == "AppProject");
        Assert.Equal(
            ["cluster-config", "dapr", "external-secrets", "ingress-nginx", "kube-prometheus-stack", "market-platform", "otel-collector"],
            applications.Select(a => a.Name()).Order());
        foreach (var application in applications)
        {
            Assert.Equal("true", application.Text("spec", "syncPolicy", "automated", "prune"));
            Assert.Equal("true", application.Text("spec", "syncPolicy", "automated", "selfHeal"));
            Assert.Equal("market-platform", application.Text("spec", "project"));
            Assert.NotNull(application.Text("metadata", "annotations", "argocd.argoproj.io/sync-wave"));
        }

        var platform = Single(applications, "Application", "market-platform");
        Assert.Equal($"gitops/envs/{environment}", platform.Text("spec", "source", "path"));
        int Wave(string name) => int.Parse(Single(applications, "Application", name).Text("metadata", "annotations", "argocd.argoproj.io/sync-wave")!);
        Assert.True(Wave("external-secrets") < Wave("cluster-config"));
        Assert.True(Wave("cluster-config") < Wave("dapr"));
        Assert.True(Wave("dapr") < Wave("market-platform"));
        Assert.True(Wave("kube-prometheus-stack") < Wave("market-platform"));
    }

    [Fact]
    public void Overlays_ImageVersions_LiveInTheirOwnFile()
    {
        foreach (var environment in Repository.Environments)
        {
            var images = Yaml.LoadFile(Repository.PathOf("gitops", "envs", environment, "images", "kustomization.yaml"));
            Assert.Equal(
                AppTopology.All.Select(a => $"market-platform/{a.AppId}").Order(),
                images.Items("images").Select(i => i.Text("name")).OfType<string>().Order());
            var overlay = File.ReadAllText(Repository.PathOf("gitops", "envs", environment, "kustomization.yaml"));
            Assert.DoesNotContain("newTag", overlay);
        }
    }

    private static Dictionary<object, object?> Single(IEnumerable<Dictionary<object, object?>> resources, string kind, string name) =>
        Assert.Single(resources, r => r.Kind() == kind && r.Name() == name);

    private static string? Metadata(Dictionary<object, object?> component, string name) =>
        component.Items("spec", "metadata").FirstOrDefault(m => m.Text("name") == name).Text("value");
}
