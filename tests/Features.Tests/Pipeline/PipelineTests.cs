using Platform.BuildingBlocks.PubSub;
using Platform.Features.History;
using Platform.Features.Pipeline;
using Platform.Quant;
using Platform.Quant.Features;

namespace Platform.Features.Tests.Pipeline;

/// <summary>The pipeline over the embedded runtime: events in through the publish port, effects observed in the stores.</summary>
public sealed class PipelineTests : IAsyncLifetime
{
    private static readonly string[] Sets = [FeatureSets.Alpha158V1.Id, FeatureSets.IndicatorsV1.Id];
    private FeaturesApp _app = null!;

    public async Task InitializeAsync() => _app = await FeaturesApp.StartAsync();

    public async Task DisposeAsync() => await _app.DisposeAsync();

    private Task AssertHistoryEqualsBatchAsync(string symbol, IReadOnlyList<Bar> bars) => AssertHistoryEqualsBatchAsync(_app, symbol, bars);

    private static async Task AssertHistoryEqualsBatchAsync(FeaturesApp app, string symbol, IReadOnlyList<Bar> bars)
    {
        foreach (var setId in Sets)
        {
            var expected = ExpectedFeatures.Compute(symbol, BarInterval.OneDay, FeatureSets.Get(setId), bars);
            var rows = await app.History.GetAsync(new FeatureHistoryQuery(setId, symbol, BarInterval.OneDay));
            Assert.Equal(expected.Times, rows.Select(r => r.Time).ToList());
            for (var i = 0; i < rows.Count; i++) TestBars.Identical(expected.Values[i], rows[i].Values, $"{setId} {symbol} bar {i}");
        }
    }

    [Fact]
    public async Task BarClosed_StreamOfBars_PublishesFeaturesWritesFeatureStoreAndHistory()
    {
        var bars = TestBars.Daily(80);
        await _app.StreamAsync("AAA", bars);
        await _app.WaitForLatestAsync("AAA", bars[^1].Time, Sets);

        foreach (var setId in Sets)
        {
            var set = FeatureSets.Get(setId);
            var published = _app.Events.FeaturesComputed(setId).Where(e => e.Symbol == "AAA").ToList();
            Assert.Equal(bars.Select(b => b.Time), published.Select(e => e.Time));
            // Compact events: no names, the set's hash, and the names resolve from the set.
            Assert.All(published, e => Assert.Null(e.Names));
            Assert.All(published, e => Assert.Equal(set.Hash, e.SetHash));
            Assert.Equal(set.Features, FeatureJson.ResolveNames(published[0]));
            var expected = ExpectedFeatures.Compute("AAA", BarInterval.OneDay, set, bars);
            TestBars.Identical(expected.Values[^1], published[^1].Values, "published latest");

            var latest = await _app.Online.GetAsync(setId, "AAA", "1d");
            Assert.NotNull(latest);
            Assert.Equal(set.Hash, latest.SetHash);
            Assert.Equal(bars[^1].Time, latest.Time);
            TestBars.Identical(expected.Values[^1], FeatureJson.FromNullable(latest.Values), "featurestore");
        }
        await AssertHistoryEqualsBatchAsync("AAA", bars);
        Assert.Equal(80 * Sets.Length, _app.Metrics.Processed);
    }

    [Fact]
    public async Task BarsImported_ImportedRange_EqualsStreamingAndPublishesOnlyTheLatest()
    {
        var bars = TestBars.Daily(150, seed: 11);
        await _app.StreamAsync("STREAM", bars);
        await _app.StoreAsync("BATCH", bars);
        var import = new BarsImported("imp-1", "BATCH", "1d", bars[0].Time, bars[^1].Time, bars.Count);
        await _app.Publisher.PublishAsync(import);
        await _app.WaitForLatestAsync("STREAM", bars[^1].Time, Sets);
        await _app.WaitForLatestAsync("BATCH", bars[^1].Time, Sets);

        foreach (var setId in Sets)
        {
            var streamed = await _app.History.GetAsync(new FeatureHistoryQuery(setId, "STREAM", BarInterval.OneDay));
            var batched = await _app.History.GetAsync(new FeatureHistoryQuery(setId, "BATCH", BarInterval.OneDay));
            Assert.Equal(streamed.Select(r => r.Time), batched.Select(r => r.Time));
            for (var i = 0; i < streamed.Count; i++) TestBars.Identical(streamed[i].Values, batched[i].Values, $"{setId} bar {i}");
            var published = _app.Events.FeaturesComputed(setId).Where(e => e.Symbol == "BATCH").ToList();
            Assert.Equal([bars[^1].Time], published.Select(e => e.Time));
        }

        // The same import delivered again: no second effect.
        var before = _app.Events.All.Count;
        await _app.Publisher.PublishAsync(import);
        var more = TestBars.Daily(151, seed: 11)[^1];
        await _app.StreamAsync("BATCH", [more]);
        await _app.WaitForLatestAsync("BATCH", more.Time, Sets);
        Assert.Equal(before + Sets.Length, _app.Events.All.Count);
        Assert.Equal(bars.Count * Sets.Length, _app.Metrics.Recomputed);
        await AssertHistoryEqualsBatchAsync("BATCH", [.. bars, more]);
    }

    [Fact]
    public async Task BarsImported_CorrectionInsideTheStreamedRange_RewritesFromTheImportOnwards()
    {
        var bars = TestBars.Daily(90, seed: 5);
        await _app.StreamAsync("FIX", bars);
        await _app.WaitForLatestAsync("FIX", bars[^1].Time, Sets);

        // A vendor correction of bars 40..49: stored (overwrite), then announced as one import.
        var corrected = bars.Select((b, i) => i is >= 40 and < 50 ? b with { Close = Math.Min(b.High, b.Close * 1.001) } : b).ToList();
        await _app.Bars.WriteAsync(new Platform.OfflineStore.BarWrite(corrected.Skip(40).Take(10).Select(b => new SymbolBar("FIX", BarInterval.OneDay, b)).ToList())
        { OnConflict = Platform.OfflineStore.ConflictPolicy.Overwrite });
        await _app.Publisher.PublishAsync(new BarsImported("fix-1", "FIX", "1d", corrected[40].Time, corrected[49].Time, 10));
        await FeaturesApp.WaitUntilAsync(() => _app.Metrics.Recomputed == 50 * Sets.Length, "the recompute of bars 40..89 for each set");

        await AssertHistoryEqualsBatchAsync("FIX", corrected);
        var next = TestBars.Daily(91, seed: 5)[^1];
        await _app.StreamAsync("FIX", [next]);
        await _app.WaitForLatestAsync("FIX", next.Time, Sets);
        await AssertHistoryEqualsBatchAsync("FIX", [.. corrected, next]);
    }

    [Fact]
    public async Task BarClosed_Redelivered_IgnoredWithNoSecondEffect()
    {
        var bars = TestBars.Daily(30);
        await _app.StreamAsync("DUP", bars);
        await _app.WaitForLatestAsync("DUP", bars[^1].Time, Sets);
        var published = _app.Events.All.Count;

        await _app.Publisher.PublishAsync(FeaturesApp.Event("DUP", bars[^1]));
        await _app.Publisher.PublishAsync(FeaturesApp.Event("DUP", bars[10]));
        await FeaturesApp.WaitUntilAsync(() => _app.Metrics.Duplicates == 2 * Sets.Length, "two duplicates per set");

        Assert.Equal(published, _app.Events.All.Count);
        Assert.Equal(0, _app.Metrics.OutOfOrder);
        Assert.Equal(30 * Sets.Length, _app.Metrics.Processed);
        await AssertHistoryEqualsBatchAsync("DUP", bars);
    }

    [Fact]
    public async Task BarClosed_OutOfOrder_ReportedAndIgnoredWithoutCorruptingState()
    {
        var bars = TestBars.Daily(40);
        var late = bars[20];
        var onTime = bars.Where((_, i) => i != 20).ToList();
        await _app.StreamAsync("OOO", onTime.Take(21));
        await _app.Publisher.PublishAsync(FeaturesApp.Event("OOO", late));
        await _app.StreamAsync("OOO", onTime.Skip(21));
        await _app.WaitForLatestAsync("OOO", bars[^1].Time, Sets);

        Assert.Equal(Sets.Length, _app.Metrics.OutOfOrder);
        Assert.Equal(0, _app.Metrics.Duplicates);
        Assert.DoesNotContain(_app.Events.FeaturesComputed(), e => e.Symbol == "OOO" && e.Time == late.Time);
        await AssertHistoryEqualsBatchAsync("OOO", onTime);
    }

    [Fact]
    public async Task BarClosed_OutOfOrderInsideOneBatch_ReportedAndTheRestComputed()
    {
        var bars = TestBars.Daily(40, seed: 13);
        var late = bars[20];
        var onTime = bars.Where((_, i) => i != 20).ToList();
        await _app.StoreAsync("OOB", onTime);
        var events = onTime.Select(b => EventPublisherExtensions.ToOutgoing(FeaturesApp.Event("OOB", b))).ToList();
        events.Insert(25, EventPublisherExtensions.ToOutgoing(FeaturesApp.Event("OOB", late)));
        await _app.Publisher.PublishManyAsync(events);
        await _app.WaitForLatestAsync("OOB", bars[^1].Time, Sets);

        Assert.Equal(Sets.Length, _app.Metrics.OutOfOrder);
        Assert.Equal(onTime.Count * Sets.Length, _app.Metrics.Processed);
        Assert.DoesNotContain(_app.Events.FeaturesComputed(), e => e.Symbol == "OOB" && e.Time == late.Time);
        await AssertHistoryEqualsBatchAsync("OOB", onTime);
    }

    [Fact]
    public async Task BarClosed_StoredBarsWithoutEvents_GapFilledFromTheOfflineStore()
    {
        var bars = TestBars.Daily(30);
        await _app.StoreAsync("GAP", bars);
        foreach (var b in bars.Take(10).Append(bars[^1])) await _app.Publisher.PublishAsync(FeaturesApp.Event("GAP", b));
        await _app.WaitForLatestAsync("GAP", bars[^1].Time, Sets);

        Assert.Equal(19 * Sets.Length, _app.Metrics.GapFilled);
        await AssertHistoryEqualsBatchAsync("GAP", bars);
    }

    [Fact]
    public async Task BarClosed_GapLongerThanTheHistoryChunk_SameAsBatch()
    {
        await using var app = await FeaturesApp.StartAsync(settings: new Dictionary<string, string?> { ["Features:HistoryChunkRows"] = "4" });
        var bars = TestBars.Daily(30, seed: 17);
        await app.StoreAsync("GCH", bars);
        await app.Publisher.PublishManyAsync(bars.Take(3).Append(bars[^1]).Select(b => EventPublisherExtensions.ToOutgoing(FeaturesApp.Event("GCH", b))).ToList());
        await app.WaitForLatestAsync("GCH", bars[^1].Time, Sets);

        Assert.Equal(26 * Sets.Length, app.Metrics.GapFilled);
        await AssertHistoryEqualsBatchAsync(app, "GCH", bars);
    }

    [Fact]
    public async Task BarClosed_BatchOfManySymbols_EventsInDeliveryOrderAndHistorySameAsBatch()
    {
        string[] symbols = ["MA", "MB", "MC", "MD", "ME", "MF"];
        var bars = symbols.ToDictionary(s => s, s => TestBars.Daily(25, seed: (ulong)s[1]));
        foreach (var symbol in symbols) await _app.StoreAsync(symbol, bars[symbol]);
        // One publish, bars interleaved across the symbols as a relay sends them: the pipeline gets them as one batch.
        var events = Enumerable.Range(0, 25).SelectMany(i => symbols.Select(s => FeaturesApp.Event(s, bars[s][i]))).ToList();
        await _app.Publisher.PublishManyAsync(events.Select(e => EventPublisherExtensions.ToOutgoing(e)).ToList());
        foreach (var symbol in symbols) await _app.WaitForLatestAsync(symbol, bars[symbol][^1].Time, Sets);

        var expected = events.SelectMany(e => Sets.Select(set => new FeaturesComputed(e.Symbol, e.Interval, e.Time, set, null, []).EventId)).ToList();
        Assert.Equal(expected, _app.Events.All.Where(e => e.Topic == Topics.MarketFeatures).Select(e => e.Id).ToList());
        foreach (var symbol in symbols) await AssertHistoryEqualsBatchAsync(symbol, bars[symbol]);
    }

    [Fact]
    public async Task BarClosed_GapsOfManySymbolsLongerThanTheHistoryChunk_SameAsBatch()
    {
        await using var app = await FeaturesApp.StartAsync(settings: new Dictionary<string, string?> { ["Features:HistoryChunkRows"] = "4" });
        string[] symbols = ["GA", "GB", "GC"];
        var bars = symbols.ToDictionary(s => s, s => TestBars.Daily(30, seed: (ulong)s[1]));
        foreach (var symbol in symbols) await app.StoreAsync(symbol, bars[symbol]);
        // Three bars of each symbol, then (after a gap of 26 stored bars) the last: one batch.
        var events = bars[symbols[0]].Take(3).Select((_, i) => i).Append(29)
            .SelectMany(i => symbols.Select(s => EventPublisherExtensions.ToOutgoing(FeaturesApp.Event(s, bars[s][i])))).ToList();
        await app.Publisher.PublishManyAsync(events);
        foreach (var symbol in symbols) await app.WaitForLatestAsync(symbol, bars[symbol][^1].Time, Sets);

        Assert.Equal(symbols.Length * 26 * Sets.Length, app.Metrics.GapFilled);
        foreach (var symbol in symbols) await AssertHistoryEqualsBatchAsync(app, symbol, bars[symbol]);
    }

    [Fact]
    public async Task BarClosed_BatchWithPoisonEntries_OnlyThoseDeadLetteredTheRestComputed()
    {
        var bars = TestBars.Daily(40, seed: 9);
        await _app.StoreAsync("PSN", bars);
        var events = bars.Select(b => EventPublisherExtensions.ToOutgoing(FeaturesApp.Event("PSN", b))).ToList();
        // Data that is not a bar (dropped at once), and a bar whose symbol the state store refuses as a key (the handler throws
        // on every attempt): both in the middle of one batch.
        events.Insert(10, new OutgoingEvent(Topics.MarketBars, "bar:malformed", nameof(BarClosed), "{\"symbol\":17,\"open\":\"x\"}"u8.ToArray()));
        var refused = EventPublisherExtensions.ToOutgoing(FeaturesApp.Event("PSN||X", bars[5]));
        events.Insert(25, refused);
        await _app.Publisher.PublishManyAsync(events);
        await _app.WaitForLatestAsync("PSN", bars[^1].Time, Sets);

        Assert.Equal(["bar:malformed", refused.Id], DeadLetters(_app.DataDir, Topics.MarketBars));
        await AssertHistoryEqualsBatchAsync("PSN", bars);
        Assert.Equal(40 * Sets.Length, _app.Metrics.Processed);
        Assert.Equal(0, _app.Metrics.Duplicates + _app.Metrics.OutOfOrder + _app.Metrics.GapFilled);
    }

    [Fact]
    public async Task BarClosed_PublishFailsMidBatch_RedeliveryLeavesNoDuplicatesOrGaps()
    {
        var bars = TestBars.Daily(60, seed: 21);
        await _app.StoreAsync("MID", bars);
        _app.Events.FailOnceAfter(Sets.Length * 30);
        await _app.Publisher.PublishManyAsync(bars.Select(b => EventPublisherExtensions.ToOutgoing(FeaturesApp.Event("MID", b))).ToList());
        await _app.WaitForLatestAsync("MID", bars[^1].Time, Sets);

        await AssertHistoryEqualsBatchAsync("MID", bars);
        Assert.Equal(60 * Sets.Length, _app.Metrics.Processed);
        Assert.Equal(0, _app.Metrics.Duplicates + _app.Metrics.OutOfOrder + _app.Metrics.GapFilled + _app.Metrics.RebuildMismatches);
        foreach (var setId in Sets)
        {
            var published = _app.Events.FeaturesComputed(setId).Where(e => e.Symbol == "MID").Select(e => e.Time).ToList();
            // At least once: the events sent before the failure went out again with the same ids.
            Assert.Equal(bars.Select(b => b.Time), published.Distinct());
            Assert.True(published.Count > bars.Count, $"{setId}: {published.Count} events, so the failure did not happen mid-batch");
            var checkpoint = await _app.PrivateStateAsync<FeatureCheckpoint>(FeatureCheckpoint.Key(setId, "MID", "1d"));
            Assert.Equal(new FeatureCheckpoint(FeatureSets.Get(setId).Hash, bars[^1].Time, bars.Count), checkpoint);
        }
    }

    /// <summary>The ids on a topic's dead-letter topic, read from the embedded log.</summary>
    private static List<string> DeadLetters(string dataDir, string topic)
    {
        using var connection = new Microsoft.Data.Sqlite.SqliteConnection(
            $"Data Source={Platform.BuildingBlocks.Embedded.EmbeddedRuntimeExtensions.EventLogFile(dataDir)};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT id FROM events WHERE topic = $topic ORDER BY seq";
        cmd.Parameters.AddWithValue("$topic", Topics.DeadLetter(topic));
        using var reader = cmd.ExecuteReader();
        var ids = new List<string>();
        while (reader.Read()) ids.Add(reader.GetString(0));
        return ids;
    }

    [Fact]
    public async Task BarClosed_UnknownInterval_CountedAndNotRetried()
    {
        var b = TestBars.Daily(1)[0];
        await _app.Publisher.PublishAsync(FeaturesApp.Event("BAD", b, interval: "7x"));
        await FeaturesApp.WaitUntilAsync(() => _app.Metrics.Invalid == 1, "the invalid bar");
        Assert.Empty(await _app.History.GetCoverageAsync("BAD"));
    }
}

/// <summary>Stop the app, start it again on the same data: the streams continue with no gap and no double counting.</summary>
public sealed class RestartTests
{
    private static readonly string[] Sets = [FeatureSets.Alpha158V1.Id, FeatureSets.IndicatorsV1.Id];

    [Fact]
    public async Task Restart_StreamContinues_NoGapsNoDoubleCountingSameAsBatch()
    {
        var bars = TestBars.Daily(120, seed: 3);
        await using var app = await FeaturesApp.StartAsync();
        await app.StreamAsync("RST", bars.Take(60));
        await app.WaitForLatestAsync("RST", bars[59].Time, Sets);

        await app.StopAsync();
        // Bars that arrive while the service is down wait in the log.
        await app.StoreAsync("RST", bars.Skip(60).Take(20));
        var publisher = new Platform.BuildingBlocks.Embedded.EmbeddedEventPublisher(Platform.BuildingBlocks.Embedded.EventLog.For(Platform.BuildingBlocks.Embedded.EmbeddedRuntimeExtensions.EventLogFile(app.DataDir)),
            "marketdata", new PubSubOptions());
        foreach (var b in bars.Skip(60).Take(20)) await publisher.PublishAsync(FeaturesApp.Event("RST", b));

        await app.RestartAsync();
        await app.StreamAsync("RST", bars.Skip(80));
        await app.WaitForLatestAsync("RST", bars[^1].Time, Sets);

        Assert.Equal(0, app.Metrics.RebuildMismatches);
        Assert.Equal(0, app.Metrics.GapFilled);
        foreach (var setId in Sets)
        {
            var published = app.Events.FeaturesComputed(setId).Where(e => e.Symbol == "RST").Select(e => e.Time).ToList();
            Assert.Equal(bars.Select(b => b.Time), published);
            var expected = ExpectedFeatures.Compute("RST", BarInterval.OneDay, FeatureSets.Get(setId), bars);
            var rows = await app.History.GetAsync(new FeatureHistoryQuery(setId, "RST", BarInterval.OneDay));
            Assert.Equal(expected.Times, rows.Select(r => r.Time).ToList());
            for (var i = 0; i < rows.Count; i++) TestBars.Identical(expected.Values[i], rows[i].Values, $"{setId} bar {i}");
            var checkpoint = await app.PrivateStateAsync<FeatureCheckpoint>(FeatureCheckpoint.Key(setId, "RST", "1d"));
            Assert.Equal(new FeatureCheckpoint(FeatureSets.Get(setId).Hash, bars[^1].Time, bars.Count), checkpoint);
        }
    }
}
