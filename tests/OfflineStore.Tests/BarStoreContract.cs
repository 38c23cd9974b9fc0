using System.Text;
using Platform.BuildingBlocks.PubSub;
using Platform.OfflineStore.Postgres;
using Platform.OfflineStore.Sqlite;
using Platform.Quant;
using Platform.TestSupport;

namespace Platform.OfflineStore.Tests;

/// <summary>What every <see cref="IBarStore"/> adapter must do; each adapter's class only says how to open one.</summary>
public abstract class BarStoreContract() : StoreContract<IBarStore>(store => store.InitializeAsync())
{
    protected static readonly DateTimeOffset T0 = new(2024, 1, 1, 0, 0, 0, TimeSpan.Zero);

    protected static string NewSymbol() => "S" + Guid.NewGuid().ToString("N")[..10].ToUpperInvariant();

    protected static List<SymbolBar> Daily(string symbol, int count, int startDay = 0, double price = 100) =>
        Enumerable.Range(startDay, count)
            .Select(i => new SymbolBar(symbol, BarInterval.OneDay, new Bar(T0.AddDays(i), price + i, price + i + 2, price + i - 1, price + i + 1, 1000 + i)))
            .ToList();

    protected static BarWrite Import(IReadOnlyList<SymbolBar> bars, ConflictPolicy policy = ConflictPolicy.Reject) => new(bars)
    {
        OnConflict = policy,
        PerSeries = c => new OutgoingEvent("market-bars", $"import:{c.Symbol}:{c.Count}", "BarsImported",
            Encoding.UTF8.GetBytes($$"""{"symbol":"{{c.Symbol}}","count":{{c.Count}}}"""), c.Symbol),
    };

    private async Task<List<OutboxMessage>> DrainAsync()
    {
        var sent = new List<OutboxMessage>();
        while (await Store.RelayOutboxAsync((batch, _) => { sent.AddRange(batch); return Task.CompletedTask; }) > 0) { }
        return sent;
    }

    [Fact]
    public async Task WriteAsync_NewBars_InsertsAllAndQueuesOneEventPerSeries()
    {
        var a = NewSymbol();
        var b = NewSymbol();
        var result = await Store.WriteAsync(Import([.. Daily(a, 10), .. Daily(b, 5)]));

        Assert.True(result.Committed);
        Assert.Equal(15, result.Inserted);
        Assert.Equal(2, result.EventsQueued);
        var change = Assert.Single(result.Changes, c => c.Symbol == a);
        Assert.Equal((T0, T0.AddDays(9), 10L), (change.From, change.To, change.Count));
        var events = await DrainAsync();
        Assert.Equal(new[] { $"import:{a}:10", $"import:{b}:5" }.Order(), events.Select(e => e.Event.Id).Order());
        Assert.Equal(0, await Store.PendingOutboxCountAsync());
    }

    [Fact]
    public async Task WriteAsync_SameBarsAgain_ChangesNothingAndQueuesNoEvent()
    {
        var s = NewSymbol();
        await Store.WriteAsync(Import(Daily(s, 20)));
        await DrainAsync();

        var again = await Store.WriteAsync(Import(Daily(s, 20)));

        Assert.True(again.Committed);
        Assert.Equal((0L, 0L, 20L, 0), (again.Inserted, again.Updated, again.Unchanged, again.EventsQueued));
        Assert.Empty(await DrainAsync());
    }

    [Fact]
    public async Task WriteAsync_ConflictingBarWithReject_WritesNothingAndReportsConflict()
    {
        var s = NewSymbol();
        await Store.WriteAsync(Import(Daily(s, 5)));
        await DrainAsync();
        var incoming = Daily(s, 8);
        incoming[2] = incoming[2] with { Bar = incoming[2].Bar with { Close = incoming[2].Bar.Close + 0.5 } };

        var result = await Store.WriteAsync(Import(incoming));

        Assert.False(result.Committed);
        var conflict = Assert.Single(result.Conflicts);
        Assert.Equal(T0.AddDays(2), conflict.Incoming.Bar.Time);
        Assert.Equal(103.0, conflict.Stored.Bar.Close);
        Assert.Equal(5, (await Store.GetBarsAsync(new BarQuery(s, BarInterval.OneDay))).Count);
        Assert.Empty(await DrainAsync());
    }

    [Fact]
    public async Task WriteAsync_ConflictingBarWithOverwrite_UpdatesAndAnnouncesOnlyTheChange()
    {
        var s = NewSymbol();
        await Store.WriteAsync(Import(Daily(s, 5)));
        await DrainAsync();
        var incoming = Daily(s, 6);
        incoming[1] = incoming[1] with { Bar = incoming[1].Bar with { Volume = 5 } };

        var result = await Store.WriteAsync(Import(incoming, ConflictPolicy.Overwrite));

        Assert.Equal((1L, 1L, 4L), (result.Inserted, result.Updated, result.Unchanged));
        var change = Assert.Single(result.Changes);
        Assert.Equal((T0.AddDays(1), T0.AddDays(5), 2L), (change.From, change.To, change.Count));
        Assert.Equal(5.0, (await Store.GetBarsAsync(new BarQuery(s, BarInterval.OneDay)))[1].Volume);
    }

    [Fact]
    public async Task WriteAsync_PerBarEventsForAll_QueuesOneEventPerBarEvenWhenUnchanged()
    {
        var s = NewSymbol();
        await Store.WriteAsync(Import(Daily(s, 3)));
        await DrainAsync();
        var write = new BarWrite(Daily(s, 4))
        {
            PerBar = b => new OutgoingEvent("market-bars", $"bar:{b.Symbol}:{b.Bar.Time.UtcTicks}", "BarClosed", "{}"u8.ToArray(), b.Symbol),
            PerBarScope = EventScope.All,
        };

        var result = await Store.WriteAsync(write);

        Assert.Equal((1L, 3L, 4), (result.Inserted, result.Unchanged, result.EventsQueued));
        Assert.Equal(4, (await DrainAsync()).Count);
    }

    [Fact]
    public async Task WriteAsync_PerBarChangedOnly_QueuesEventsForNewBarsOnly()
    {
        var s = NewSymbol();
        await Store.WriteAsync(Import(Daily(s, 3)));
        await DrainAsync();
        var write = new BarWrite(Daily(s, 5))
        {
            PerBar = b => new OutgoingEvent("market-bars", $"bar:{b.Symbol}:{b.Bar.Time.UtcTicks}", "BarClosed", "{}"u8.ToArray(), b.Symbol),
        };

        var result = await Store.WriteAsync(write);

        Assert.Equal(2, result.EventsQueued);
        Assert.Equal([$"bar:{s}:{T0.AddDays(3).UtcTicks}", $"bar:{s}:{T0.AddDays(4).UtcTicks}"], (await DrainAsync()).Select(e => e.Event.Id).ToArray());
    }

    [Theory]
    [InlineData(0, 100, -1, "open")]
    [InlineData(1, 99, 98, "high")]
    [InlineData(2, 100, 97, "not aligned")]
    [InlineData(3, 100, 97, "duplicate")]
    public async Task WriteAsync_InvalidBatch_ThrowsAndWritesNothing(int kind, double high, double low, string expected)
    {
        var s = NewSymbol();
        var bars = Daily(s, 3);
        var bad = kind switch
        {
            0 => bars[1] with { Bar = bars[1].Bar with { Open = -1, Low = low } },
            1 => bars[1] with { Bar = bars[1].Bar with { High = high, Low = low, Open = 100, Close = 99.5 } },
            2 => bars[1] with { Bar = bars[1].Bar with { Time = bars[1].Bar.Time.AddHours(3) } },
            _ => bars[1] with { Bar = bars[1].Bar with { Time = bars[0].Bar.Time } },
        };
        bars[1] = bad;

        var ex = await Assert.ThrowsAsync<InvalidBarsException>(() => Store.WriteAsync(Import(bars)));

        Assert.Contains(expected, ex.Message);
        Assert.Empty(await Store.GetBarsAsync(new BarQuery(s, BarInterval.OneDay)));
    }

    [Fact]
    public async Task GetBarsAsync_Range_IsHalfOpenOrderedAndLimited()
    {
        var s = NewSymbol();
        await Store.WriteAsync(Import(Daily(s, 30)));

        var range = await Store.GetBarsAsync(new BarQuery(s, BarInterval.OneDay, T0.AddDays(5), T0.AddDays(10)));
        var limited = await Store.GetBarsAsync(new BarQuery(s, BarInterval.OneDay, T0.AddDays(5), null, 3));
        var otherInterval = await Store.GetBarsAsync(new BarQuery(s, BarInterval.OneHour));

        Assert.Equal(Enumerable.Range(5, 5).Select(i => T0.AddDays(i)), range.Select(b => b.Time));
        Assert.Equal(Enumerable.Range(5, 3).Select(i => T0.AddDays(i)), limited.Select(b => b.Time));
        Assert.Empty(otherInterval);
        Assert.Equal(Daily(s, 30)[7].Bar, range[2]);
    }

    [Fact]
    public async Task GetBarsManyAsync_SeveralRanges_EachAsItsOwnQueryInTheGivenOrder()
    {
        var a = NewSymbol();
        var b = NewSymbol();
        await Store.WriteAsync(Import([.. Daily(a, 30), .. Daily(b, 12, price: 50)]));
        BarQuery[] queries =
        [
            new(b, BarInterval.OneDay, T0.AddDays(3), T0.AddDays(8)),
            new(a, BarInterval.OneDay, T0.AddDays(5), null, 3),
            new(NewSymbol(), BarInterval.OneDay),
            new(a, BarInterval.OneDay, null, T0.AddDays(2)),
            new(a, BarInterval.OneHour),
            new(b, BarInterval.OneDay, T0.AddDays(3), T0.AddDays(8)),
            new(a, BarInterval.OneDay, T0.AddDays(29)),
        ];

        var many = await Store.GetBarsManyAsync(queries);

        Assert.Equal(queries.Length, many.Count);
        for (var i = 0; i < queries.Length; i++) Assert.Equal(await Store.GetBarsAsync(queries[i]), many[i]);
        Assert.Equal([5, 3, 0, 2, 0, 5, 1], many.Select(m => m.Count));
        Assert.Empty(await Store.GetBarsManyAsync([]));
    }

    [Fact]
    public async Task GetCoverageAsync_AfterEarlierInsertsOverwritesAndRepeats_CountsEachStoredBarOnce()
    {
        var s = NewSymbol();
        await Store.WriteAsync(Import(Daily(s, 5, startDay: 10)));
        await Store.WriteAsync(Import(Daily(s, 3, startDay: 2)));
        var changed = Daily(s, 7, startDay: 8);
        changed[3] = changed[3] with { Bar = changed[3].Bar with { Volume = 1 } };
        await Store.WriteAsync(Import(changed, ConflictPolicy.Overwrite));
        await Store.WriteAsync(new BarWrite(Daily(s, 2, startDay: 20)) { PerBar = b => new OutgoingEvent("market-bars", $"bar:{b.Bar.Time.UtcTicks}", "BarClosed", "{}"u8.ToArray(), b.Symbol) });
        await Store.WriteAsync(Import(Daily(s, 3, startDay: 2)));

        var coverage = Assert.Single(await Store.GetCoverageAsync(s));

        Assert.Equal(new SeriesCoverage(s, BarInterval.OneDay, T0.AddDays(2), T0.AddDays(21), 12), coverage);
        Assert.Contains(coverage, await Store.GetCoverageAsync());
    }

    [Fact]
    public async Task GetCoverageAsync_TwoIntervals_ReportsFirstLastAndCountEach()
    {
        var s = NewSymbol();
        await Store.WriteAsync(Import(Daily(s, 12, startDay: 3)));
        var hourly = Enumerable.Range(0, 4).Select(i => new SymbolBar(s, BarInterval.OneHour, new Bar(T0.AddHours(i), 10, 11, 9, 10.5, 1, AdjClose: 10.4, Vwap: 10.2))).ToList();
        await Store.WriteAsync(Import(hourly));

        var coverage = await Store.GetCoverageAsync(s);

        Assert.Equal([new SeriesCoverage(s, BarInterval.OneHour, T0, T0.AddHours(3), 4), new SeriesCoverage(s, BarInterval.OneDay, T0.AddDays(3), T0.AddDays(14), 12)], coverage);
        Assert.Equal(hourly[1].Bar, (await Store.GetBarsAsync(new BarQuery(s, BarInterval.OneHour)))[1]);
    }

    [Fact]
    public async Task RelayOutboxAsync_PublishFails_KeepsEventsPendingUntilAPublishSucceeds()
    {
        var s = NewSymbol();
        await DrainAsync();
        await Store.WriteAsync(Import(Daily(s, 3)));

        await Assert.ThrowsAsync<IOException>(() => Store.RelayOutboxAsync((_, _) => throw new IOException("broker down")));

        Assert.Equal(1, await Store.PendingOutboxCountAsync());
        var sent = await DrainAsync();
        Assert.Equal($"import:{s}:3", Assert.Single(sent).Event.Id);
        Assert.Equal(0, await Store.PendingOutboxCountAsync());
    }

    [Fact]
    public async Task InitializeAsync_Twice_KeepsBars()
    {
        var s = NewSymbol();
        await Store.WriteAsync(Import(Daily(s, 2)));

        await Store.InitializeAsync();

        Assert.Equal(2, (await Store.GetBarsAsync(new BarQuery(s, BarInterval.OneDay))).Count);
    }

    [Fact]
    public async Task StreamBarsAsync_LongRange_YieldsEveryBarInOrder()
    {
        var s = NewSymbol();
        await Store.WriteAsync(Import(Daily(s, 3000)));

        var times = new List<DateTimeOffset>();
        await foreach (var bar in Store.StreamBarsAsync(new BarQuery(s, BarInterval.OneDay))) times.Add(bar.Time);

        Assert.Equal(3000, times.Count);
        Assert.True(times.Zip(times.Skip(1)).All(p => p.First < p.Second));
    }

    private static SeriesBatch Batch(string symbol, IEnumerable<SymbolBar> bars)
    {
        var batch = SeriesBatch.Create(symbol, BarInterval.OneDay);
        foreach (var b in bars) Assert.Null(batch.TryAdd(b.Bar));
        return batch;
    }

    private static SeriesWrite ImportSeries(SeriesBatch batch, ConflictPolicy policy = ConflictPolicy.Reject) => new(batch)
    {
        OnConflict = policy,
        PerSeries = c => new OutgoingEvent("market-bars", $"import:{c.Symbol}:{c.Count}", "BarsImported",
            Encoding.UTF8.GetBytes($$"""{"symbol":"{{c.Symbol}}","count":{{c.Count}}}"""), c.Symbol),
    };

    /// <summary>Makes the store fail (as a server or disk would) when a bar of <paramref name="symbol"/> at <paramref name="time"/> is inserted.</summary>
    protected abstract Task FailInsertAtAsync(string symbol, DateTimeOffset time);

    [Fact]
    public async Task WriteSeriesAsync_EmptyRange_CopiesDirectlyWithCoverageAndOneEvent()
    {
        var s = NewSymbol();
        await Store.WriteSeriesAsync(ImportSeries(Batch(s, Daily(s, 5, startDay: 20))));
        await DrainAsync();

        // Before the stored bars and after them: neither range holds a stored bar.
        var before = await Store.WriteSeriesAsync(ImportSeries(Batch(s, Daily(s, 10))));
        var after = await Store.WriteSeriesAsync(ImportSeries(Batch(s, Daily(s, 3, startDay: 25))));

        Assert.Equal((SeriesWritePath.Direct, SeriesWritePath.Direct), (before.Path, after.Path));
        Assert.Equal((10L, 0L, 0L, 1), (before.Inserted, before.Updated, before.Unchanged, before.EventsQueued));
        Assert.Equal(new SeriesChange(s, BarInterval.OneDay, T0, T0.AddDays(9), 10), Assert.Single(before.Changes));
        Assert.Equal(new SeriesCoverage(s, BarInterval.OneDay, T0, T0.AddDays(27), 18), Assert.Single(await Store.GetCoverageAsync(s)));
        Assert.Equal(new[] { $"import:{s}:10", $"import:{s}:3" }, (await DrainAsync()).Select(e => e.Event.Id).ToArray());
    }

    [Fact]
    public async Task WriteSeriesAsync_EmptyRange_KeepsEveryFieldExactly()
    {
        var s = NewSymbol();
        var bars = Daily(s, 3);
        for (var i = 0; i < bars.Count; i++)
        {
            var b = bars[i].Bar;
            bars[i] = bars[i] with
            {
                Bar = b with
                {
                    Open = 100.1 + i,
                    Close = b.Close + 1e-7,
                    Volume = 1e15 - i,
                    AdjClose = i == 1 ? null : 123.456789012345,
                    Vwap = i == 2 ? null : Math.PI,
                },
            };
        }

        var result = await Store.WriteSeriesAsync(ImportSeries(Batch(s, bars)));

        Assert.Equal(SeriesWritePath.Direct, result.Path);
        Assert.Equal(bars.Select(b => b.Bar), await Store.GetBarsAsync(new BarQuery(s, BarInterval.OneDay)));
    }

    [Fact]
    public async Task WriteSeriesAsync_EmptyOrOverlappingRange_StoresTheSameResult()
    {
        var direct = NewSymbol();
        var merged = NewSymbol();
        // The merged series already holds two of the bars (identical) and one more between them is new, so its range overlaps.
        await Store.WriteAsync(Import(Daily(merged, 10).Where((_, i) => i is 3 or 7).ToList()));
        await DrainAsync();

        var first = await Store.WriteSeriesAsync(ImportSeries(Batch(direct, Daily(direct, 10))));
        var second = await Store.WriteSeriesAsync(ImportSeries(Batch(merged, Daily(merged, 10))));

        Assert.Equal((SeriesWritePath.Direct, SeriesWritePath.Merge), (first.Path, second.Path));
        Assert.Equal((10L, 0L), (first.Inserted, first.Unchanged));
        Assert.Equal((8L, 2L, 0L), (second.Inserted, second.Unchanged, second.Updated));
        Assert.Equal(await Store.GetBarsAsync(new BarQuery(direct, BarInterval.OneDay)), await Store.GetBarsAsync(new BarQuery(merged, BarInterval.OneDay)));
        var a = Assert.Single(await Store.GetCoverageAsync(direct));
        var b = Assert.Single(await Store.GetCoverageAsync(merged));
        Assert.Equal((a.First, a.Last, a.Count), (b.First, b.Last, b.Count));
        Assert.Equal(new[] { $"import:{direct}:10", $"import:{merged}:8" }.Order(), (await DrainAsync()).Select(e => e.Event.Id).Order());
    }

    [Fact]
    public async Task WriteSeriesAsync_OverlappingRangeWithAConflict_WritesNothingOrOverwrites()
    {
        var s = NewSymbol();
        await Store.WriteSeriesAsync(ImportSeries(Batch(s, Daily(s, 5))));
        await DrainAsync();
        var incoming = Daily(s, 8);
        incoming[2] = incoming[2] with { Bar = incoming[2].Bar with { Close = incoming[2].Bar.Close + 0.5 } };

        var rejected = await Store.WriteSeriesAsync(ImportSeries(Batch(s, incoming)));

        Assert.False(rejected.Committed);
        Assert.Equal(T0.AddDays(2), Assert.Single(rejected.Conflicts).Incoming.Bar.Time);
        Assert.Equal(5, (await Store.GetBarsAsync(new BarQuery(s, BarInterval.OneDay))).Count);
        Assert.Empty(await DrainAsync());

        var overwritten = await Store.WriteSeriesAsync(ImportSeries(Batch(s, incoming), ConflictPolicy.Overwrite));

        Assert.Equal((3L, 1L, 4L, SeriesWritePath.Merge), (overwritten.Inserted, overwritten.Updated, overwritten.Unchanged, overwritten.Path));
        Assert.Equal(incoming[2].Bar.Close, (await Store.GetBarsAsync(new BarQuery(s, BarInterval.OneDay)))[2].Close);
        Assert.Equal(new SeriesCoverage(s, BarInterval.OneDay, T0, T0.AddDays(7), 8), Assert.Single(await Store.GetCoverageAsync(s)));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task WriteSeriesAsync_FailureMidWrite_LeavesNothing(bool overlapping)
    {
        var s = NewSymbol();
        if (overlapping)
        {
            await Store.WriteAsync(Import(Daily(s, 1, startDay: 100)));
            await DrainAsync();
        }
        // Enough rows that the direct COPY has sent thousands of them before the failing one.
        var bars = Daily(s, 6000);
        await FailInsertAtAsync(s, bars[4000].Bar.Time);

        var ex = await Assert.ThrowsAnyAsync<Exception>(() => Store.WriteSeriesAsync(ImportSeries(Batch(s, bars))));

        Assert.Contains("injected failure", ex.Message);
        var stored = await Store.GetBarsAsync(new BarQuery(s, BarInterval.OneDay));
        Assert.Equal(overlapping ? 1 : 0, stored.Count);
        var coverage = await Store.GetCoverageAsync(s);
        if (overlapping) Assert.Equal(1, Assert.Single(coverage).Count);
        else Assert.Empty(coverage);
        Assert.Equal(0, await Store.PendingOutboxCountAsync());
    }

    [Fact]
    public async Task SeriesBatch_TryAdd_RefusesWhatWriteAsyncRefuses()
    {
        var s = NewSymbol();
        var batch = SeriesBatch.Create(s, BarInterval.OneDay);
        var bars = Daily(s, 3);

        Assert.Null(batch.TryAdd(bars[1].Bar));
        Assert.Contains("before the previous bar", batch.TryAdd(bars[0].Bar));
        Assert.Contains("duplicate", batch.TryAdd(bars[1].Bar));
        Assert.Contains("not aligned", batch.TryAdd(bars[2].Bar with { Time = bars[2].Bar.Time.AddHours(3) }));
        Assert.Contains("open", batch.TryAdd(bars[2].Bar with { Open = -1 }));
        Assert.Null(batch.TryAdd(bars[2].Bar));
        Assert.Equal(2, batch.Count);
        Assert.Equal(1, batch.IndexOf(bars[2].Bar.Time));
        Assert.True(batch.IndexOf(bars[0].Bar.Time) < 0);
        Assert.Throws<ArgumentException>(() => SeriesBatch.Create("bad symbol!", BarInterval.OneDay));
        await Task.CompletedTask;
    }

    [Fact]
    public async Task BeginAppendAsync_NothingStoredFromTheFirstBar_StreamsBarsAddedAfterItAndCommitsThemOnce()
    {
        var s = NewSymbol();
        await Store.WriteAsync(Import(Daily(s, 3)));
        var batch = SeriesBatch.Create(s, BarInterval.OneDay);
        var bars = Daily(s, 3000, startDay: 3);
        Assert.Null(batch.TryAdd(bars[0].Bar));

        await using var append = await Store.BeginAppendAsync(batch);
        Assert.NotNull(append);
        foreach (var b in bars.Skip(1).Take(1500)) Assert.Null(batch.TryAdd(b.Bar));
        append.Send();
        foreach (var b in bars.Skip(1501)) Assert.Null(batch.TryAdd(b.Bar));
        var result = await append.CommitAsync(c => new OutgoingEvent("market-bars", $"import:{c.Symbol}:{c.Count}", "BarsImported", "{}"u8.ToArray()));

        Assert.Equal((3000L, SeriesWritePath.Direct, 1), (result.Inserted, result.Path, result.EventsQueued));
        Assert.Equal(Daily(s, 3003).Select(b => b.Bar), await Store.GetBarsAsync(new BarQuery(s, BarInterval.OneDay)));
        Assert.Equal(new SeriesCoverage(s, BarInterval.OneDay, T0, bars[^1].Bar.Time, 3003), Assert.Single(await Store.GetCoverageAsync(s)));
        Assert.Equal(2, await Store.PendingOutboxCountAsync());
    }

    [Fact]
    public async Task BeginAppendAsync_DisposedWithoutCommit_WritesNothing()
    {
        var s = NewSymbol();
        var batch = SeriesBatch.Create(s, BarInterval.OneDay);
        foreach (var b in Daily(s, 5000)) Assert.Null(batch.TryAdd(b.Bar));

        await using (var append = await Store.BeginAppendAsync(batch))
        {
            Assert.NotNull(append);
            append.Send();
        }

        Assert.Empty(await Store.GetBarsAsync(new BarQuery(s, BarInterval.OneDay)));
        Assert.Empty(await Store.GetCoverageAsync(s));
        Assert.Equal(0, await Store.PendingOutboxCountAsync());
    }

    [Fact]
    public async Task BeginAppendAsync_FailureMidStream_LeavesNothing()
    {
        var s = NewSymbol();
        var bars = Daily(s, 6000);
        await FailInsertAtAsync(s, bars[3000].Bar.Time);
        var batch = SeriesBatch.Create(s, BarInterval.OneDay);

        var ex = await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            Assert.Null(batch.TryAdd(bars[0].Bar));
            await using var append = await Store.BeginAppendAsync(batch);
            Assert.NotNull(append);
            foreach (var chunk in bars.Skip(1).Chunk(1000))
            {
                foreach (var b in chunk) Assert.Null(batch.TryAdd(b.Bar));
                append.Send();
            }
            await append.CommitAsync(null);
        });

        Assert.Contains("injected failure", ex.Message);
        Assert.Empty(await Store.GetBarsAsync(new BarQuery(s, BarInterval.OneDay)));
        Assert.Empty(await Store.GetCoverageAsync(s));
        Assert.Equal(0, await Store.PendingOutboxCountAsync());
    }

    [Fact]
    public async Task BeginAppendAsync_StoredBarAfterTheFirst_DeclinesSoTheBatchIsMerged()
    {
        var s = NewSymbol();
        await Store.WriteAsync(Import(Daily(s, 1, startDay: 10)));
        var batch = SeriesBatch.Create(s, BarInterval.OneDay);
        Assert.Null(batch.TryAdd(Daily(s, 1)[0].Bar));

        Assert.Null(await Store.BeginAppendAsync(batch));
    }

    /// <summary>The read-only accessor other services get.</summary>
    protected abstract IBarReader OpenReader();

    [Fact]
    public async Task ReadOnlyReader_AfterWrite_SeesTheBars()
    {
        var s = NewSymbol();
        await Store.WriteAsync(Import(Daily(s, 4)));
        var reader = OpenReader();

        Assert.Equal(4, (await reader.GetBarsAsync(new BarQuery(s, BarInterval.OneDay))).Count);
        Assert.Equal(4, Assert.Single(await reader.GetBarsManyAsync([new BarQuery(s, BarInterval.OneDay)])).Count);
        Assert.Contains(await reader.GetCoverageAsync(), c => c.Symbol == s && c.Count == 4);
        if (reader is IAsyncDisposable d) await d.DisposeAsync();
    }
}

public sealed class SqliteBarStoreTests : BarStoreContract, IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("bars-sqlite-").FullName;

    protected override Task<IBarStore> OpenAsync() => Task.FromResult<IBarStore>(SqliteBarStore.InDataDir(_dir));

    protected override IBarReader OpenReader() => new SqliteBarReader(Path.Combine(_dir, SqliteBarReader.FileName));

    protected override Task FailInsertAtAsync(string symbol, DateTimeOffset time)
    {
        using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(_dir, SqliteBarReader.FileName)};Pooling=False");
        connection.Open();
        using var cmd = connection.CreateCommand();
        cmd.CommandText = $"""
            CREATE TRIGGER fail_{symbol} BEFORE INSERT ON bars WHEN NEW.symbol = '{symbol}' AND NEW.time = {time.UtcTicks}
            BEGIN SELECT RAISE(ABORT, 'injected failure'); END
            """;
        cmd.ExecuteNonQuery();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task InitializeAsync_FileWrittenBeforeTheSeriesTable_ReportsItsCoverage()
    {
        var path = Path.Combine(_dir, "old", SqliteBarReader.FileName);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using (var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={path};Pooling=False"))
        {
            connection.Open();
            using var cmd = connection.CreateCommand();
            cmd.CommandText = """
                CREATE TABLE bars (symbol TEXT NOT NULL, interval TEXT NOT NULL, time INTEGER NOT NULL, open REAL NOT NULL, high REAL NOT NULL,
                    low REAL NOT NULL, close REAL NOT NULL, volume REAL NOT NULL, adj_close REAL, vwap REAL, PRIMARY KEY (symbol, interval, time)) WITHOUT ROWID;
                INSERT INTO bars VALUES ('OLD', '1d', 638396640000000000, 1, 2, 1, 1.5, 10, NULL, NULL), ('OLD', '1d', 638397504000000000, 1, 2, 1, 1.5, 10, NULL, NULL);
                """;
            cmd.ExecuteNonQuery();
        }
        var store = new SqliteBarStore(path);
        await store.InitializeAsync();

        var coverage = Assert.Single(await store.GetCoverageAsync());

        Assert.Equal(("OLD", 2L, new DateTimeOffset(638396640000000000, TimeSpan.Zero)), (coverage.Symbol, coverage.Count, coverage.First));
    }

    [Fact]
    public async Task Reader_BeforeTheFileExists_ReturnsNothing()
    {
        var reader = new SqliteBarReader(Path.Combine(_dir, "missing", "bars.db"));

        Assert.Empty(await reader.GetCoverageAsync());
        Assert.Empty(await reader.GetBarsAsync(new BarQuery("X", BarInterval.OneDay)));
        Assert.Equal([0, 0], (await reader.GetBarsManyAsync([new BarQuery("X", BarInterval.OneDay), new BarQuery("Y", BarInterval.OneDay)])).Select(b => b.Count));
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }
}

public sealed class PostgresBarStoreTests : BarStoreContract
{
    private string _connectionString = "";

    protected override async Task<IBarStore> OpenAsync()
    {
        _connectionString = await PostgresCluster.CreateDatabaseAsync("bars");
        return PostgresBarStore.Create(_connectionString);
    }

    protected override IBarReader OpenReader() => new PostgresBarReader(PostgresBarReader.ReadOnly(_connectionString));

    protected override async Task FailInsertAtAsync(string symbol, DateTimeOffset time)
    {
        await using var connection = new Npgsql.NpgsqlConnection(_connectionString);
        await connection.OpenAsync();
        await using var cmd = new Npgsql.NpgsqlCommand($"""
            CREATE FUNCTION fail_insert() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$;
            CREATE TRIGGER fail_insert BEFORE INSERT ON bars FOR EACH ROW
                WHEN (NEW.symbol = '{symbol}' AND NEW.time = '{time.UtcDateTime:yyyy-MM-dd HH:mm:ss}+00') EXECUTE FUNCTION fail_insert();
            """, connection);
        await cmd.ExecuteNonQueryAsync();
    }

    [Fact]
    public async Task ReadOnlyDataSource_Write_IsRefusedByTheServer()
    {
        await using var source = PostgresBarReader.ReadOnly(_connectionString);
        await using var cmd = source.CreateCommand("DELETE FROM bars");

        var ex = await Assert.ThrowsAsync<Npgsql.PostgresException>(() => cmd.ExecuteNonQueryAsync());

        Assert.Equal("25006", ex.SqlState); // read_only_sql_transaction
    }
}
