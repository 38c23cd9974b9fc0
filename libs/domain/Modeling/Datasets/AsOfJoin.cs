namespace Platform.Modeling.Datasets;

/// <summary>
/// Availability time: a bar is stamped with its open time but its values (and every feature computed from it) are
/// known only at its close, the stamp plus the interval. Joins on what was known at a time must use that, never the
/// stamp: joining on the stamp hands a query at a bar's open the bar's own close, a one-bar look-ahead.
/// </summary>
public static class AsOfJoin
{
    /// <summary>When a bar stamped <paramref name="barTime"/> becomes known: its close.</summary>
    public static DateTimeOffset AvailableAt(DateTimeOffset barTime, TimeSpan interval) => barTime + interval;

    /// <summary>
    /// For each query time, the index of the last row known by then (<paramref name="availableAt"/>[i] &lt;= query), or
    /// -1 when none is. <paramref name="availableAt"/> must be ascending.
    /// </summary>
    public static int[] Indices(IReadOnlyList<DateTimeOffset> availableAt, IReadOnlyList<DateTimeOffset> queries)
    {
        for (var i = 1; i < availableAt.Count; i++)
            if (availableAt[i] < availableAt[i - 1]) throw new ArgumentException($"Availability times must ascend (row {i}).", nameof(availableAt));
        var result = new int[queries.Count];
        for (var q = 0; q < queries.Count; q++)
        {
            int lo = 0, hi = availableAt.Count - 1, found = -1;
            while (lo <= hi)
            {
                var mid = (lo + hi) >>> 1;
                if (availableAt[mid] <= queries[q]) { found = mid; lo = mid + 1; }
                else hi = mid - 1;
            }
            result[q] = found;
        }
        return result;
    }

    /// <summary>The feature rows of bars stamped <paramref name="barTimes"/> (ascending) as known at each query time.</summary>
    public static int[] BarRows(IReadOnlyList<DateTimeOffset> barTimes, TimeSpan interval, IReadOnlyList<DateTimeOffset> queries) =>
        Indices(barTimes.Select(t => AvailableAt(t, interval)).ToArray(), queries);
}
