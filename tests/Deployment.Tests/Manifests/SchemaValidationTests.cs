using Platform.Deployment.Tests.Infrastructure;

namespace Platform.Deployment.Tests.Manifests;

public sealed class SchemaValidationTests(RenderedManifests rendered) : IClassFixture<RenderedManifests>
{
    private static string[] LocalDaprFiles =>
    [
        .. new[] { "components", "components/kafka", "components/postgres" }
            .SelectMany(d => Directory.GetFiles(Repository.PathOf(d.Split('/')), "*.yaml")),
    ];

    [Fact]
    public void Validate_EveryRenderedBuildAndLocalComponent_PassesSchemas()
    {
        var report = Validator.Manifests([.. rendered.Files.Values, .. LocalDaprFiles]);

        Assert.True(report.Passed, report.Describe());
        var expected = rendered.Resources.Values.Sum(r => r.Count) + LocalDaprFiles.Sum(f => Yaml.LoadAll(File.ReadAllText(f)).Count);
        Assert.Equal(expected, report.Checked);
    }

    [Fact]
    public void Validate_DeploymentWithTextPort_ReportsSchemaError()
    {
        var report = Validator.EditedManifest("gitops/base/marketdata/deployment.yaml", "containerPort: 5101", "containerPort: http");

        Assert.False(report.Passed);
        var error = Assert.Single(report.Errors);
        Assert.Contains("containerPort must be integer", error.Message);
    }

    [Fact]
    public void Validate_ArgoApplicationWithTextPrune_ReportsSchemaError()
    {
        var report = Validator.EditedManifest("gitops/argocd/envs/dev/platform.yaml", "prune: true", "prune: always");

        var error = Assert.Single(report.Errors);
        Assert.Contains("prune must be boolean", error.Message);
    }

    [Fact]
    public void Validate_ComponentWithUndocumentedMetadataKey_NamesTheKey()
    {
        var report = Validator.EditedManifest("components/kafka/pubsub.yaml", "name: brokers", "name: brokerList");

        Assert.Contains(report.Errors, e => e.Message == "metadata key \"brokerList\" is not documented for pubsub.kafka");
    }

    [Theory]
    [InlineData("components/statestore.yaml", "value: \"appid\"", "value: \"app\"", "must be equal to one of the allowed values")]
    [InlineData("components/secretstore.yaml", "type: secretstores.local.file", "type: secretstores.local.files", "must be equal to one of the allowed values")]
    [InlineData("components/resiliency.yaml", "retry: publish", "retry: storage", "unknown policy 'storage'")]
    [InlineData("components/resiliency.yaml", "maxRetries: 4", "maxRetries: three", "must be integer")]
    [InlineData("components/appconfig.yaml", "protocol: grpc", "protocol: tcp", "must be equal to one of the allowed values")]
    public void Validate_DaprResourceWithDefect_ReportsError(string file, string from, string to, string expected)
    {
        var report = Validator.EditedManifest(file, from, to);

        Assert.False(report.Passed);
        Assert.Contains(report.Errors, e => e.Message.Contains(expected));
    }

    [Fact]
    public void Validate_DeclarativeSubscription_AcceptsV2AndRefusesV1Route()
    {
        using var copy = TempCopy.Of([]);
        const string valid = """
            apiVersion: dapr.io/v2alpha1
            kind: Subscription
            metadata:
              name: bars-deadletter
            spec:
              pubsubname: pubsub
              topic: market-bars-deadletter
              routes:
                default: /events/deadletter
            scopes:
              - monitoring
            """;
        copy.Write("valid.yaml", valid);
        copy.Write("invalid.yaml", valid.Replace("  routes:\n    default: /events/deadletter", "  route: /events/deadletter"));

        Assert.True(Validator.Manifests([copy.PathOf("valid.yaml")]).Passed);
        var report = Validator.Manifests([copy.PathOf("invalid.yaml")]);
        Assert.Contains(report.Errors, e => e.Message.Contains("must have required property 'routes'"));
    }

    [Fact]
    public void Validate_UnknownKind_ReportsNoSchema()
    {
        using var copy = TempCopy.Of([]);
        copy.Write("widget.yaml", "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n");

        var report = Validator.Manifests([copy.PathOf("widget.yaml")]);

        var error = Assert.Single(report.Errors);
        Assert.Equal("no schema known for example.com/v1 Widget", error.Message);
    }

    [Fact]
    public void Kustomize_OverlayReferencingMissingBase_Fails()
    {
        using var copy = TempCopy.Of(["gitops"]);
        copy.Replace("gitops/envs/dev/kustomization.yaml", "../../base/serving", "../../base/servings");

        var result = Tool.Run("kubectl", ["kustomize", copy.PathOf("gitops/envs/dev")]);

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("servings", result.Error);
    }
}
