using Platform.Quant;

namespace Platform.Backtesting.Engine;

/// <summary>One symbol's bars in strictly increasing time.</summary>
public sealed class SymbolSeries
{
    public SymbolSeries(string symbol, Bar[] bars)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(symbol);
        for (var i = 1; i < bars.Length; i++)
        {
            if (bars[i].Time <= bars[i - 1].Time)
                throw new ArgumentException($"{symbol}: bar {i} at {bars[i].Time:o} is not after the bar before it ({bars[i - 1].Time:o}).", nameof(bars));
        }
        Symbol = symbol;
        Bars = bars;
    }

    public string Symbol { get; }
    public Bar[] Bars { get; }
}

/// <summary>
/// The bars of a run and their common timeline: the ordered union of every symbol's bar times. A symbol with
/// no bar at a time is simply not updated then (its last close keeps marking the position).
/// </summary>
public sealed class MarketSeries
{
    public MarketSeries(IReadOnlyList<SymbolSeries> series, BarInterval interval)
    {
        if (series.Count == 0) throw new ArgumentException("A backtest needs at least one symbol.", nameof(series));
        if (series.Select(s => s.Symbol).Distinct(StringComparer.Ordinal).Count() != series.Count)
            throw new ArgumentException("Symbols must be distinct.", nameof(series));
        Series = series;
        Interval = interval;
        Timeline = BuildTimeline(series);
    }

    public IReadOnlyList<SymbolSeries> Series { get; }
    public BarInterval Interval { get; }
    public DateTimeOffset[] Timeline { get; }
    public int SymbolCount => Series.Count;
    public long BarCount => Series.Sum(s => (long)s.Bars.Length);

    private static DateTimeOffset[] BuildTimeline(IReadOnlyList<SymbolSeries> series)
    {
        // Fast path: every symbol on the same clock (the usual case for one venue).
        var first = series[0].Bars;
        if (series.All(s => s.Bars.Length == first.Length && SameTimes(s.Bars, first)))
            return Array.ConvertAll(first, b => b.Time);

        // k-way merge of the sorted series.
        var cursors = new int[series.Count];
        var timeline = new List<DateTimeOffset>(series.Max(s => s.Bars.Length));
        while (true)
        {
            var next = DateTimeOffset.MaxValue;
            var any = false;
            for (var s = 0; s < series.Count; s++)
            {
                var bars = series[s].Bars;
                if (cursors[s] < bars.Length && bars[cursors[s]].Time < next) { next = bars[cursors[s]].Time; any = true; }
            }
            if (!any) break;
            timeline.Add(next);
            for (var s = 0; s < series.Count; s++)
            {
                var bars = series[s].Bars;
                if (cursors[s] < bars.Length && bars[cursors[s]].Time == next) cursors[s]++;
            }
        }
        return timeline.ToArray();
    }

    private static bool SameTimes(Bar[] a, Bar[] b)
    {
        for (var i = 0; i < a.Length; i++) if (a[i].Time != b[i].Time) return false;
        return true;
    }
}
