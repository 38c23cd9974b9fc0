using Platform.BuildingBlocks.State;
using Platform.Host;
using Platform.Host.Loop;
using Platform.OfflineStore.Monitoring;
using Platform.Training.Retraining;
using Platform.Workflows;
using Xunit.Abstractions;

namespace Platform.Monitoring.Tests;

/// <summary>
/// The whole loop through the embedded platform (every service in one process, the embedded event log), as
/// <c>./platform loop</c> runs it: a volatility model trained before a regime change (volatility x2.5 at a known bar)
/// is served; the bars after it close one by one and every service does the rest through its own subscriptions:
/// features are computed, serving scores each vector, monitoring joins outcomes and detects drift after the change,
/// training retrains once, and the challenger is promoted on the post-change holdout, after which serving serves it.
/// </summary>
[Trait("Category", "Slow")]
public sealed class ClosedLoopTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "closed-loop-" + Guid.NewGuid().ToString("N"));
    private EmbeddedPlatform _platform = null!;

    public async Task InitializeAsync() => _platform = await EmbeddedPlatform.StartAsync(new EmbeddedPlatformOptions
    {
        DataDir = _dataDir,
        GatewayUrl = "http://127.0.0.1:0",
        EphemeralServicePorts = true,
        Settings = new Dictionary<string, string?>(RegimeChangeLoop.Settings)
        {
            ["PubSub:Embedded:PollInterval"] = "00:00:00.020",
            ["Logging:LogLevel:Platform"] = "Warning",
        },
    });

    public async Task DisposeAsync()
    {
        await _platform.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(_dataDir, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public async Task RegimeChange_DriftRetrainingAndPromotion_ServingServesTheNewVersion()
    {
        var options = new RegimeChangeLoopOptions { BarsPerSecond = 0 };
        var loop = new RegimeChangeLoop(_platform, options, p => output.WriteLine($"{p.Step}: {p.Detail}"));

        var result = await loop.RunAsync(CancellationToken.None);

        // Every bar after training was scored as it closed, and every prediction whose horizon passed is joined.
        var closed = options.Bars - options.TrainedTo - 1;
        Assert.Equal(closed, result.Predictions);
        Assert.Equal(closed - 5, result.Outcomes);
        Assert.True(result.FirstDriftBar > options.ChangeAt, $"first drift window ends at bar {result.FirstDriftBar}, the change is at bar {options.ChangeAt}");

        var view = result.Retraining!;
        Assert.Equal("completed", view.Status);
        Assert.Equal(1, view.Record!.Sequence);
        var outcome = view.Outcome!;
        Assert.True(outcome.Promoted, outcome.Reason);
        Assert.True(outcome.Holdout.From > result.ChangeTime, "the holdout window must lie after the change");
        Assert.True(outcome.Holdout.Challenger < outcome.Holdout.Champion, outcome.Reason);
        Assert.Equal(["har-rv", "last", "mean"], outcome.Holdout.Baselines.Keys.Order());
        Assert.True(outcome.Holdout.ChampionTrainedOnWindow is false);
        Assert.Equal(result.InitialVersion, outcome.Champion);
        Assert.Equal(outcome.Challenger, result.ServedVersion);

        // Later drift windows of the same model fall in the cooldown: each is recorded as skipped, none retrained.
        var detections = await _platform.Services(AppTopology.Monitoring.AppId).GetRequiredService<IPredictionStore>()
            .GetDriftAsync(options.Model, 1000);
        var later = detections.OrderBy(d => d.WindowEnd).Skip(1).Select(d => d.EventId).ToList();
        var training = _platform.Services(AppTopology.Training.AppId);
        await MonitoringHost.EventuallyAsync(async () =>
        {
            view = (await RetrainingExtensions.ViewAsync(options.Model, training.GetRequiredService<IStateStoreProvider>(),
                training.GetRequiredService<WorkflowClient>(), CancellationToken.None))!;
            return later.All(id => view.Record!.Skipped.Any(s => s.TriggerId == id));
        }, "later drift windows recorded as skipped");
        output.WriteLine($"{detections.Count} drift windows; skipped: {string.Join(", ", view.Record!.Skipped.Select(s => s.TriggerId))}");
        Assert.Equal(1, view.Record.Sequence);
        Assert.All(view.Record.Skipped, s => Assert.StartsWith("cooldown", s.Reason));
    }
}
