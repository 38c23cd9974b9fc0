using Platform.OfflineStore;
using Platform.Quant;
using Platform.Quant.Features;

namespace Platform.Features.Tests;

/// <summary>
/// The vectors of one series over a range: <see cref="Times"/>[i] is the open time of the bar whose vector is
/// <see cref="Values"/>[i] (in <see cref="FeatureSet.Features"/> order, NaN where undefined).
/// </summary>
public sealed record FeatureSeries(string Symbol, BarInterval Interval, FeatureSet Set, IReadOnlyList<DateTimeOffset> Times, IReadOnlyList<double[]> Values)
{
    public int Count => Times.Count;
}

/// <summary>
/// What the features service must have streamed and stored: a fresh calculator replayed over each series from its first
/// stored bar (so windows and recursive averages before <c>from</c> are warmed up as the live pipeline's), computed in
/// the test without the service's pipeline, checkpoints or stores. A vector at bar t uses only bars up to t.
/// </summary>
public static class ExpectedFeatures
{
    /// <summary>
    /// Computes <paramref name="set"/> (<c>{name}@{version}</c>) for each symbol over <c>[from, to)</c> (either open),
    /// symbols in parallel. Throws <see cref="UnknownFeatureSetException"/> before reading anything for an unknown set.
    /// A symbol without bars gives an empty series. Results are in the order of <paramref name="symbols"/>.
    /// </summary>
    public static async Task<IReadOnlyList<FeatureSeries>> ComputeAsync(IBarReader reader, IEnumerable<string> symbols, BarInterval interval,
        DateTimeOffset? from, DateTimeOffset? to, string set, CancellationToken ct = default, int? maxDegreeOfParallelism = null)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var featureSet = FeatureSets.Get(set);
        if (from is { } f && to is { } t && f >= t) throw new ArgumentException($"'from' ({f:o}) must be before 'to' ({t:o}).", nameof(from));
        var list = symbols.ToList();
        var results = new FeatureSeries[list.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, list.Count),
            new ParallelOptions { CancellationToken = ct, MaxDegreeOfParallelism = maxDegreeOfParallelism ?? Environment.ProcessorCount },
            async (i, token) =>
            {
                var bars = await reader.GetBarsAsync(new BarQuery(list[i], interval, null, to), token);
                results[i] = Compute(list[i], interval, featureSet, bars, from, to);
            });
        return results;
    }

    /// <summary>One symbol's vectors over <c>[from, to)</c> from its full bar history <paramref name="bars"/> (time-ordered).</summary>
    public static FeatureSeries Compute(string symbol, BarInterval interval, FeatureSet set, IReadOnlyList<Bar> bars,
        DateTimeOffset? from = null, DateTimeOffset? to = null)
    {
        var calculator = FeatureSets.CreateCalculator(set.Id);
        var times = new List<DateTimeOffset>();
        var values = new List<double[]>();
        foreach (var bar in bars)
        {
            if (to is { } t && bar.Time >= t) break;
            var vector = calculator.Update(bar);
            if (from is { } f && bar.Time < f) continue;
            times.Add(bar.Time);
            values.Add(vector);
        }
        return new FeatureSeries(symbol, interval, set, times, values);
    }
}
