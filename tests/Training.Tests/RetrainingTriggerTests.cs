using Platform.BuildingBlocks;
using Platform.BuildingBlocks.PubSub;
using Platform.BuildingBlocks.State;
using Platform.Modeling.Registry;
using Platform.Training.Retraining;

namespace Platform.Training.Tests;

/// <summary>Retraining triggers on the training service (embedded runtime): drift events, redeliveries, the cooldown.</summary>
public sealed class RetrainingTriggerTests : IAsyncLifetime
{
    private static readonly DateTimeOffset End = new(2024, 6, 3, 0, 0, 0, TimeSpan.Zero);
    private readonly string _dir = Directory.CreateTempSubdirectory("retraining-").FullName;
    private TrainingHost _host = null!;

    private ModelRegistry Registry => _host.Services.GetRequiredService<ModelRegistry>();
    private RetrainingTrigger Trigger => _host.Services.GetRequiredService<RetrainingTrigger>();

    public async Task InitializeAsync()
    {
        _host = await TrainingHost.StartAsync(_dir);
        var lineage = new ModelLineage("fp", "alpha158@1", "hash", "volatility", 5, ["AAA"], End.AddYears(-2), End.AddMonths(-6), "ridge",
            new SortedDictionary<string, string>(StringComparer.Ordinal), 1, [], null, null, null, "test");
        var v = await Registry.RegisterAsync("vol", [1, 2, 3], lineage, runId: null);
        await Registry.PromoteAsync("vol", v.Version, ModelStage.Production);
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    private static DriftDetected Drift(string model, int day) =>
        new(model, ["target"], "psi", 0.9, End.AddDays(day - 60), End.AddDays(day), 1, 0.25, 60, []);

    private async Task<RetrainingRecord?> RecordAsync(string model) =>
        await _host.Services.GetRequiredService<IStateStoreProvider>().PrivateStore().GetAsync<RetrainingRecord>(RetrainingTrigger.Key(model));

    [Fact]
    public async Task DriftEvents_SecondWithinCooldown_OneRunAndTheSecondRecordedAsSkipped()
    {
        var publisher = _host.Services.GetRequiredService<IEventPublisher>();
        await publisher.PublishAsync(Drift("vol", 0));
        await publisher.PublishAsync(Drift("vol", 1));

        var deadline = DateTime.UtcNow.AddSeconds(60);
        RetrainingRecord? record;
        while ((record = await RecordAsync("vol")) is not { Skipped.Count: 1 } && DateTime.UtcNow < deadline) await Task.Delay(20);

        Assert.NotNull(record);
        Assert.Equal((1, "retrain-vol-1"), (record.Sequence, record.InstanceId));
        Assert.Equal(Drift("vol", 0).EventId, record.Trigger);
        var skipped = Assert.Single(record.Skipped);
        Assert.Equal(Drift("vol", 1).EventId, skipped.TriggerId);
        Assert.StartsWith("cooldown", skipped.Reason);
    }

    [Fact]
    public async Task OnDriftAsync_SameEventRedelivered_SameInstanceAndNothingSkipped()
    {
        var drift = Drift("vol", 3);

        var first = await Trigger.OnDriftAsync(drift, drift.EventId, CancellationToken.None);
        var again = await Trigger.OnDriftAsync(drift, drift.EventId, CancellationToken.None);

        Assert.Equal("retrain-vol-1", first);
        Assert.Equal(first, again);
        var record = (await RecordAsync("vol"))!;
        Assert.Equal(1, record.Sequence);
        Assert.Empty(record.Skipped);
    }

    [Fact]
    public async Task OnDriftAsync_ModelWithoutChampion_SkippedWithTheReason()
    {
        var drift = Drift("unknown-model", 0);

        Assert.Null(await Trigger.OnDriftAsync(drift, drift.EventId, CancellationToken.None));

        var record = (await RecordAsync("unknown-model"))!;
        Assert.Null(record.InstanceId);
        Assert.Equal("the model has no champion", Assert.Single(record.Skipped).Reason);
    }
}
