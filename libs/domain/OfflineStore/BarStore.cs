using Platform.BuildingBlocks.PubSub;
using Platform.Quant;

namespace Platform.OfflineStore;

/// <summary>
/// A range of one series. <see cref="From"/> is inclusive, <see cref="To"/> exclusive (half-open, so consecutive
/// pages and windows never overlap); either may be open. <see cref="Limit"/> caps the rows returned.
/// </summary>
public sealed record BarQuery(string Symbol, BarInterval Interval, DateTimeOffset? From = null, DateTimeOffset? To = null, int? Limit = null);

/// <summary>What the store holds for one (symbol, interval): first and last bar open time and the bar count.</summary>
public sealed record SeriesCoverage(string Symbol, BarInterval Interval, DateTimeOffset First, DateTimeOffset Last, long Count);

/// <summary>
/// The read side of the offline store: what features, training and backtesting use. Bars come back in time order.
/// </summary>
public interface IBarReader
{
    Task<IReadOnlyList<Bar>> GetBarsAsync(BarQuery query, CancellationToken ct = default);

    /// <summary>Streams a range without holding it in memory (long histories).</summary>
    IAsyncEnumerable<Bar> StreamBarsAsync(BarQuery query, CancellationToken ct = default);

    /// <summary>
    /// The bars of several ranges in one read (one connection, one prepared statement or one round trip, not one per range):
    /// a list per query, in the order of <paramref name="queries"/>, each the bars <see cref="GetBarsAsync(BarQuery, CancellationToken)"/>
    /// returns for it. For a consumer that needs a few bars of many series at once (the features pipeline's batches). The
    /// stores read them together; this default, for wrappers, reads them one by one.
    /// </summary>
    async Task<IReadOnlyList<IReadOnlyList<Bar>>> GetBarsManyAsync(IReadOnlyList<BarQuery> queries, CancellationToken ct = default)
    {
        var results = new IReadOnlyList<Bar>[queries.Count];
        for (var i = 0; i < results.Length; i++) results[i] = await GetBarsAsync(queries[i], ct);
        return results;
    }

    /// <summary>Every stored series, or those of <paramref name="symbol"/>, ordered by symbol then interval length.</summary>
    Task<IReadOnlyList<SeriesCoverage>> GetCoverageAsync(string? symbol = null, CancellationToken ct = default);
}

public static class BarReaderExtensions
{
    /// <summary>What the store holds of one series, or null when it holds no bar of it.</summary>
    public static async Task<SeriesCoverage?> CoverageOfAsync(this IBarReader reader, string symbol, BarInterval interval, CancellationToken ct = default) =>
        (await reader.GetCoverageAsync(symbol, ct)).FirstOrDefault(c => c.Interval == interval && c.Count > 0);
}

/// <summary>What to do with an incoming bar whose key is stored with different values.</summary>
public enum ConflictPolicy
{
    /// <summary>Nothing is written; the conflicts are reported (the default: history is not rewritten silently).</summary>
    Reject,
    /// <summary>The incoming values replace the stored ones (a vendor's correction).</summary>
    Overwrite,
}

/// <summary>Which bars get a per-bar event.</summary>
public enum EventScope
{
    /// <summary>Only bars that were inserted or changed: re-writing stored bars publishes nothing.</summary>
    Changed,
    /// <summary>Every bar of the batch (replay: the bars are stored already, yet are fed through as if live).</summary>
    All,
}

/// <summary>A (symbol, interval) whose stored bars changed in one write: the changed range and how many bars.</summary>
public sealed record SeriesChange(string Symbol, BarInterval Interval, DateTimeOffset From, DateTimeOffset To, long Count);

/// <summary>
/// One atomic write: the bars and the events that announce them go into the store and its outbox in one transaction.
/// <see cref="PerSeries"/> makes one event per series that changed (a bulk import); <see cref="PerBar"/> one event per bar.
/// </summary>
public sealed record BarWrite(IReadOnlyList<SymbolBar> Bars)
{
    public ConflictPolicy OnConflict { get; init; } = ConflictPolicy.Reject;
    public Func<SeriesChange, OutgoingEvent>? PerSeries { get; init; }
    public Func<SymbolBar, OutgoingEvent>? PerBar { get; init; }
    public EventScope PerBarScope { get; init; } = EventScope.Changed;
}

/// <summary>A stored bar and a different incoming bar with the same key.</summary>
public sealed record BarConflict(SymbolBar Stored, SymbolBar Incoming);

/// <summary>
/// The outcome of a write. With <see cref="ConflictPolicy.Reject"/> and any conflict nothing was written
/// (<see cref="Committed"/> is false) and <see cref="Conflicts"/> lists them.
/// </summary>
public sealed record BarWriteResult(long Inserted, long Updated, long Unchanged, IReadOnlyList<BarConflict> Conflicts,
    IReadOnlyList<SeriesChange> Changes, int EventsQueued)
{
    public bool Committed => Conflicts.Count == 0;

    /// <summary>
    /// How <see cref="IBarStore.WriteSeriesAsync"/> wrote the bars (always <see cref="SeriesWritePath.Merge"/> for <see cref="IBarStore.WriteAsync"/>).
    /// </summary>
    public SeriesWritePath Path { get; init; } = SeriesWritePath.Merge;

    public static BarWriteResult Rejected(IReadOnlyList<BarConflict> conflicts) => new(0, 0, 0, conflicts, [], 0);
}

/// <summary>An event waiting in the outbox.</summary>
public sealed record OutboxMessage(long Id, OutgoingEvent Event);

/// <summary>
/// The writable offline store, owned by marketdata. Writes are atomic with their outbox events; a relay
/// publishes the outbox (<see cref="RelayOutboxAsync"/>), so a crash between commit and publish loses nothing.
/// </summary>
public interface IBarStore : IBarReader
{
    /// <summary>Creates or migrates the schema; idempotent, safe to call from several processes.</summary>
    Task InitializeAsync(CancellationToken ct = default);

    /// <summary>
    /// Upserts valid bars (each series strictly increasing, no key twice; <see cref="InvalidBarsException"/> otherwise):
    /// identical bars are unchanged, different ones follow <see cref="BarWrite.OnConflict"/>.
    /// </summary>
    Task<BarWriteResult> WriteAsync(BarWrite write, CancellationToken ct = default);

    /// <summary>
    /// Writes one series checked on the way in (<see cref="SeriesBatch"/>), with the same outcome as <see cref="WriteAsync"/>
    /// of the same bars: when no bar is stored between the batch's first and last time the bars go straight into the
    /// table (<see cref="SeriesWritePath.Direct"/>), otherwise they are merged. All or nothing either way.
    /// </summary>
    Task<BarWriteResult> WriteSeriesAsync(SeriesWrite write, CancellationToken ct = default);

    /// <summary>
    /// Opens a streamed direct write of a batch that is still being filled (an import still reading its file), when the
    /// store can overlap the two and holds no bar of the series at or after the batch's first bar (so every bar the
    /// batch will ever hold is new); null otherwise, and the caller writes the finished batch with
    /// <see cref="WriteSeriesAsync"/>. Nothing is visible until <see cref="ISeriesAppend.CommitAsync"/>; disposing an
    /// append that was not committed writes nothing.
    /// </summary>
    Task<ISeriesAppend?> BeginAppendAsync(SeriesBatch batch, CancellationToken ct = default) => Task.FromResult<ISeriesAppend?>(null);

    /// <summary>
    /// Hands up to <paramref name="max"/> pending outbox events, oldest first, to <paramref name="publish"/> and marks
    /// them sent when it returns; if it throws, they stay pending. Returns how many were sent.
    /// </summary>
    Task<int> RelayOutboxAsync(Func<IReadOnlyList<OutboxMessage>, CancellationToken, Task> publish, int max = 512, CancellationToken ct = default);

    /// <summary>Pending outbox events (monitoring, tests).</summary>
    Task<long> PendingOutboxCountAsync(CancellationToken ct = default);

    /// <summary>Deletes sent outbox rows older than <paramref name="age"/>.</summary>
    Task<int> PurgeSentOutboxAsync(TimeSpan age, CancellationToken ct = default);

    /// <summary>Completes when this process committed outbox events, or after <paramref name="poll"/>.</summary>
    Task WaitForOutboxAsync(TimeSpan poll, CancellationToken ct);
}

/// <summary>Bars that break the store's invariants; the message lists the first few.</summary>
public sealed class InvalidBarsException(IReadOnlyList<string> problems)
    : Exception("Invalid bars: " + string.Join("; ", problems.Take(5)) + (problems.Count > 5 ? $" (and {problems.Count - 5} more)" : ""))
{
    public IReadOnlyList<string> Problems { get; } = problems;
}

/// <summary>The signal that wakes an in-process outbox relay right after a commit.</summary>
internal sealed class OutboxSignal
{
    private TaskCompletionSource _signal = New();

    private static TaskCompletionSource New() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Notify() => Interlocked.Exchange(ref _signal, New()).TrySetResult();

    public async Task WaitAsync(TimeSpan poll, CancellationToken ct)
    {
        var task = Volatile.Read(ref _signal).Task;
        await Task.WhenAny(task, Task.Delay(poll, ct));
        ct.ThrowIfCancellationRequested();
    }
}

internal static class BarEquality
{
    public static bool Same(in Bar a, in Bar b) =>
        a.Time == b.Time && a.Open.Equals(b.Open) && a.High.Equals(b.High) && a.Low.Equals(b.Low) && a.Close.Equals(b.Close)
        && a.Volume.Equals(b.Volume) && Nullable.Equals(a.AdjClose, b.AdjClose) && Nullable.Equals(a.Vwap, b.Vwap);
}
