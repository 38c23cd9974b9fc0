namespace Platform.Modeling.Validation;

/// <summary>
/// Moving-block bootstrap over decision dates: resamples whole dates in blocks of consecutive dates (so serial
/// dependence within a block is kept and every symbol of a date stays together), recomputes a statistic on the rows
/// of the resampled dates, and returns the percentile interval. Seeded: the same inputs give the same interval.
/// </summary>
public static class Bootstrap
{
    public sealed record Interval(double Low, double High, int Resamples);

    /// <param name="rowTimes">The decision time of each row the statistic can use.</param>
    /// <param name="statistic">The statistic of a sample, given as row indices into <paramref name="rowTimes"/> (repeats allowed); null when undefined.</param>
    public static Interval? BlockInterval(IReadOnlyList<DateTimeOffset> rowTimes, Func<int[], double?> statistic,
        int blockLength = 20, int resamples = 500, double level = 0.9, int seed = 1)
    {
        var byDate = Enumerable.Range(0, rowTimes.Count).GroupBy(i => rowTimes[i]).OrderBy(g => g.Key).Select(g => g.ToArray()).ToArray();
        if (byDate.Length < 2) return null;
        var block = Math.Clamp(blockLength, 1, byDate.Length);
        var random = new Random(seed);
        var values = new List<double>(resamples);
        var rows = new List<int>(rowTimes.Count);
        for (var b = 0; b < resamples; b++)
        {
            rows.Clear();
            var dates = 0;
            while (dates < byDate.Length)
            {
                var start = random.Next(0, byDate.Length - block + 1);
                for (var k = 0; k < block && dates < byDate.Length; k++, dates++) rows.AddRange(byDate[start + k]);
            }
            if (statistic([.. rows]) is { } v && double.IsFinite(v)) values.Add(v);
        }
        if (values.Count < resamples / 2) return null;
        values.Sort();
        var tail = (1 - level) / 2;
        return new Interval(Quantile(values, tail), Quantile(values, 1 - tail), values.Count);
    }

    private static double Quantile(List<double> sorted, double q)
    {
        var position = q * (sorted.Count - 1);
        var lo = (int)Math.Floor(position);
        var hi = Math.Min(sorted.Count - 1, lo + 1);
        return sorted[lo] + (position - lo) * (sorted[hi] - sorted[lo]);
    }
}
