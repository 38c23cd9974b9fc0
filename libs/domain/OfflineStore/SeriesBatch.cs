using System.Runtime.CompilerServices;
using Platform.BuildingBlocks.PubSub;
using Platform.Contracts;
using Platform.Quant;

namespace Platform.OfflineStore;

/// <summary>
/// Bars of one series that passed the store's rules on the way in: <see cref="TryAdd"/> checks each bar once
/// (<see cref="BarValidation.Check"/> and the order after the previous bar), so a store writes a batch without checking
/// it again. The bars sit in one array in increasing time order; nothing outside this type can put an unchecked bar in it.
/// </summary>
public sealed class SeriesBatch
{
    private Bar[] _bars;

    private SeriesBatch(string symbol, BarInterval interval, Bar[] bars, int count)
    {
        Symbol = symbol;
        Interval = interval;
        _bars = bars;
        Count = count;
    }

    /// <summary>An empty batch; the symbol must follow <see cref="Symbols.Rule"/> (<see cref="ArgumentException"/> otherwise).</summary>
    public static SeriesBatch Create(string symbol, BarInterval interval, int capacity = 0)
    {
        if (!Symbols.IsValid(symbol)) throw new ArgumentException($"symbol '{BarValidation.Printable(symbol)}' is not {Symbols.Rule}", nameof(symbol));
        return new SeriesBatch(symbol, interval, capacity > 0 ? GC.AllocateUninitializedArray<Bar>(capacity) : [], 0);
    }

    public string Symbol { get; }
    public BarInterval Interval { get; }
    public int Count { get; private set; }

    /// <summary>The bars, in increasing time order.</summary>
    public ReadOnlySpan<Bar> Bars => _bars.AsSpan(0, Count);

    public ReadOnlyMemory<Bar> Memory => _bars.AsMemory(0, Count);

    /// <summary>The last bar taken (the one the next must follow); only when <see cref="Count"/> &gt; 0.</summary>
    public ref readonly Bar Last => ref _bars[Count - 1];

    public DateTimeOffset First => _bars[0].Time;

    /// <summary>Appends <paramref name="bar"/> when it is valid and follows the last bar; otherwise returns why not and takes nothing.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public string? TryAdd(in Bar bar)
    {
        if (BarValidation.Check(bar, Interval) is { } reason) return reason;
        if (Count > 0 && BarValidation.CheckOrder(_bars[Count - 1].Time, bar, Interval) is { } order) return order;
        if (Count == _bars.Length) Array.Resize(ref _bars, Math.Max(16, _bars.Length * 2));
        _bars[Count++] = bar;
        return null;
    }

    /// <summary>The position of the bar opening at <paramref name="time"/>, or a negative number (binary search).</summary>
    public int IndexOf(DateTimeOffset time)
    {
        int lo = 0, hi = Count - 1;
        var ticks = time.UtcTicks;
        while (lo <= hi)
        {
            var mid = (lo + hi) >>> 1;
            var t = _bars[mid].Time.UtcTicks;
            if (t == ticks) return mid;
            if (t < ticks) lo = mid + 1; else hi = mid - 1;
        }
        return ~lo;
    }

    /// <summary>The same series without the bars opening at <paramref name="times"/> (still valid: a subset of an ordered series is ordered).</summary>
    public SeriesBatch Without(IReadOnlySet<DateTimeOffset> times)
    {
        var kept = GC.AllocateUninitializedArray<Bar>(Count);
        var n = 0;
        foreach (ref readonly var b in Bars)
            if (!times.Contains(b.Time)) kept[n++] = b;
        return new SeriesBatch(Symbol, Interval, kept, n);
    }

    /// <summary>The batch as store rows (the general <see cref="IBarStore.WriteAsync"/> path and tests).</summary>
    public List<SymbolBar> ToSymbolBars()
    {
        var list = new List<SymbolBar>(Count);
        foreach (ref readonly var b in Bars) list.Add(new SymbolBar(Symbol, Interval, b));
        return list;
    }
}

/// <summary>
/// One atomic write of a <see cref="SeriesBatch"/>: the bars and one <see cref="PerSeries"/> event (when they change
/// anything) commit together, as a <see cref="BarWrite"/> does.
/// </summary>
public sealed record SeriesWrite(SeriesBatch Batch)
{
    public ConflictPolicy OnConflict { get; init; } = ConflictPolicy.Reject;
    public Func<SeriesChange, OutgoingEvent>? PerSeries { get; init; }
}

/// <summary>
/// A direct write that follows a <see cref="SeriesBatch"/> as it fills (<see cref="IBarStore.BeginAppendAsync"/>): <see cref="Send"/>
/// passes on the bars added since the last call, while the caller goes on reading; <see cref="CommitAsync"/> sends the
/// rest and commits the bars, the series summary and the event in one transaction.
/// </summary>
public interface ISeriesAppend : IAsyncDisposable
{
    /// <summary>Sends the bars added to the batch since the last call.</summary>
    void Send();

    /// <summary>Sends the rest and commits, with one <paramref name="perSeries"/> event for the whole batch.</summary>
    Task<BarWriteResult> CommitAsync(Func<SeriesChange, OutgoingEvent>? perSeries, CancellationToken ct = default);
}

/// <summary>How a store wrote a <see cref="SeriesWrite"/> (for benchmarks and tests).</summary>
public enum SeriesWritePath
{
    /// <summary>Nothing to write.</summary>
    None,
    /// <summary>The range held no stored bar: the bars went straight into the table.</summary>
    Direct,
    /// <summary>The range held stored bars: merged (upsert with conflict checks).</summary>
    Merge,
}
