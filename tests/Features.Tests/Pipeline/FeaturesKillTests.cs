using Microsoft.Data.Sqlite;
using Platform.BuildingBlocks.Embedded;
using Platform.BuildingBlocks.PubSub;
using Platform.Features.History;
using Platform.Features.Pipeline;
using Platform.Features.Testing;
using Platform.Quant;
using Platform.Quant.Features;
using Platform.OfflineStore;
using Platform.OfflineStore.Sqlite;
using Platform.TestSupport;
using EventLog = Platform.BuildingBlocks.Embedded.EventLog;

namespace Platform.Features.Tests.Pipeline;

/// <summary>
/// A batch of streamed bars and SIGKILL, with a real process: the features service runs as an OS process of its own (its
/// own entry point, embedded runtime, SQLite files in a temporary data directory), halts in its first batch at a kill point
/// (<see cref="KillPoints"/>) and is killed there; the service is then started again on the same data directory and more
/// bars follow. Every bar ends up computed once: history equal to the batch replay, checkpoints counting each bar once,
/// and every event id published (at least once, the same id and content when it went out twice).
/// </summary>
[Trait("Category", "Slow")]
public sealed class FeaturesKillTests
{
    private const string Symbol = "KIL";
    private static readonly string[] Sets = [FeatureSets.Alpha158V1.Id, FeatureSets.IndicatorsV1.Id];
    private static readonly TimeSpan Wait = TimeSpan.FromMinutes(2);

    [Theory]
    [InlineData(KillPoints.AfterStores)]
    [InlineData(KillPoints.AfterPublish)]
    public async Task BarClosed_KilledMidBatch_RestartStoresEveryBarOnceEqualToBatch(string point)
    {
        var dir = Directory.CreateTempSubdirectory("features-kill-").FullName;
        var bars = TestBars.Daily(120, seed: 11);
        var store = SqliteBarStore.InDataDir(dir);
        await store.InitializeAsync();
        await store.WriteAsync(new BarWrite(bars.Select(b => new SymbolBar(Symbol, BarInterval.OneDay, b)).ToList()));
        var publisher = new EmbeddedEventPublisher(EventLog.For(EmbeddedRuntimeExtensions.EventLogFile(dir)), "marketdata", new PubSubOptions());
        await publisher.PublishManyAsync(bars.Take(80).Select(b => EventPublisherExtensions.ToOutgoing(FeaturesApp.Event(Symbol, b))).ToList());

        using (var first = await ServiceChildProcess.StartAsync("Features", dir, new Dictionary<string, string> { [KillPoints.ConfigurationKey] = point }, Wait))
        {
            await first.WaitForLineAsync($"HALTED {point}", Wait);
            first.Kill();
        }
        var publishedBeforeKill = MarketFeatures(dir).Count;
        await publisher.PublishManyAsync(bars.Skip(80).Select(b => EventPublisherExtensions.ToOutgoing(FeaturesApp.Event(Symbol, b))).ToList());

        await using var app = await FeaturesApp.StartAsync(dir);
        // The killed process's lease on the cursor expires first (10 s).
        await app.WaitForLatestAsync(Symbol, bars[^1].Time, Sets, Wait);

        var events = MarketFeatures(dir);
        Assert.Equal(point == KillPoints.AfterPublish, publishedBeforeKill > 0);
        Assert.Equal(bars.Count * Sets.Length, events.Select(e => e.Id).Distinct().Count());
        Assert.All(events.GroupBy(e => e.Id), g => Assert.Single(g.Select(e => Convert.ToBase64String(e.Data)).Distinct()));
        Assert.Equal(bars.Count * Sets.Length + publishedBeforeKill, events.Count);
        foreach (var setId in Sets)
        {
            var set = FeatureSets.Get(setId);
            var expected = ExpectedFeatures.Compute(Symbol, BarInterval.OneDay, set, bars);
            var rows = await app.History.GetAsync(new FeatureHistoryQuery(setId, Symbol, BarInterval.OneDay));
            Assert.Equal(expected.Times, rows.Select(r => r.Time).ToList());
            for (var i = 0; i < rows.Count; i++) TestBars.Identical(expected.Values[i], rows[i].Values, $"{setId} bar {i}");
            Assert.Equal(new FeatureCheckpoint(set.Hash, bars[^1].Time, bars.Count), await app.PrivateStateAsync<FeatureCheckpoint>(FeatureCheckpoint.Key(setId, Symbol, "1d")));
            Assert.Equal(bars[^1].Time, (await app.Online.GetAsync(setId, Symbol, "1d"))?.Time);
        }
        Assert.Equal(0, app.Metrics.RebuildMismatches + app.Metrics.OutOfOrder + app.Metrics.GapFilled);
    }

    /// <summary>Every event on <c>market-features</c> in the embedded log, in log order.</summary>
    private static List<(string Id, byte[] Data)> MarketFeatures(string dataDir)
    {
        using var connection = new SqliteConnection($"Data Source={EmbeddedRuntimeExtensions.EventLogFile(dataDir)};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT id, data FROM events WHERE topic = $topic ORDER BY seq";
        cmd.Parameters.AddWithValue("$topic", Topics.MarketFeatures);
        using var reader = cmd.ExecuteReader();
        var events = new List<(string, byte[])>();
        while (reader.Read()) events.Add((reader.GetString(0), (byte[])reader.GetValue(1)));
        return events;
    }
}
