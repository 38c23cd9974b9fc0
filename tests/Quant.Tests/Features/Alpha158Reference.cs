using Platform.Quant.Features;

namespace Platform.Quant.Tests.Features;

/// <summary>
/// Alpha158 by direct recomputation: for every bar and window, the window's values are gathered and
/// each operator is evaluated from scratch (two-pass moments, sorting, scans), transcribing Qlib's
/// pandas semantics. Slow (O(window) per factor) and simple: the independent reference the streaming
/// calculator is tested against (the platform itself computes batches by replaying the streaming calculator).
/// </summary>
public static class Alpha158Reference
{
    private const double Eps = 1e-12;
    private const double FlatStd = 2e-5;

    public static double[][] Compute(IReadOnlyList<Bar> bars)
    {
        var n = bars.Count;
        var open = new double[n]; var high = new double[n]; var low = new double[n]; var close = new double[n];
        var volume = new double[n]; var vwap = new double[n];
        for (var i = 0; i < n; i++)
        {
            var b = bars[i];
            if (i > 0 && b.Time <= bars[i - 1].Time)
                throw new ArgumentException($"Bars must be strictly time-ordered: {b.Time:o} follows {bars[i - 1].Time:o}.", nameof(bars));
            (open[i], high[i], low[i], close[i], volume[i]) = (b.Open, b.High, b.Low, b.Close, b.Volume);
            vwap[i] = b.Vwap ?? b.TypicalPrice;
        }

        // Derived series exactly as Qlib's expressions build them; index 0 has no previous bar, so
        // Ref(x, 1) is NaN there: differences and ratios are NaN, comparisons are false.
        double Prev(double[] x, int i) => i > 0 ? x[i - 1] : double.NaN;
        var logVolume = Map(i => Math.Log(volume[i] + 1));
        var closeRatio = Map(i => close[i] / Prev(close, i));
        var volumeRatio = Map(i => Math.Log(volume[i] / Prev(volume, i) + 1));
        var up = Map(i => close[i] > Prev(close, i) ? 1.0 : 0.0);
        var down = Map(i => close[i] < Prev(close, i) ? 1.0 : 0.0);
        var gain = Map(i => NanMax(close[i] - Prev(close, i), 0));
        var loss = Map(i => NanMax(Prev(close, i) - close[i], 0));
        var move = Map(i => Math.Abs(close[i] - Prev(close, i)));
        var weightedMove = Map(i => Math.Abs(close[i] / Prev(close, i) - 1) * volume[i]);
        var volumeGain = Map(i => NanMax(volume[i] - Prev(volume, i), 0));
        var volumeLoss = Map(i => NanMax(Prev(volume, i) - volume[i], 0));
        var volumeMove = Map(i => Math.Abs(volume[i] - Prev(volume, i)));

        var result = new double[n][];
        for (var t = 0; t < n; t++)
        {
            var f = result[t] = new double[Alpha158Definition.Count];
            double o = open[t], h = high[t], l = low[t], c = close[t], v = volume[t];
            f[0] = (c - o) / o;
            f[1] = (h - l) / o;
            f[2] = (c - o) / (h - l + Eps);
            f[3] = (h - Math.Max(o, c)) / o;
            f[4] = (h - Math.Max(o, c)) / (h - l + Eps);
            f[5] = (Math.Min(o, c) - l) / o;
            f[6] = (Math.Min(o, c) - l) / (h - l + Eps);
            f[7] = (2 * c - h - l) / o;
            f[8] = (2 * c - h - l) / (h - l + Eps);
            f[9] = o / c;
            f[10] = h / c;
            f[11] = l / c;
            f[12] = vwap[t] / c;

            for (var wi = 0; wi < Alpha158Definition.Windows.Length; wi++)
            {
                var d = Alpha158Definition.Windows[wi];
                var from = Math.Max(0, t - d + 1);
                var len = t - from + 1;
                var cw = new ArraySegment<double>(close, from, len);
                var hw = new ArraySegment<double>(high, from, len);
                var lw = new ArraySegment<double>(low, from, len);
                void Set(string group, double value) => f[Alpha158Definition.IndexOf(group, d)] = value;

                var closeStd = Std(cw);
                var (slope, rsquare, resi) = Regression(cw);
                var maxHigh = hw.Max();
                var minLow = lw.Min();
                var idxMax = ArgFirst(hw, (a, b) => a > b) + 1;
                var idxMin = ArgFirst(lw, (a, b) => a < b) + 1;

                Set("ROC", t >= d ? close[t - d] / c : double.NaN);
                Set("MA", Mean(cw) / c);
                Set("STD", closeStd / c);
                Set("BETA", slope / c);
                Set("RSQR", IsFlat(closeStd) ? double.NaN : rsquare);
                Set("RESI", resi / c);
                Set("MAX", maxHigh / c);
                Set("MIN", minLow / c);
                Set("QTLU", Quantile(cw, 0.8) / c);
                Set("QTLD", Quantile(cw, 0.2) / c);
                Set("RANK", Rank(cw));
                Set("RSV", (c - minLow) / (maxHigh - minLow + Eps));
                Set("IMAX", idxMax / (double)d);
                Set("IMIN", idxMin / (double)d);
                Set("IMXD", (idxMax - idxMin) / (double)d);
                Set("CORR", Corr(cw, new ArraySegment<double>(logVolume, from, len)));
                Set("CORD", Corr(new ArraySegment<double>(closeRatio, from, len), new ArraySegment<double>(volumeRatio, from, len)));
                var cntp = Mean(new ArraySegment<double>(up, from, len));
                var cntn = Mean(new ArraySegment<double>(down, from, len));
                Set("CNTP", cntp);
                Set("CNTN", cntn);
                Set("CNTD", cntp - cntn);
                SetShares("SUM", gain, loss, move);
                var vw = new ArraySegment<double>(volume, from, len);
                Set("VMA", Mean(vw) / (v + Eps));
                Set("VSTD", Std(vw) / (v + Eps));
                var wm = new ArraySegment<double>(weightedMove, from, len);
                Set("WVMA", Std(wm) / (Mean(wm) + Eps));
                SetShares("VSUM", volumeGain, volumeLoss, volumeMove);

                // {prefix}P, N, D: the window's gains, losses and their difference as shares of the total move.
                void SetShares(string prefix, double[] gains, double[] losses, double[] moves)
                {
                    var gained = Sum(new ArraySegment<double>(gains, from, len));
                    var lost = Sum(new ArraySegment<double>(losses, from, len));
                    var total = Sum(new ArraySegment<double>(moves, from, len));
                    Set(prefix + "P", gained / (total + Eps));
                    Set(prefix + "N", lost / (total + Eps));
                    Set(prefix + "D", (gained - lost) / (total + Eps));
                }
            }
        }
        return result;

        double[] Map(Func<int, double> f)
        {
            var a = new double[n];
            for (var i = 0; i < n; i++) a[i] = f(i);
            return a;
        }
    }

    /// <summary>numpy.maximum: NaN if either side is NaN.</summary>
    private static double NanMax(double a, double b) => double.IsNaN(a) ? double.NaN : Math.Max(a, b);

    private static bool IsFlat(double std) => !double.IsNaN(std) && Math.Abs(std) <= FlatStd;

    private static List<double> Valid(ArraySegment<double> x) => x.Where(v => !double.IsNaN(v)).ToList();

    /// <summary>pandas rolling sum with min_periods=1: NaN when the window has no valid value.</summary>
    private static double Sum(ArraySegment<double> x)
    {
        var valid = Valid(x);
        return valid.Count == 0 ? double.NaN : valid.Sum();
    }

    private static double Mean(ArraySegment<double> x)
    {
        var valid = Valid(x);
        return valid.Count == 0 ? double.NaN : valid.Sum() / valid.Count;
    }

    /// <summary>pandas rolling std (ddof=1): NaN below two values, exactly 0 for a constant window.</summary>
    private static double Std(ArraySegment<double> x)
    {
        var valid = Valid(x);
        if (valid.Count < 2) return double.NaN;
        if (valid.All(v => v == valid[0])) return 0.0;
        var mean = valid.Sum() / valid.Count;
        return Math.Sqrt(valid.Sum(v => (v - mean) * (v - mean)) / (valid.Count - 1));
    }

    /// <summary>Least squares of the window against 1..n: slope, R², residual of the newest value.</summary>
    private static (double Slope, double RSquare, double Residual) Regression(ArraySegment<double> y)
    {
        var n = y.Count;
        if (n < 2) return (double.NaN, double.NaN, double.NaN);
        var meanX = (n + 1) / 2.0;
        var meanY = y.Sum() / n;
        double sxy = 0, sxx = 0, syy = 0;
        for (var i = 0; i < n; i++)
        {
            var dx = i + 1 - meanX;
            var dy = y[i] - meanY;
            sxy += dx * dy;
            sxx += dx * dx;
            syy += dy * dy;
        }
        var slope = sxy / sxx;
        var intercept = meanY - slope * meanX;
        var residual = y[n - 1] - (intercept + slope * n);
        return (slope, sxy * sxy / (sxx * syy), residual);
    }

    /// <summary>Index of the first element no other element beats (numpy argmax/argmin semantics).</summary>
    private static int ArgFirst(ArraySegment<double> x, Func<double, double, bool> better)
    {
        var best = 0;
        for (var i = 1; i < x.Count; i++)
            if (better(x[i], x[best])) best = i;
        return best;
    }

    /// <summary>pandas rolling quantile with linear interpolation.</summary>
    private static double Quantile(ArraySegment<double> x, double q)
    {
        var sorted = x.Order().ToArray();
        var position = q * (sorted.Length - 1);
        var lower = (int)Math.Floor(position);
        var upper = Math.Min(lower + 1, sorted.Length - 1);
        return sorted[lower] + (sorted[upper] - sorted[lower]) * (position - lower);
    }

    /// <summary>pandas rolling rank(pct=True): average rank of the newest value among the window, divided by the count.</summary>
    private static double Rank(ArraySegment<double> x)
    {
        var last = x[^1];
        int less = 0, equal = 0;
        foreach (var v in x)
        {
            if (v < last) less++;
            else if (v == last) equal++;
        }
        return (less + (equal + 1) / 2.0) / x.Count;
    }

    /// <summary>pandas rolling corr over the rows where both are valid; Qlib's Corr sets NaN where either rolling std is within 2e-5 of zero.</summary>
    private static double Corr(ArraySegment<double> x, ArraySegment<double> y)
    {
        var pairs = x.Zip(y).Where(p => !double.IsNaN(p.First) && !double.IsNaN(p.Second)).ToList();
        if (IsFlat(Std(x)) || IsFlat(Std(y))) return double.NaN;
        if (pairs.Count < 2) return double.NaN;
        var mx = pairs.Average(p => p.First);
        var my = pairs.Average(p => p.Second);
        double sxy = 0, sxx = 0, syy = 0;
        foreach (var (a, b) in pairs)
        {
            sxy += (a - mx) * (b - my);
            sxx += (a - mx) * (a - mx);
            syy += (b - my) * (b - my);
        }
        return sxy / Math.Sqrt(sxx * syy);
    }
}
