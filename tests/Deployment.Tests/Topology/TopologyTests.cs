using Platform.Deployment.Tests.Infrastructure;

namespace Platform.Deployment.Tests.Topology;

public sealed class TopologyTests
{
    private static readonly string[] SourceFiles =
    [
        "dapr.yaml",
        "tye.yaml",
        .. AppTopology.All.SelectMany(a => new[]
        {
            $"gitops/base/{a.AppId}/deployment.yaml",
            $"gitops/base/{a.AppId}/service.yaml",
            $"gitops/base/{a.AppId}/networkpolicy.yaml",
        }),
        "services/docker-bake.json",
    ];

    [Fact]
    public void Sources_Repository_AgreeWithAppTopology()
    {
        var claims = TopologyCheck.Claims(Repository.Root).ToList();

        Assert.Empty(TopologyCheck.Mismatches(Repository.Root));
        foreach (var app in AppTopology.All)
        {
            // dapr.yaml (2), tye.yaml, deployment (3), service, image build; the gateway's network policy too (the services'
            // app ports are reached by their sidecar over localhost, so their policies do not name them).
            Assert.Equal(app == AppTopology.Gateway ? 9 : 8, claims.Count(c => c.AppId == app.AppId));
        }
    }

    [Fact]
    public void Sources_PortChangedInDaprYaml_ReportsMismatch()
    {
        using var copy = TempCopy.Of(SourceFiles);
        copy.Replace("dapr.yaml", "appPort: 5101", "appPort: 5199");

        var problems = TopologyCheck.Mismatches(copy.Root);

        var problem = Assert.Single(problems);
        Assert.Contains("dapr.yaml", problem);
        Assert.Contains("marketdata has port 5199, expected 5101", problem);
    }

    [Fact]
    public void Sources_PortChangedInImageBuildAndService_ReportsEachMismatch()
    {
        using var copy = TempCopy.Of(SourceFiles);
        copy.Replace("services/docker-bake.json", "\"PORT\": \"5104\"", "\"PORT\": \"8080\"");
        copy.Replace("gitops/base/training/service.yaml", "port: 5103", "port: 80");

        var problems = TopologyCheck.Mismatches(copy.Root);

        Assert.Equal(2, problems.Count);
        Assert.Contains(problems, p => p.StartsWith("services/docker-bake.json (args.PORT): serving has port 8080"));
        Assert.Contains(problems, p => p.StartsWith("gitops/base/training/service.yaml (port): training has port 80"));
    }

    [Fact]
    public void Sources_AppMissingFromTye_ReportsMissingEntry()
    {
        using var copy = TempCopy.Of(SourceFiles);
        copy.Replace("tye.yaml", "name: backtesting", "name: backtest");

        var problems = TopologyCheck.Mismatches(copy.Root);

        Assert.Contains("tye.yaml (bindings port): unknown app id 'backtest'", problems);
        Assert.Contains("tye.yaml: no entry for backtesting", problems);
    }
}
