using Microsoft.Extensions.DependencyInjection;
using Platform.TestSupport;

namespace Platform.Backtesting.Tests.Apis;

/// <summary>The backtesting service on the shared test host.</summary>
public sealed class BacktestingServiceFixture : IAsyncLifetime
{
    private ServiceTestHost? _host;
    public string DataDir => _host!.DataDir;
    public HttpClient Client => _host!.Http;
    public IServiceProvider Services => _host!.Services;

    public async Task InitializeAsync() =>
        _host = await ServiceTestHost.StartAsync(BacktestingService.Module, new ServiceTestOptions
        {
            Settings = new Dictionary<string, string?>
            {
                ["Workflows:PollInterval"] = "00:00:00.100",
                ["Backtesting:SyntheticFallback"] = "true",
            },
        });

    public async Task DisposeAsync()
    {
        if (_host is not null) await _host.DisposeAsync();
    }
}

public class BacktestApiTests(BacktestingServiceFixture service) : IClassFixture<BacktestingServiceFixture>
{
    private HttpClient Client => service.Client;

    private async Task<JsonElement> WaitForEndAsync(string location)
    {
        var deadline = DateTime.UtcNow.AddSeconds(45);
        while (true)
        {
            var run = await Client.GetFromJsonAsync<JsonElement>(location);
            var status = run.GetProperty("status").GetString();
            if (status is "completed" or "failed" or "terminated") return run;
            Assert.True(DateTime.UtcNow < deadline, $"the run is still {status}");
            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task Post_ValidSpec_RunsToCompletionWithStatisticsCurvesAndTrades()
    {
        var response = await Client.PostAsJsonAsync("/v1/backtests", new
        {
            symbols = new[] { "ALPHA", "BRAVO" },
            strategy = "sma-cross",
            parameters = new { fast = 10, slow = 40 },
            commission = new { model = "per-share", perShare = 0.005, minimum = 1.0 },
            slippage = new { model = "bps", bps = 5 },
        });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var accepted = await response.Content.ReadFromJsonAsync<JsonElement>();
        var location = response.Headers.Location!.ToString();
        Assert.Equal(accepted.GetProperty("location").GetString(), location);

        var run = await WaitForEndAsync(location);
        Assert.Equal("completed", run.GetProperty("status").GetString());
        var report = run.GetProperty("report");
        Assert.Equal("buy-and-hold", report.GetProperty("summary").GetProperty("benchmark").GetString());
        Assert.True(report.GetProperty("strategy").GetProperty("trades").GetProperty("count").GetInt32() > 0);
        Assert.True(report.GetProperty("strategy").GetProperty("costs").GetProperty("commission").GetDouble() > 0);
        Assert.True(report.GetProperty("benchmark").GetProperty("returns").TryGetProperty("totalReturn", out _));
        Assert.True(report.GetProperty("relative").TryGetProperty("beta", out _));
        Assert.True(report.GetProperty("curve").GetArrayLength() > 100);
        Assert.True(report.GetProperty("trades").GetArrayLength() > 0);
        Assert.Equal("ALPHA", run.GetProperty("spec").GetProperty("symbols")[0].GetString());
    }

    [Fact]
    public async Task Post_ModelStrategy_Completes()
    {
        var response = await Client.PostAsJsonAsync("/v1/backtests", new
        {
            symbols = new[] { "CHARLIE" }, strategy = "model", allowShort = true,
            parameters = new { lags = 3, train = 252, test = 126 },
        });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var run = await WaitForEndAsync(response.Headers.Location!.ToString());
        Assert.Equal("completed", run.GetProperty("status").GetString());
    }

    /// <summary>Registers a ridge model trained on ALPHA's first 1,200 synthetic bars (alpha158 features, 5-bar return).</summary>
    private async Task<DateTimeOffset> RegisterModelAsync(string name)
    {
        var bars = (await service.Services.GetRequiredService<Platform.Backtesting.Engine.Data.IBarSource>()
            .GetBarsAsync("ALPHA", Platform.Quant.BarInterval.OneDay, null, null))!.Take(1200).ToList();
        var set = Platform.Quant.Features.FeatureSets.Get("alpha158@1");
        var features = Platform.Quant.Features.FeatureBatch.Replay(() => Platform.Quant.Features.FeatureSets.CreateCalculator(set.Id), bars);
        var target = new Platform.Modeling.Targets.TargetSpec(Platform.Modeling.Targets.TargetKind.Return, 5);
        var spec = new Platform.Modeling.Datasets.DatasetSpec(["ALPHA"], bars[0].Time, bars[^1].Time, "1d",
            new Platform.Modeling.Datasets.FeatureSetRef(set.Id, set.Hash, set.Features, 60), target);
        var ds = Platform.Modeling.Datasets.DatasetBuilder.Build(spec,
            [new Platform.Modeling.Datasets.SymbolInput("ALPHA", bars, bars.Select(b => b.Time).ToArray(), features)]);
        using var model = Platform.Modeling.Models.ModelFactory.Fit(new Platform.Modeling.Models.ModelSpec("ridge").With("alpha", "100"),
            new Platform.Modeling.Models.TrainingData(ds.Frame, ds.Labels, target, 1));
        var registry = new Platform.Modeling.Registry.ModelRegistry(
            service.Services.GetRequiredService<Platform.BuildingBlocks.State.IStateStoreProvider>().Get(Components.ModelStore),
            service.Services.GetRequiredService<Platform.BuildingBlocks.PubSub.IEventPublisher>());
        var lineage = new Platform.Modeling.Registry.ModelLineage(ds.Fingerprint, set.Id, set.Hash, "return", 5, ["ALPHA"], spec.From, spec.To,
            "ridge", new(StringComparer.Ordinal), 1, [], null, null, null, "test");
        var version = await registry.RegisterAsync(name, model.ToArtifact(), lineage, "run-" + name);
        await registry.PromoteAsync(name, version.Version, Platform.Modeling.Registry.ModelStage.Production);
        return bars[^1].Time;
    }

    [Fact]
    public async Task Post_RegisteredModelVersion_RunsWithCostsBesideBuyAndHoldAndNamesTheVersion()
    {
        var trainedTo = await RegisterModelAsync("bt-ret");
        var response = await Client.PostAsJsonAsync("/v1/backtests", new
        {
            symbols = new[] { "ALPHA" }, strategy = "model", model = "bt-ret", from = trainedTo.AddDays(1),
            commission = new { model = "percent", rate = 0.001 }, slippage = new { model = "bps", bps = 5 },
        });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var run = await WaitForEndAsync(response.Headers.Location!.ToString());
        Assert.Equal("completed", run.GetProperty("status").GetString());
        Assert.Equal("1", run.GetProperty("spec").GetProperty("modelVersion").GetString());
        var report = run.GetProperty("report");
        Assert.Contains("bt-ret v1 (ridge)", report.GetProperty("summary").GetProperty("strategy").GetString());
        Assert.Equal("buy-and-hold", report.GetProperty("summary").GetProperty("benchmark").GetString());
        Assert.True(report.GetProperty("strategy").GetProperty("costs").GetProperty("total").GetDouble() > 0);
        Assert.True(report.GetProperty("benchmark").GetProperty("returns").TryGetProperty("totalReturn", out _));
        Assert.True(report.GetProperty("summary").GetProperty("from").GetDateTimeOffset() > trainedTo);
    }

    [Fact]
    public async Task Post_UnknownModel_Is404ProblemNamingIt()
    {
        var response = await Client.PostAsJsonAsync("/v1/backtests", new { symbols = new[] { "ALPHA" }, strategy = "model", model = "no-such-model" });
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("no-such-model", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Post_UnknownSymbol_Is404Problem()
    {
        var response = await Client.PostAsJsonAsync("/v1/backtests", new { symbols = new[] { "NOPE" }, strategy = "sma-cross" });
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("NOPE", await response.Content.ReadAsStringAsync());
    }

    public static TheoryData<string, object> BadRequests => new()
    {
        { "strategy", new { symbols = new[] { "ALPHA" }, strategy = "astrology" } },
        { "symbols", new { symbols = Array.Empty<string>(), strategy = "sma-cross" } },
        { "to", new { symbols = new[] { "ALPHA" }, strategy = "sma-cross", from = "2020-01-01T00:00:00Z", to = "2019-01-01T00:00:00Z" } },
        { "parameters.fast", new { symbols = new[] { "ALPHA" }, strategy = "sma-cross", parameters = new { fast = -5 } } },
        { "parameters.period", new { symbols = new[] { "ALPHA" }, strategy = "mean-reversion", parameters = new { period = 0 } } },
        { "commission.rate", new { symbols = new[] { "ALPHA" }, strategy = "sma-cross", commission = new { model = "percent", rate = 1.5 } } },
        { "slippage.bps", new { symbols = new[] { "ALPHA" }, strategy = "sma-cross", slippage = new { model = "bps", bps = 20_000 } } },
        { "maxLeverage", new { symbols = new[] { "ALPHA" }, strategy = "sma-cross", maxLeverage = -1 } },
        { "initialCash", new { symbols = new[] { "ALPHA" }, strategy = "sma-cross", initialCash = 1e308 } },
        { "initialCash", new { symbols = new[] { "ALPHA" }, strategy = "sma-cross", initialCash = -1000 } },
        { "commission.perShare", new { symbols = new[] { "ALPHA" }, strategy = "sma-cross", commission = new { model = "per-share", perShare = 1e308 } } },
        { "commission.perShare", new { symbols = new[] { "ALPHA" }, strategy = "sma-cross", commission = new { model = "per-share", perShare = -0.01 } } },
        { "commission.amount", new { symbols = new[] { "ALPHA" }, strategy = "sma-cross", commission = new { model = "fixed", amount = 1e308 } } },
        { "from", new { symbols = new[] { "ALPHA" }, strategy = "sma-cross", from = "0001-01-01T00:00:00Z" } },
        { "to", new { symbols = new[] { "ALPHA" }, strategy = "sma-cross", to = "9999-12-31T00:00:00Z" } },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task Post_InvalidSpec_Is400ValidationProblemNamingTheField(string field, object body)
    {
        var response = await Client.PostAsJsonAsync("/v1/backtests", body);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), $"no error for {field}: {problem}");
    }

    [Fact]
    public async Task Get_UnknownId_Is404()
    {
        Assert.Equal(HttpStatusCode.NotFound, (await Client.GetAsync("/v1/backtests/bt-doesnotexist")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await Client.GetAsync("/v1/backtests/not%20valid")).StatusCode);
    }

    [Fact]
    public async Task Post_RangeWithoutBars_RunFailsWithReasonAndServiceKeepsServing()
    {
        var response = await Client.PostAsJsonAsync("/v1/backtests", new
        {
            symbols = new[] { "ALPHA" }, strategy = "sma-cross", from = "1990-01-01T00:00:00Z", to = "1991-01-01T00:00:00Z",
        });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var run = await WaitForEndAsync(response.Headers.Location!.ToString());
        Assert.Equal("failed", run.GetProperty("status").GetString());
        Assert.Contains("No 1d bars", run.GetProperty("error").GetString());

        Assert.Equal(HttpStatusCode.OK, (await Client.GetAsync("/health/live")).StatusCode);
        var again = await Client.PostAsJsonAsync("/v1/backtests", new { symbols = new[] { "ALPHA" }, strategy = "mean-reversion" });
        Assert.Equal("completed", (await WaitForEndAsync(again.Headers.Location!.ToString())).GetProperty("status").GetString());
    }

    [Fact]
    public async Task GetStrategies_ListsTheCatalog()
    {
        var strategies = await Client.GetFromJsonAsync<JsonElement>("/v1/backtests/strategies");
        Assert.Equal(["sma-cross", "mean-reversion", "model"], strategies.EnumerateArray().Select(s => s.GetProperty("name").GetString()));
    }
}
