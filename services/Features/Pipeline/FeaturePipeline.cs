using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Options;
using Platform.BuildingBlocks;
using Platform.BuildingBlocks.PubSub;
using Platform.BuildingBlocks.State;
using Platform.Contracts;
using Platform.Features.History;
using Platform.Features.Sets;
using Platform.Features.Testing;
using Platform.OfflineStore;
using Platform.Quant;
using Platform.Quant.Features;
using Platform.ServiceDefaults;

namespace Platform.Features.Pipeline;

/// <summary>
/// How far one stream (feature set, symbol, interval) has got, in the private <c>statestore</c>: the last bar computed,
/// how many bars the streaming state has consumed, and the set's hash. Written after the effects of every batch of bars.
/// </summary>
public sealed record FeatureCheckpoint(string SetHash, DateTimeOffset LastTime, long Bars)
{
    public static string Key(string setId, string symbol, string interval) => $"checkpoint/{setId}/{symbol}/{interval}";
}

/// <summary>
/// Turns <c>market-bars</c> into features. One stream per (configured feature set, symbol, interval), each with its own
/// streaming calculator in memory and a <see cref="FeatureCheckpoint"/> in the private state store.
/// <list type="bullet">
/// <item><see cref="BarClosed"/>, delivered in batches: a bar after the stream's last bar updates the calculator, writes the
/// history row and the featurestore's latest vector, publishes <see cref="FeaturesComputed"/>, then saves the checkpoint;
/// the writes of a batch are grouped (one transaction per store, one publish), checkpoints last. A bar at or before
/// the last bar is a duplicate (ignored) when the history has it, otherwise out of order (ignored, logged, counted). Stored
/// bars between the last bar and this one that never came as events (a gap) are computed first from the offline store.</item>
/// <item><see cref="BarsImported"/>: recomputes the series in batch from its first stored bar up to the later of the import's
/// end and the stream's last bar, rewrites the history from the import's start, and publishes only the latest vector.</item>
/// </list>
/// Restarts rebuild rather than snapshot: the calculators have no serialisable state, so a stream's state is rebuilt by
/// replaying the stored bars up to the checkpoint's last time (the offline store holds every bar before its event is
/// published). The rebuild happens on a stream's first event after start, or whenever the checkpoint moved without this
/// process (another replica). Deliveries of <c>market-bars</c> are sequential; a gate keeps direct callers in line too.
/// </summary>
public sealed class FeaturePipeline(
    FeatureSetCatalog catalog, IStateStoreProvider stores, IEventPublisher publisher, IBarReader bars, IFeatureHistory history,
    OnlineFeatureStore online, FeatureMetrics metrics, IOptions<FeaturesOptions> options, ILogger<FeaturePipeline> logger, HaltPoints halts)
{
    private sealed record StreamKey(string Set, string Symbol, string Interval);

    private sealed class StreamState(IFeatureCalculator calculator, DateTimeOffset? lastTime, long bars)
    {
        public IFeatureCalculator Calculator { get; } = calculator;
        public DateTimeOffset? LastTime { get; set; } = lastTime;
        public long Bars { get; set; } = bars;
    }

    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly ConcurrentDictionary<StreamKey, StreamState> _streams = new();
    private int ChunkRows => Math.Max(1, options.Value.HistoryChunkRows);
    private IStateStore Private => stores.PrivateStore();

    /// <summary>Handles a closed bar for every computed feature set (a batch of one).</summary>
    public Task OnBarClosedAsync(BarClosed e, CancellationToken ct = default) => OnBarsClosedAsync([e], ct);

    /// <summary>
    /// Handles closed bars in delivery order for every computed feature set, with the effects of handling them one by one,
    /// committed once for the batch: the history rows in one transaction, the featurestore's latest vectors in one, the
    /// <see cref="FeaturesComputed"/> events in one publish, then every checkpoint in one (the commit point). Until the
    /// checkpoints are written nothing is counted as processed; a failure before them forgets the streams' in-memory
    /// state, so a redelivery recomputes the same rows and vectors and republishes the same event ids. The series of a
    /// batch (symbol and interval) are independent of each other: a large batch's are loaded and computed side by side, one
    /// per core, each in its own delivery order, and their events keep the batch's delivery order.
    /// </summary>
    public async Task OnBarsClosedAsync(IReadOnlyList<BarClosed> events, CancellationToken ct = default)
    {
        var batch = new BarBatch(catalog.Computed.Count);
        foreach (var e in events)
        {
            if (!BarInterval.TryParse(e.Interval, out var interval))
            {
                metrics.OnInvalid();
                logger.LogError("Ignoring bar {Symbol} at {Time}: unknown interval '{Interval}'", e.Symbol, e.Time, e.Interval);
                continue;
            }
            if (!batch.Series.TryGetValue((e.Symbol, interval.Name), out var series))
                batch.Series.Add((e.Symbol, interval.Name), series = new PendingSeries(e.Symbol, interval));
            series.Bars.Add((batch.Bars++, new Bar(e.Time, e.Open, e.High, e.Low, e.Close, e.Volume, null, e.Vwap)));
        }
        if (batch.Bars == 0) return;

        await _gate.WaitAsync(ct);
        try
        {
            var started = Stopwatch.GetTimestamp();
            await LoadBatchAsync(batch, ct);
            metrics.OnStage(FeatureMetrics.Stage.Load, started);
            started = Stopwatch.GetTimestamp();
            // Long gaps are written in chunks of all the batch's rows: a batch that could fill one is computed one series at a time.
            batch.InParallel = batch.GapBound < ChunkRows;
            await ForEachSeriesAsync(batch, batch.InParallel, async (series, token) =>
            {
                foreach (var (index, bar) in series.Bars)
                    for (var s = 0; s < series.Streams.Length; s++)
                        await ProcessBarAsync(series, series.Streams[s], bar, index * batch.Sets + s, batch, token);
                // The featurestore values are encoded here, beside the other series, rather than on the commit's path.
                foreach (var p in series.Streams)
                    if (p.Latest is { } l) p.Vector = LatestVector.Of(p.Set, series.Symbol, series.Interval, l.Time, l.Values);
            }, ct);
            // Long gaps are written in chunks while computing: that time is the history's, not the computation's.
            metrics.OnStage(FeatureMetrics.Stage.Compute, started + batch.WritingTicks);
            await CommitAsync(batch, ct);
        }
        catch
        {
            // The calculators may have moved past what the checkpoints record: rebuild them on the retry.
            foreach (var (symbol, interval) in batch.Series.Keys)
                foreach (var set in catalog.Computed) _streams.TryRemove(new StreamKey(set.Id, symbol, interval), out _);
            throw;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Fewest bars in a batch for its series to go side by side: a small batch (a steady trickle of bars) costs less on the
    /// calling thread than handed to the pool and waited for, which would add to every bar's latency.
    /// </summary>
    private const int MinBarsSideBySide = 128;

    /// <summary>
    /// Runs <paramref name="body"/> for every series of the batch: as many at once as there are cores, or (a small batch,
    /// or <paramref name="inParallel"/> false) one after the other.
    /// </summary>
    private static async Task ForEachSeriesAsync(BarBatch batch, bool inParallel, Func<PendingSeries, CancellationToken, ValueTask> body, CancellationToken ct)
    {
        if (inParallel && batch.Bars >= MinBarsSideBySide && batch.Series.Count > 1)
            await Parallel.ForEachAsync(batch.Series.Values, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount, CancellationToken = ct }, body);
        else
            foreach (var series in batch.Series.Values) await body(series, ct);
    }

    /// <summary>One stream's part of a batch: its state, the rows and vector not yet written.</summary>
    private sealed class PendingStream(StreamKey key, FeatureSet set, BarInterval interval, StreamState state)
    {
        public StreamKey Key { get; } = key;
        public FeatureSet Set { get; } = set;
        public BarInterval Interval { get; } = interval;
        public StreamState State { get; } = state;
        /// <summary>Position in the series' stored bars of the first one this stream has not passed.</summary>
        public int StoredCursor { get; set; }
        public List<FeatureRow> Rows { get; set; } = [];
        public FeatureRow? Latest { get; set; }
        /// <summary><see cref="Latest"/> as the featurestore stores it, once the series is computed.</summary>
        public LatestVector? Vector { get; set; }
        public long Processed { get; set; }
        public long GapFilled { get; set; }
    }

    /// <summary>
    /// One symbol and interval of a batch: its bars in delivery order (with their positions in the batch), its streams (one
    /// per computed set, in the catalog's order) and the stored bars a gap could need. Computed by one task at a time.
    /// </summary>
    private sealed class PendingSeries(string symbol, BarInterval interval)
    {
        public string Symbol { get; } = symbol;
        public BarInterval Interval { get; } = interval;
        public List<(int Index, Bar Bar)> Bars { get; } = [];
        public PendingStream[] Streams { get; set; } = [];
        /// <summary>The stored bars after the earliest last time of the series' streams, up to its last bar (exclusive).</summary>
        public IReadOnlyList<Bar> Stored { get; set; } = [];
    }

    private sealed class BarBatch(int sets)
    {
        public int Sets { get; } = sets;
        /// <summary>The batch's series in the order of their first bar.</summary>
        public Dictionary<(string Symbol, string Interval), PendingSeries> Series { get; } = [];
        /// <summary>Valid bars in the batch.</summary>
        public int Bars { get; set; }
        /// <summary>The events to publish, at bar position times sets plus set position (delivery order); null where none.</summary>
        public OutgoingEvent?[] Slots { get; set; } = [];
        /// <summary>Most gap rows the batch can fill: its series' stored bars that are not among its bars, once per set.</summary>
        public long GapBound { get; set; }
        /// <summary>
        /// Whether the series may be computed side by side: <see cref="GapBound"/> is below a chunk of rows, so the batch's gaps
        /// cannot fill one and are not counted.
        /// </summary>
        public bool InParallel { get; set; }
        /// <summary>Rows of filled gaps among the rows not yet written (counted when the series are computed one at a time).</summary>
        public int GapRows { get; set; }
        /// <summary>Stopwatch ticks spent writing history chunks while the batch was being computed.</summary>
        public long WritingTicks { get; set; }
        /// <summary>Every stream of the batch, series by series.</summary>
        public IEnumerable<PendingStream> Streams => Series.Values.SelectMany(s => s.Streams);
    }

    /// <summary>
    /// Loads every stream the batch touches (checkpoints read together) and, per series, the stored bars a gap could need
    /// (after the earliest last time of its streams, before its last bar in the batch; every series' in one read).
    /// </summary>
    private async Task LoadBatchAsync(BarBatch batch, CancellationToken ct)
    {
        batch.Slots = new OutgoingEvent?[batch.Bars * batch.Sets];
        var keys = batch.Series.Values.SelectMany(s => catalog.Computed.Select(set => FeatureCheckpoint.Key(set.Id, s.Symbol, s.Interval.Name))).ToList();
        var checkpoints = (await Private.GetBulkAsync(keys, ct))
            .ToDictionary(i => i.Key, i => StateStoreExtensions.Deserialize<FeatureCheckpoint>(i.Value), StringComparer.Ordinal);

        await ForEachSeriesAsync(batch, inParallel: true, async (series, token) =>
        {
            var (symbol, interval) = (series.Symbol, series.Interval);
            var streams = new PendingStream[catalog.Computed.Count];
            for (var s = 0; s < streams.Length; s++)
            {
                var set = catalog.Computed[s];
                var key = new StreamKey(set.Id, symbol, interval.Name);
                checkpoints.TryGetValue(FeatureCheckpoint.Key(set.Id, symbol, interval.Name), out var checkpoint);
                streams[s] = new PendingStream(key, set, interval, await LoadAsync(key, set, interval, checkpoint, token));
            }
            series.Streams = streams;
        }, ct);
        // The stored bars of every series in one read: a batch of many symbols costs one query, not one per symbol.
        var reads = new List<(PendingSeries Series, BarQuery Query)>();
        foreach (var series in batch.Series.Values)
        {
            var last = series.Bars.Max(b => b.Bar.Time);
            var streams = series.Streams;
            DateTimeOffset? from = streams.Any(s => s.State.LastTime is null) ? null : streams.Min(s => s.State.LastTime!.Value).AddTicks(1);
            if (from is null || from < last) reads.Add((series, new BarQuery(series.Symbol, series.Interval, from, last)));
        }
        var stored = await bars.GetBarsManyAsync(reads.Select(r => r.Query).ToList(), ct);
        for (var i = 0; i < reads.Count; i++) reads[i].Series.Stored = stored[i];
        var gapBound = 0L;
        foreach (var series in batch.Series.Values)
        {
            var times = series.Bars.Select(b => b.Bar.Time).ToHashSet();
            gapBound += series.Stored.Count(b => !times.Contains(b.Time)) * (long)batch.Sets;
        }
        batch.GapBound = gapBound;
    }

    /// <summary>
    /// One bar of one stream. A bar after the stream's last bar is computed, after the stored bars between them that never
    /// came as events (a gap); a bar at or before it is a duplicate (already computed) or out of order (ignored).
    /// </summary>
    private async Task ProcessBarAsync(PendingSeries series, PendingStream pending, Bar bar, int slot, BarBatch batch, CancellationToken ct)
    {
        var (set, symbol, interval, state) = (pending.Set, series.Symbol, series.Interval, pending.State);
        if (state.LastTime is { } last && bar.Time <= last)
        {
            if (bar.Time == last || pending.Rows.BinarySearch(new FeatureRow(bar.Time, []), RowTimeComparer.Instance) >= 0
                || await history.ContainsAsync(set.Id, symbol, interval, bar.Time, ct))
            {
                metrics.OnDuplicate(set.Id);
                logger.LogDebug("Duplicate bar {Symbol} {Interval} at {Time} for {Set}: already computed", symbol, interval, bar.Time, set.Id);
            }
            else
            {
                metrics.OnOutOfOrder(set.Id);
                logger.LogWarning("Out-of-order bar {Symbol} {Interval} at {Time} arrived after {Last} for {Set}; ignored (re-import the range to recompute it)",
                    symbol, interval, bar.Time, last, set.Id);
            }
            return;
        }

        // Stored bars that never came as events (missed while a replica was elsewhere, dead-lettered): compute them first.
        var stored = series.Stored;
        var i = pending.StoredCursor;
        while (i < stored.Count && state.LastTime is { } after && stored[i].Time <= after) i++;
        long gap = 0;
        for (; i < stored.Count && stored[i].Time < bar.Time; i++)
        {
            pending.Rows.Add(new FeatureRow(stored[i].Time, state.Calculator.Update(stored[i])));
            gap++;
        }
        if (i < stored.Count && stored[i].Time == bar.Time) i++;
        pending.StoredCursor = i;
        if (gap > 0)
        {
            pending.GapFilled += gap;
            logger.LogInformation("Filled a gap of {Count} stored bars of {Symbol} {Interval} for {Set} before {Time}", gap, symbol, interval, set.Id, bar.Time);
        }

        var values = state.Calculator.Update(bar);
        pending.Latest = new FeatureRow(bar.Time, values);
        pending.Rows.Add(pending.Latest);
        state.LastTime = bar.Time;
        state.Bars += gap + 1;
        pending.Processed++;
        batch.Slots[slot] = FeatureJson.ToOutgoing(set, symbol, interval.Name, bar.Time, values);
        // Only gap rows are unbounded (a batch's own rows are bounded by its size): a long gap is written in chunks. A batch
        // whose gaps could fill a chunk is computed one series at a time (the others cannot fill one), so the count has one writer.
        if (gap == 0 || batch.InParallel) return;
        batch.GapRows += (int)gap;
        if (batch.GapRows >= ChunkRows)
        {
            var started = Stopwatch.GetTimestamp();
            await WriteRowsAsync(batch.Streams, ct);
            batch.GapRows = 0;
            batch.WritingTicks += Stopwatch.GetTimestamp() - started;
        }
    }

    /// <summary>Writes the rows computed so far (a long gap is written in chunks before the batch commits; rewriting a row changes nothing).</summary>
    private async Task WriteRowsAsync(IEnumerable<PendingStream> streams, CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        var pending = streams.Where(p => p.Rows.Count > 0).ToList();
        await history.WriteManyAsync(pending.Select(p => new FeatureSeriesRows(p.Set, p.Key.Symbol, p.Interval, p.Rows)).ToList(), ct);
        foreach (var p in pending) p.Rows = [];
        metrics.OnStage(FeatureMetrics.Stage.History, started);
    }

    /// <summary>
    /// The batch's effects, each in one call for the whole batch: the latest vectors, then the events (a consumer that gets
    /// a <see cref="FeaturesComputed"/> finds its vector in the featurestore); the history rows beside both (another store,
    /// which no consumer of the events reads); once all three are committed, the checkpoints.
    /// </summary>
    private async Task CommitAsync(BarBatch batch, CancellationToken ct)
    {
        var advanced = batch.Streams.Where(p => p.Latest is not null).ToList();
        if (advanced.Count == 0) return;
        var latest = advanced.Select(p => p.Vector!).ToList();
        // The stores' clients do their work on the calling thread: the history moves to the pool so it runs beside the
        // others. Both are awaited whatever happens to either, so a failed batch leaves no write running into its retry.
        await Task.WhenAll(Task.Run(() => WriteRowsAsync(batch.Streams, ct), ct), SaveLatestAndPublishAsync(batch, latest, ct));
        halts.Reach(KillPoints.AfterPublish);
        var started = Stopwatch.GetTimestamp();
        var checkpoints = advanced.Select(p => (StateOperation)StateStoreExtensions.Upsert(
            FeatureCheckpoint.Key(p.Set.Id, p.Key.Symbol, p.Key.Interval), new FeatureCheckpoint(p.Set.Hash, p.State.LastTime!.Value, p.State.Bars))).ToList();
        if (await Private.TransactAsync(checkpoints, ct) != StateOutcome.Ok)
            throw new StateStoreException($"Could not commit the checkpoints of {checkpoints.Count} feature streams; the bars will be redelivered.", "ERR_STATE_TRANSACTION");
        metrics.OnStage(FeatureMetrics.Stage.Checkpoint, started);
        foreach (var p in advanced)
        {
            if (p.GapFilled > 0) metrics.OnGapFilled(p.Set.Id, p.GapFilled);
            metrics.OnProcessed(p.Set.Id, p.Processed);
        }
    }

    /// <summary>The latest vectors, then the batch's events in delivery order.</summary>
    private async Task SaveLatestAndPublishAsync(BarBatch batch, IReadOnlyList<LatestVector> latest, CancellationToken ct)
    {
        await SaveLatestAsync(latest, ct);
        halts.Reach(KillPoints.AfterStores);
        var started = Stopwatch.GetTimestamp();
        await publisher.PublishManyAsync(batch.Slots.OfType<OutgoingEvent>().ToList(), ct);
        metrics.OnStage(FeatureMetrics.Stage.Publish, started);
    }

    private async Task SaveLatestAsync(IReadOnlyList<LatestVector> latest, CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        await online.SaveLatestManyAsync(latest, ct);
        metrics.OnStage(FeatureMetrics.Stage.FeatureStore, started);
    }

    private sealed class RowTimeComparer : IComparer<FeatureRow>
    {
        public static readonly RowTimeComparer Instance = new();
        public int Compare(FeatureRow? x, FeatureRow? y) => x!.Time.CompareTo(y!.Time);
    }

    /// <summary>
    /// Recomputes an imported range for every computed feature set. The import's event id is recorded with the checkpoints
    /// in one transaction, so a redelivered import has no second effect. Returns false for such a duplicate.
    /// </summary>
    public async Task<bool> OnBarsImportedAsync(BarsImported e, string eventId, CancellationToken ct = default)
    {
        if (!BarInterval.TryParse(e.Interval, out var interval))
        {
            metrics.OnInvalid();
            logger.LogError("Ignoring import {ImportId} of {Symbol}: unknown interval '{Interval}'", e.ImportId, e.Symbol, e.Interval);
            return false;
        }
        await _gate.WaitAsync(ct);
        try
        {
            return await Private.HandleOnceAsync(eventId, async token =>
            {
                var operations = new List<StateOperation>();
                foreach (var set in catalog.Computed)
                    if (await RecomputeAsync(set, e.Symbol, interval, e.From, e.To, token) is { } checkpoint)
                        operations.Add(StateStoreExtensions.Upsert(FeatureCheckpoint.Key(set.Id, e.Symbol, interval.Name), checkpoint));
                return operations;
            }, ct);
        }
        catch
        {
            // The checkpoints were not committed: forget the recomputed states so the retry starts from what was.
            foreach (var set in catalog.Computed) _streams.TryRemove(new StreamKey(set.Id, e.Symbol, interval.Name), out _);
            throw;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Batch recompute after an import; returns the new checkpoint (committed by the caller) or null when no bars are stored.</summary>
    private async Task<FeatureCheckpoint?> RecomputeAsync(FeatureSet set, string symbol, BarInterval interval, DateTimeOffset from, DateTimeOffset to, CancellationToken ct)
    {
        var key = new StreamKey(set.Id, symbol, interval.Name);
        var state = await LoadAsync(key, set, interval, ct);
        // Up to the stream's own edge when it is already past the import (live bars after it still come as events);
        // rows are rewritten from the import's start, or from the first bar the stream has not computed if that is earlier.
        var end = state.LastTime is { } l && l > to ? l : to;
        DateTimeOffset? writeFrom = state.LastTime is { } last ? (from < last.AddTicks(1) ? from : last.AddTicks(1)) : null;

        var calculator = FeatureSets.CreateCalculator(set.Id);
        var rows = new List<FeatureRow>();
        long count = 0, written = 0;
        FeatureRow? latest = null;
        await foreach (var bar in bars.StreamBarsAsync(new BarQuery(symbol, interval, null, end.AddTicks(1)), ct))
        {
            latest = new FeatureRow(bar.Time, calculator.Update(bar));
            count++;
            if (writeFrom is { } w && bar.Time < w) continue;
            rows.Add(latest);
            if (rows.Count >= ChunkRows)
            {
                await history.WriteAsync(set, symbol, interval, rows, ct);
                written += rows.Count;
                rows = [];
            }
        }
        await history.WriteAsync(set, symbol, interval, rows, ct);
        written += rows.Count;
        if (latest is null)
        {
            logger.LogWarning("Import of {Symbol} {Interval} ({From:o} to {To:o}) announced, but no bars are stored; nothing to compute for {Set}",
                symbol, interval, from, to, set.Id);
            return null;
        }

        _streams[key] = new StreamState(calculator, latest.Time, count);
        await online.SaveLatestAsync(set, symbol, interval, latest.Time, latest.Values, ct);
        await publisher.PublishAsync(FeatureJson.ToOutgoing(set, symbol, interval.Name, latest.Time, latest.Values), ct);
        metrics.OnRecomputed(set.Id, written);
        logger.LogInformation("Recomputed {Set} for {Symbol} {Interval}: {Written} rows written, {Count} bars, latest {Latest:o}",
            set.Id, symbol, interval, written, count, latest.Time);
        return new FeatureCheckpoint(set.Hash, latest.Time, count);
    }

    /// <summary>The stream's state: in memory when it matches the checkpoint, otherwise rebuilt from the stored bars up to it.</summary>
    private async Task<StreamState> LoadAsync(StreamKey key, FeatureSet set, BarInterval interval, CancellationToken ct) =>
        await LoadAsync(key, set, interval, await Private.GetAsync<FeatureCheckpoint>(FeatureCheckpoint.Key(key.Set, key.Symbol, key.Interval), ct), ct);

    private async Task<StreamState> LoadAsync(StreamKey key, FeatureSet set, BarInterval interval, FeatureCheckpoint? checkpoint, CancellationToken ct)
    {
        if (_streams.TryGetValue(key, out var state) && state.LastTime == checkpoint?.LastTime) return state;

        var calculator = FeatureSets.CreateCalculator(set.Id);
        long count = 0;
        if (checkpoint is not null)
        {
            if (checkpoint.SetHash != set.Hash)
                logger.LogWarning("Checkpoint of {Set} {Symbol} {Interval} was written by a set with hash {Old}, now {New}; re-import to recompute the history",
                    set.Id, key.Symbol, key.Interval, checkpoint.SetHash, set.Hash);
            var scratch = new double[set.Count];
            DateTimeOffset? lastStored = null;
            await foreach (var bar in bars.StreamBarsAsync(new BarQuery(key.Symbol, interval, null, checkpoint.LastTime.AddTicks(1)), ct))
            {
                calculator.Update(bar, scratch);
                lastStored = bar.Time;
                count++;
            }
            if (count != checkpoint.Bars || lastStored != checkpoint.LastTime)
            {
                metrics.OnRebuildMismatch(set.Id);
                logger.LogWarning("Rebuilding {Set} {Symbol} {Interval}: the offline store has {Count} bars up to {LastStored}, the checkpoint {Expected} up to {Last}; continuing from the stored bars",
                    set.Id, key.Symbol, key.Interval, count, lastStored, checkpoint.Bars, checkpoint.LastTime);
            }
            else
            {
                logger.LogInformation("Rebuilt {Set} {Symbol} {Interval} from {Count} stored bars up to {Last:o}", set.Id, key.Symbol, key.Interval, count, checkpoint.LastTime);
            }
        }
        state = new StreamState(calculator, checkpoint?.LastTime, count);
        _streams[key] = state;
        return state;
    }
}
