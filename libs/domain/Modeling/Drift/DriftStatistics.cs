namespace Platform.Modeling.Drift;

/// <summary>
/// A reference distribution summarised as quantile bins (edges and frequencies), mean, standard deviation and a sketch of
/// order statistics (<see cref="Sorted"/>: every value of small samples, <see cref="SketchSize"/> evenly spaced ones of
/// large samples) against which the KS statistic is computed; <see cref="Count"/> is the size of the whole sample.
/// </summary>
public sealed record ReferenceProfile(double[] Edges, double[] Frequencies, double Mean, double StdDev, double[] Sorted, int Count)
{
    /// <summary>Order statistics kept of a large sample: the sketch's CDF is within 1/SketchSize of the sample's.</summary>
    public const int SketchSize = 256;

    /// <summary>
    /// Bins at the reference's quantiles k/bins (ties merged, so a bin is never empty by construction); at most
    /// <paramref name="sketchSize"/> order statistics are kept.
    /// </summary>
    public static ReferenceProfile From(IEnumerable<double> values, int bins, int sketchSize = SketchSize)
    {
        var sorted = values.Where(double.IsFinite).Order().ToArray();
        if (sorted.Length == 0) throw new ArgumentException("A reference needs at least one finite value.", nameof(values));
        var edges = new List<double>();
        for (var k = 1; k < bins; k++)
        {
            var q = sorted[Math.Min(sorted.Length - 1, (int)Math.Floor(k * (double)sorted.Length / bins))];
            if (edges.Count == 0 || q > edges[^1]) edges.Add(q);
        }
        var mean = sorted.Average();
        var sd = sorted.Length > 1 ? Math.Sqrt(sorted.Sum(v => (v - mean) * (v - mean)) / (sorted.Length - 1)) : 0;
        var e = edges.ToArray();
        return new ReferenceProfile(e, DriftStatistics.Frequencies(sorted, e), mean, sd, Sketch(sorted, sketchSize), sorted.Length);
    }

    /// <summary>The sample's order statistics at the midpoints of <paramref name="size"/> equal shares (all of a small sample).</summary>
    private static double[] Sketch(double[] sorted, int size)
    {
        if (sorted.Length <= size) return sorted;
        var sketch = new double[size];
        for (var k = 0; k < size; k++) sketch[k] = sorted[(int)((k + 0.5) * sorted.Length / size)];
        return sketch;
    }
}

/// <summary>Population stability index and the two-sample Kolmogorov-Smirnov statistic.</summary>
public static class DriftStatistics
{
    /// <summary>Share of values per bin; bin j holds edges[j-1] &lt; v &lt;= edges[j] (first and last bins open).</summary>
    public static double[] Frequencies(IReadOnlyList<double> values, double[] edges)
    {
        var counts = new double[edges.Length + 1];
        var n = 0;
        foreach (var v in values)
        {
            if (!double.IsFinite(v)) continue;
            var j = Array.BinarySearch(edges, v);
            if (j < 0) j = ~j;
            counts[j]++;
            n++;
        }
        if (n > 0) for (var j = 0; j < counts.Length; j++) counts[j] /= n;
        return counts;
    }

    /// <summary>PSI = sum over bins of (a - e) ln(a / e), with empty bins floored at <paramref name="floor"/>.</summary>
    public static double Psi(ReferenceProfile reference, IReadOnlyList<double> actual, double floor = 1e-4)
    {
        var a = Frequencies(actual, reference.Edges);
        var psi = 0.0;
        for (var j = 0; j < a.Length; j++)
        {
            var e = Math.Max(reference.Frequencies[j], floor);
            var x = Math.Max(a[j], floor);
            psi += (x - e) * Math.Log(x / e);
        }
        return psi;
    }

    /// <summary>The largest gap between the two empirical distribution functions.</summary>
    public static double Ks(double[] sortedReference, IReadOnlyList<double> actual)
    {
        var b = actual.Where(double.IsFinite).Order().ToArray();
        if (sortedReference.Length == 0 || b.Length == 0) return double.NaN;
        int i = 0, j = 0;
        var d = 0.0;
        while (i < sortedReference.Length && j < b.Length)
        {
            var x = Math.Min(sortedReference[i], b[j]);
            while (i < sortedReference.Length && sortedReference[i] <= x) i++;
            while (j < b.Length && b[j] <= x) j++;
            d = Math.Max(d, Math.Abs((double)i / sortedReference.Length - (double)j / b.Length));
        }
        return d;
    }

    /// <summary>The KS statistic's critical value at significance <paramref name="alpha"/> for samples of n and m.</summary>
    public static double KsCritical(double alpha, int n, int m) =>
        Math.Sqrt(-Math.Log(alpha / 2) / 2) * Math.Sqrt((double)(n + m) / ((double)n * m));
}
