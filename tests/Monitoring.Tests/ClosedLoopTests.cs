using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Platform.Host;
using Platform.BuildingBlocks.PubSub;
using Platform.Contracts;
using Platform.Modeling.Models;
using Platform.Modeling.Registry;
using Platform.Monitoring.Apis;
using Platform.OfflineStore;
using Platform.Quant;
using Platform.Quant.Features;
using Platform.Training.Retraining;
using Platform.Training.Runs;
using Platform.Training.Workflows;
using Platform.Workflows;
using Xunit.Abstractions;

namespace Platform.Monitoring.Tests;

/// <summary>
/// The whole loop through the embedded platform (every service in one process, real HTTP, the embedded event log): a
/// volatility model trained before a regime change (volatility x2.5 at a known bar) serves predictions bar by bar;
/// monitoring joins outcomes and detects drift after the change, training retrains once, and the challenger is
/// promoted on the post-change holdout, after which serving answers with the new version.
/// </summary>
[Trait("Category", "Slow")]
public sealed class ClosedLoopTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string Symbol = "RGM";
    private const string Model = "rgm-vol";
    private const int TrainedTo = 599;
    private const int ChangeAt = 700;
    private const int Total = 1000;
    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "closed-loop-" + Guid.NewGuid().ToString("N"));
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromMinutes(2) };
    private readonly List<Bar> _bars = RegimeSeries.Generate(Total, seed: 7, changeAt: ChangeAt);
    private EmbeddedPlatform _platform = null!;

    public async Task InitializeAsync() => _platform = await EmbeddedPlatform.StartAsync(new EmbeddedPlatformOptions
    {
        DataDir = _dataDir,
        GatewayUrl = "http://127.0.0.1:0",
        EphemeralServicePorts = true,
        Settings = new Dictionary<string, string?>
        {
            ["MarketData:Demo:Enabled"] = "false",
            ["Training:Retraining:MinBarsAfterTrigger"] = "120",
            ["Training:Retraining:HoldoutBars"] = "60",
            ["Training:Retraining:PollInterval"] = "00:00:01",
            ["Training:Retraining:Candidates:0"] = "xgboost",
            ["Training:Retraining:Folds"] = "3",
            // No candidate beats HAR-RV on QLIKE in this market (see docs/monitoring.md), so the promotion path runs with the
            // champion-only gate; the baselines' scores are still asserted to be reported.
            ["Training:Retraining:Gate"] = "champion",
            ["Monitoring:Drift:WindowSize"] = "60",
            ["PubSub:Embedded:PollInterval"] = "00:00:00.020",
            ["Logging:LogLevel:Platform"] = "Warning",
        },
    });

    public async Task DisposeAsync()
    {
        await _platform.DisposeAsync();
        _http.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(_dataDir, recursive: true); } catch (IOException) { }
    }

    private string Url(string app, string path) => _platform.ServiceUrls[app] + path;

    private static SymbolBar At(Bar b) => new(Symbol, BarInterval.OneDay, b);

    [Fact]
    public async Task RegimeChange_DriftRetrainingAndPromotion_ServingAnswersWithTheNewVersion()
    {
        _http.DefaultRequestHeaders.Add(EmbeddedPlatform.AppTokenHeader, _platform.AppToken); // the services are called directly, as the gateway would
        var store = _platform.Services(AppTopology.MarketData.AppId).GetRequiredService<IBarStore>();
        await store.WriteAsync(new BarWrite(_bars.Take(TrainedTo + 1).Select(At).ToList()));

        // The champion: ridge on alpha158, 5-bar realised volatility, trained on bars before the change.
        var workflows = _platform.Services(AppTopology.Training.AppId).GetRequiredService<WorkflowClient>();
        var run = await workflows.ScheduleNewWorkflowAsync(nameof(TrainingWorkflow), "initial", new TrainingRequest([Symbol], "volatility", 5,
            To: _bars[TrainedTo].Time, Model: Model, Candidates: [TrainingRequest.DefaultCandidates[1]], Folds: 3));
        using var bound = new CancellationTokenSource(TimeSpan.FromMinutes(10));
        var trained = await workflows.WaitForWorkflowCompletionAsync(run, cancellation: bound.Token);
        Assert.Equal(WorkflowRuntimeStatus.Completed, trained.RuntimeStatus);
        var initial = trained.ReadOutputAs<TrainingOutcome>()!;
        // A first version goes through the promotion gate, which a volatility model may fail against HAR-RV in this market;
        // the loop under test starts from a served champion, so an operator promotes it by hand when the gate did not.
        if (initial.Stage != "Production")
            await _platform.Services(AppTopology.Training.AppId).GetRequiredService<ModelRegistry>()
                .PromoteAsync(Model, initial.Version, ModelStage.Production);

        var set = FeatureSets.Get("alpha158@1");
        var features = FeatureBatch.Replay(() => FeatureSets.CreateCalculator(set.Id), _bars);
        var nonFinite = set.Features.Where((_, j) => Enumerable.Range(TrainedTo + 1, Total - TrainedTo - 1).Any(t => !double.IsFinite(features[t][j])));
        Assert.Empty(nonFinite);
        var versions = new List<int>();
        for (var t = TrainedTo + 1; t < Total; t++)
        {
            // The bar closes (stored with its BarClosed in the outbox, as a replay does), then a prediction is asked for.
            await store.WriteAsync(new BarWrite([At(_bars[t])])
            {
                PerBar = b => EventPublisherExtensions.ToOutgoing(new BarClosed(Symbol, "1d", b.Bar.Time, b.Bar.Open, b.Bar.High, b.Bar.Low,
                    b.Bar.Close, b.Bar.Volume)),
            });
            var response = await _http.PostAsJsonAsync(Url(AppTopology.Serving.AppId, "/v1/predictions"), new
            {
                model = Model, symbol = Symbol, interval = "1d", features = features[t], time = _bars[t].Time, requestId = $"loop-{t}",
            });
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            versions.Add((await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("version").GetInt32());
        }

        var monitoring = Url(AppTopology.Monitoring.AppId, "/v1/monitoring");
        await MonitoringHost.EventuallyAsync(async () =>
            (await _http.GetFromJsonAsync<MonitoringStatus>(monitoring + "/status"))!.Outcomes >= Total - TrainedTo - 1 - 5 - 1,
            "outcomes joined", seconds: 300);
        var drift = (await _http.GetFromJsonAsync<DriftResponse>(monitoring + $"/models/{Model}/drift?limit=1000", MonitoringJson.Options))!;
        Assert.NotEmpty(drift.Detections);
        var first = drift.Detections.MinBy(d => d.WindowEnd)!;
        output.WriteLine($"first drift: window end {first.WindowEnd:o} (bar {_bars.FindIndex(b => b.Time == first.WindowEnd)}), change at bar {ChangeAt}; "
            + string.Join(", ", first.Evidence.Select(e => $"{e.Subject} {e.Statistic} {e.Value:F3}>{e.Threshold:F3}")));
        Assert.True(first.WindowEnd > _bars[ChangeAt].Time, "drift detected before the change");

        var retraining = Url(AppTopology.Training.AppId, $"/v1/models/{Model}/retraining");
        RetrainingView? view = null;
        await MonitoringHost.EventuallyAsync(async () =>
        {
            view = await _http.GetFromJsonAsync<RetrainingView>(retraining, MonitoringJson.Options);
            return view!.Status is "completed" or "failed";
        }, "retraining finished", seconds: 600);
        output.WriteLine($"retraining: {view!.Status} {view.Error} {view.Outcome?.Reason}");
        Assert.Equal("completed", view.Status);
        Assert.Equal(1, view.Record!.Sequence);
        var outcome = view.Outcome!;
        Assert.True(outcome.Promoted, outcome.Reason);
        Assert.True(outcome.Holdout.From > _bars[ChangeAt].Time, "the holdout window must lie after the change");
        Assert.True(outcome.Holdout.Challenger < outcome.Holdout.Champion, outcome.Reason);
        Assert.Equal(["har-rv", "last", "mean"], outcome.Holdout.Baselines.Keys.Order());
        Assert.True(outcome.Holdout.ChampionTrainedOnWindow is false);
        // Later drift windows of the same model fall in the cooldown: each is recorded as skipped, none retrained.
        var later = drift.Detections.Where(d => d.EventId != first.EventId).Select(d => d.EventId).ToList();
        output.WriteLine($"later detections: {later.Count}");
        await MonitoringHost.EventuallyAsync(async () =>
        {
            view = await _http.GetFromJsonAsync<RetrainingView>(retraining, MonitoringJson.Options);
            return later.All(id => view!.Record!.Skipped.Any(s => s.TriggerId == id));
        }, "later detections recorded as skipped");
        Assert.Equal(1, view!.Record!.Sequence);
        Assert.All(view.Record.Skipped, s => Assert.StartsWith("cooldown", s.Reason));

        await MonitoringHost.EventuallyAsync(async () =>
        {
            var response = await _http.PostAsJsonAsync(Url(AppTopology.Serving.AppId, "/v1/predictions"), new
            {
                model = Model, symbol = Symbol, interval = "1d", features = features[Total - 1], time = _bars[Total - 1].Time,
            });
            return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("version").GetInt32() == outcome.Challenger;
        }, "serving answers with the promoted challenger", seconds: 120);
        Assert.Equal(1, versions[0]);
    }
}
