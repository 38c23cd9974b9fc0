namespace Platform.Quant.Tests.Indicators;

/// <summary>
/// Straightforward batch recomputations (each value from its whole window, no running state beyond
/// what the definition itself carries), used as the reference for the streaming indicators.
/// NaN marks bars before the first value.
/// </summary>
public static class Naive
{
    public static double[] Closes(Bar[] bars) => bars.Select(b => b.Close).ToArray();

    private static double[] Windowed(int n, int period, Func<int, double> value)
    {
        var r = new double[n];
        for (var t = 0; t < n; t++) r[t] = t >= period - 1 ? value(t) : double.NaN;
        return r;
    }

    private static IEnumerable<double> Window(double[] x, int t, int period) => x.Skip(t - period + 1).Take(period);

    public static double[] Sma(double[] x, int p) => Windowed(x.Length, p, t => Window(x, t, p).Sum() / p);

    public static double[] Ema(double[] x, int p)
    {
        var r = Enumerable.Repeat(double.NaN, x.Length).ToArray();
        var valid = x.Select((v, i) => (v, i)).Where(e => !double.IsNaN(e.v)).ToArray();
        if (valid.Length < p) return r;
        var k = 2.0 / (p + 1);
        var ema = valid.Take(p).Sum(e => e.v) / p;
        r[valid[p - 1].i] = ema;
        foreach (var (v, i) in valid.Skip(p)) r[i] = ema = ema + k * (v - ema);
        return r;
    }

    public static double[] Wma(double[] x, int p) =>
        Windowed(x.Length, p, t => Window(x, t, p).Select((v, i) => (i + 1) * v).Sum() / (p * (p + 1) / 2.0));

    public static double[] PopStd(double[] x, int p) => Windowed(x.Length, p, t =>
    {
        var w = Window(x, t, p).ToArray();
        var m = w.Average();
        return Math.Sqrt(w.Sum(v => (v - m) * (v - m)) / p);
    });

    public static double[] SampleStd(double[] x, int p) => Windowed(x.Length, p, t =>
    {
        var w = Window(x, t, p).ToArray();
        var m = w.Average();
        return Math.Sqrt(w.Sum(v => (v - m) * (v - m)) / (p - 1));
    });

    public static double[] Rsi(double[] x, int p)
    {
        var r = Enumerable.Repeat(double.NaN, x.Length).ToArray();
        double gain = 0, loss = 0;
        for (var t = 1; t < x.Length; t++)
        {
            var d = x[t] - x[t - 1];
            double g = Math.Max(d, 0), l = Math.Max(-d, 0);
            if (t <= p) { gain += g / p; loss += l / p; }
            else { gain = (gain * (p - 1) + g) / p; loss = (loss * (p - 1) + l) / p; }
            if (t >= p) r[t] = gain + loss == 0 ? 0 : 100 * gain / (gain + loss);
        }
        return r;
    }

    public static double[] TrueRange(Bar[] b) => b.Select((bar, t) => t == 0 ? double.NaN
        : Math.Max(bar.High, b[t - 1].Close) - Math.Min(bar.Low, b[t - 1].Close)).ToArray();

    public static double[] Atr(Bar[] b, int p)
    {
        var tr = TrueRange(b);
        var r = Enumerable.Repeat(double.NaN, b.Length).ToArray();
        double atr = 0;
        for (var t = 1; t < b.Length; t++)
        {
            if (t < p) continue;
            atr = t == p ? tr.Skip(1).Take(p).Average() : (atr * (p - 1) + tr[t]) / p;
            r[t] = atr;
        }
        return r;
    }

    public static double[] Max(double[] x, int p) => Windowed(x.Length, p, t => Window(x, t, p).Max());
    public static double[] Min(double[] x, int p) => Windowed(x.Length, p, t => Window(x, t, p).Min());

    /// <summary>Bars since the most recent maximum (0 = newest).</summary>
    public static double[] ArgMaxBarsAgo(double[] x, int p) => Windowed(x.Length, p, t =>
    {
        var w = Window(x, t, p).ToArray();
        return p - 1 - Array.LastIndexOf(w, w.Max());
    });

    public static double[] ArgMinBarsAgo(double[] x, int p) => Windowed(x.Length, p, t =>
    {
        var w = Window(x, t, p).ToArray();
        return p - 1 - Array.LastIndexOf(w, w.Min());
    });

    public static double[] Correlation(double[] x, double[] y, int p) => Windowed(x.Length, p, t =>
    {
        var a = Window(x, t, p).ToArray();
        var b = Window(y, t, p).ToArray();
        double ma = a.Average(), mb = b.Average();
        var sab = a.Zip(b).Sum(e => (e.First - ma) * (e.Second - mb));
        var saa = a.Sum(v => (v - ma) * (v - ma));
        var sbb = b.Sum(v => (v - mb) * (v - mb));
        return sab / Math.Sqrt(saa * sbb);
    });

    public static (double[] Slope, double[] RSquared, double[] Residual, double[] Fitted) LinearRegression(double[] y, int p)
    {
        double[] Part(Func<double, double, double, double, double> pick) => Windowed(y.Length, p, t =>
        {
            var w = Window(y, t, p).ToArray();
            var mx = (p - 1) / 2.0;
            var my = w.Average();
            double sxy = 0, sxx = 0, syy = 0;
            for (var i = 0; i < p; i++) { sxy += (i - mx) * (w[i] - my); sxx += (i - mx) * (i - mx); syy += (w[i] - my) * (w[i] - my); }
            var slope = sxy / sxx;
            var fitted = my + slope * (p - 1 - mx);
            return pick(slope, sxy * sxy / (sxx * syy), w[^1] - fitted, fitted);
        });
        return (Part((s, _, _, _) => s), Part((_, r, _, _) => r), Part((_, _, e, _) => e), Part((_, _, _, f) => f));
    }

    public static double[] ZScore(double[] x, int p)
    {
        var mean = Sma(x, p);
        var std = PopStd(x, p);
        return x.Select((v, t) => (v - mean[t]) / std[t]).ToArray();
    }

    public static double[] Roc(double[] x, int p) => x.Select((v, t) => t >= p ? (v / x[t - p] - 1) * 100 : double.NaN).ToArray();
    public static double[] Mom(double[] x, int p) => x.Select((v, t) => t >= p ? v - x[t - p] : double.NaN).ToArray();

    public static double[] Obv(Bar[] b)
    {
        var r = new double[b.Length];
        for (var t = 0; t < b.Length; t++)
            r[t] = t == 0 ? b[0].Volume : r[t - 1] + Math.Sign(b[t].Close - b[t - 1].Close) * b[t].Volume;
        return r;
    }

    public static double[] WilliamsR(Bar[] b, int p) => Windowed(b.Length, p, t =>
    {
        var w = b.Skip(t - p + 1).Take(p).ToArray();
        double hh = w.Max(x => x.High), ll = w.Min(x => x.Low);
        return -100 * (hh - b[t].Close) / (hh - ll);
    });

    public static double[] FastK(Bar[] b, int p) => Windowed(b.Length, p, t =>
    {
        var w = b.Skip(t - p + 1).Take(p).ToArray();
        double hh = w.Max(x => x.High), ll = w.Min(x => x.Low);
        return 100 * (b[t].Close - ll) / (hh - ll);
    });

    /// <summary>SMA over the defined (non-NaN) values only.</summary>
    public static double[] SmaOfDefined(double[] x, int p)
    {
        var r = Enumerable.Repeat(double.NaN, x.Length).ToArray();
        var idx = Enumerable.Range(0, x.Length).Where(i => !double.IsNaN(x[i])).ToArray();
        for (var k = p - 1; k < idx.Length; k++) r[idx[k]] = idx.Skip(k - p + 1).Take(p).Average(i => x[i]);
        return r;
    }

    public static double[] Cci(Bar[] b, int p)
    {
        var tp = b.Select(x => (x.High + x.Low + x.Close) / 3).ToArray();
        return Windowed(b.Length, p, t =>
        {
            var w = Window(tp, t, p).ToArray();
            var m = w.Average();
            return (tp[t] - m) / (0.015 * w.Average(v => Math.Abs(v - m)));
        });
    }

    public static double[] Mfi(Bar[] b, int p)
    {
        var tp = b.Select(x => (x.High + x.Low + x.Close) / 3).ToArray();
        return b.Select((_, t) =>
        {
            if (t < p) return double.NaN;
            double pos = 0, neg = 0;
            for (var i = t - p + 1; i <= t; i++)
            {
                if (tp[i] > tp[i - 1]) pos += tp[i] * b[i].Volume;
                else if (tp[i] < tp[i - 1]) neg += tp[i] * b[i].Volume;
            }
            return 100 * pos / (pos + neg);
        }).ToArray();
    }

    public static double[] RealizedVolatility(Bar[] b, Quant.Indicators.VolatilityEstimator e, int p)
    {
        var ln2 = Math.Log(2);
        return b.Select((_, t) =>
        {
            var needsPrevious = e is Quant.Indicators.VolatilityEstimator.CloseToClose or Quant.Indicators.VolatilityEstimator.YangZhang;
            if (t < (needsPrevious ? p : p - 1)) return double.NaN;
            var w = Enumerable.Range(t - p + 1, p).ToArray();
            double Rs(int i) => Math.Log(b[i].High / b[i].Close) * Math.Log(b[i].High / b[i].Open) + Math.Log(b[i].Low / b[i].Close) * Math.Log(b[i].Low / b[i].Open);
            double Var(double[] v) { var m = v.Average(); return v.Sum(x => (x - m) * (x - m)) / (v.Length - 1); }
            return e switch
            {
                Quant.Indicators.VolatilityEstimator.CloseToClose => Math.Sqrt(Var(w.Select(i => Math.Log(b[i].Close / b[i - 1].Close)).ToArray())),
                Quant.Indicators.VolatilityEstimator.Parkinson => Math.Sqrt(w.Sum(i => Math.Pow(Math.Log(b[i].High / b[i].Low), 2)) / (4 * ln2 * p)),
                Quant.Indicators.VolatilityEstimator.GarmanKlass => Math.Sqrt(w.Average(i =>
                    0.5 * Math.Pow(Math.Log(b[i].High / b[i].Low), 2) - (2 * ln2 - 1) * Math.Pow(Math.Log(b[i].Close / b[i].Open), 2))),
                Quant.Indicators.VolatilityEstimator.RogersSatchell => Math.Sqrt(w.Average(Rs)),
                _ => Math.Sqrt(Var(w.Select(i => Math.Log(b[i].Open / b[i - 1].Close)).ToArray())
                               + 0.34 / (1.34 + (p + 1.0) / (p - 1)) * Var(w.Select(i => Math.Log(b[i].Close / b[i].Open)).ToArray())
                               + (1 - 0.34 / (1.34 + (p + 1.0) / (p - 1))) * w.Average(Rs)),
            };
        }).ToArray();
    }
}
