namespace Platform.Modeling.Validation;

/// <summary>Point metrics. All skip pairs where either value is NaN; an undefined result is NaN.</summary>
public static class Metrics
{
    public static double Rmse(ReadOnlySpan<double> y, ReadOnlySpan<double> p)
    {
        double s = 0; var n = 0;
        for (var i = 0; i < y.Length; i++) { if (Skip(y[i], p[i])) continue; var e = y[i] - p[i]; s += e * e; n++; }
        return n == 0 ? double.NaN : Math.Sqrt(s / n);
    }

    public static double Mae(ReadOnlySpan<double> y, ReadOnlySpan<double> p)
    {
        double s = 0; var n = 0;
        for (var i = 0; i < y.Length; i++) { if (Skip(y[i], p[i])) continue; s += Math.Abs(y[i] - p[i]); n++; }
        return n == 0 ? double.NaN : s / n;
    }

    /// <summary>1 - SSE/SST around the mean of y (out of sample this can be negative).</summary>
    public static double RSquared(ReadOnlySpan<double> y, ReadOnlySpan<double> p)
    {
        double mean = 0; var n = 0;
        for (var i = 0; i < y.Length; i++) { if (Skip(y[i], p[i])) continue; mean += y[i]; n++; }
        if (n == 0) return double.NaN;
        mean /= n;
        double sse = 0, sst = 0;
        for (var i = 0; i < y.Length; i++)
        {
            if (Skip(y[i], p[i])) continue;
            sse += (y[i] - p[i]) * (y[i] - p[i]);
            sst += (y[i] - mean) * (y[i] - mean);
        }
        return sst == 0 ? double.NaN : 1 - sse / sst;
    }

    /// <summary>Pearson correlation; NaN when either side is constant.</summary>
    public static double Pearson(ReadOnlySpan<double> x, ReadOnlySpan<double> y)
    {
        double mx = 0, my = 0; var n = 0;
        double xMin = double.PositiveInfinity, xMax = double.NegativeInfinity, yMin = double.PositiveInfinity, yMax = double.NegativeInfinity;
        for (var i = 0; i < x.Length; i++)
        {
            if (Skip(x[i], y[i])) continue;
            mx += x[i]; my += y[i]; n++;
            xMin = Math.Min(xMin, x[i]); xMax = Math.Max(xMax, x[i]); yMin = Math.Min(yMin, y[i]); yMax = Math.Max(yMax, y[i]);
        }
        // A constant side has no correlation; checked exactly, as rounding in the mean would fake a tiny variance.
        if (n < 2 || xMin == xMax || yMin == yMax) return double.NaN;
        mx /= n; my /= n;
        double sxy = 0, sxx = 0, syy = 0;
        for (var i = 0; i < x.Length; i++)
        {
            if (Skip(x[i], y[i])) continue;
            double dx = x[i] - mx, dy = y[i] - my;
            sxy += dx * dy; sxx += dx * dx; syy += dy * dy;
        }
        return sxx <= 0 || syy <= 0 ? double.NaN : sxy / Math.Sqrt(sxx * syy);
    }

    /// <summary>Spearman rank correlation: Pearson of average ranks (ties share their mean rank).</summary>
    public static double Spearman(ReadOnlySpan<double> x, ReadOnlySpan<double> y)
    {
        var xs = new List<double>(x.Length); var ys = new List<double>(y.Length);
        for (var i = 0; i < x.Length; i++) { if (Skip(x[i], y[i])) continue; xs.Add(x[i]); ys.Add(y[i]); }
        return Pearson(Ranks(xs), Ranks(ys));
    }

    /// <summary>Average ranks starting at 1.</summary>
    public static double[] Ranks(IReadOnlyList<double> v)
    {
        var order = Enumerable.Range(0, v.Count).OrderBy(i => v[i]).ToArray();
        var ranks = new double[v.Count];
        for (var i = 0; i < order.Length;)
        {
            var j = i;
            while (j + 1 < order.Length && v[order[j + 1]] == v[order[i]]) j++;
            var rank = (i + j) / 2.0 + 1;
            for (var k = i; k <= j; k++) ranks[order[k]] = rank;
            i = j + 1;
        }
        return ranks;
    }

    /// <summary>Share of pairs whose signs agree (sign(p) * sign(y) &gt; 0); for probabilities pass p - 0.5 and y - 0.5.</summary>
    public static double HitRate(ReadOnlySpan<double> y, ReadOnlySpan<double> p)
    {
        var hits = 0; var n = 0;
        for (var i = 0; i < y.Length; i++) { if (Skip(y[i], p[i])) continue; n++; if (Math.Sign(y[i]) * Math.Sign(p[i]) > 0) hits++; }
        return n == 0 ? double.NaN : (double)hits / n;
    }

    /// <summary>
    /// QLIKE loss on variances (Patton 2011): mean(y²/p² - ln(y²/p²) - 1) for volatility forecasts p of realized
    /// volatility y. Zero for a perfect forecast; robust to noise in the volatility proxy. Non-positive forecasts are
    /// floored at <paramref name="floor"/>; zero realized volatility rows are skipped (the log is undefined).
    /// </summary>
    public static double Qlike(ReadOnlySpan<double> y, ReadOnlySpan<double> p, double floor = 1e-8)
    {
        double s = 0; var n = 0;
        for (var i = 0; i < y.Length; i++)
        {
            if (Skip(y[i], p[i]) || y[i] <= 0) continue;
            var f = Math.Max(p[i], floor);
            var ratio = y[i] * y[i] / (f * f);
            s += ratio - Math.Log(ratio) - 1;
            n++;
        }
        return n == 0 ? double.NaN : s / n;
    }

    public static double Mean(IReadOnlyList<double> v)
    {
        double s = 0; var n = 0;
        foreach (var x in v) { if (double.IsNaN(x)) continue; s += x; n++; }
        return n == 0 ? double.NaN : s / n;
    }

    /// <summary>Sample standard deviation of the non-NaN values.</summary>
    public static double StdDev(IReadOnlyList<double> v)
    {
        var m = Mean(v);
        double s = 0; var n = 0;
        foreach (var x in v) { if (double.IsNaN(x)) continue; s += (x - m) * (x - m); n++; }
        return n < 2 ? double.NaN : Math.Sqrt(s / (n - 1));
    }

    /// <summary>Information ratio of an IC series: mean / sample standard deviation.</summary>
    public static double InformationRatio(IReadOnlyList<double> ics)
    {
        var sd = StdDev(ics);
        return sd is > 0 ? Mean(ics) / sd : double.NaN;
    }

    private static bool Skip(double a, double b) => double.IsNaN(a) || double.IsNaN(b);
}
