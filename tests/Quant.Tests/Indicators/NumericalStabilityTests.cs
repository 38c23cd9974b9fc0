using Platform.Quant.Tests.Features;
using Platform.Quant.Features;
using Platform.Quant.Indicators;

namespace Platform.Quant.Tests.Indicators;

/// <summary>
/// Millions of updates on a series with a large level and small moves (the case where naive running
/// sums lose precision), then the final values against an exact recomputation of the last window.
/// </summary>
public sealed class NumericalStabilityTests
{
    private const int Updates = 3_000_000;

    [Fact]
    public void Update_ThreeMillionValues_RunningSumsMatchExactRecomputation()
    {
        const int period = 50;
        var sma = new SimpleMovingAverage(period);
        var std = new StandardDeviation(period);
        var wma = new WeightedMovingAverage(period);
        var lr = new LinearRegression(period);
        var corr = new Correlation(period);
        var z = new ZScore(period);
        var rng = new SeededBars.SplitMix64(99);
        var last = new Queue<(double X, double Y)>();
        var time = SeededBars.Start;
        var level = 1e6;
        for (var i = 0; i < Updates; i++)
        {
            level += (rng.NextDouble() - 0.5) * 10;
            var x = level + rng.NextDouble();
            var y = 0.5 * x + rng.NextDouble() * 3;
            time = time.AddMinutes(1);
            sma.Update(time, x);
            std.Update(time, x);
            wma.Update(time, x);
            lr.Update(time, x);
            z.Update(time, x);
            corr.Update(time, x, y);
            last.Enqueue((x, y));
            if (last.Count > period) last.Dequeue();
        }
        var xs = last.Select(p => p.X).ToArray();
        var ys = last.Select(p => p.Y).ToArray();
        Approx.AssertEqual(Naive.Sma(xs, period)[^1], sma.Current, "sma", 1e-12, 0);
        Approx.AssertEqual(Naive.PopStd(xs, period)[^1], std.Current, "std", 1e-9, 0);
        Approx.AssertEqual(Naive.Wma(xs, period)[^1], wma.Current, "wma", 1e-12, 0);
        var (slope, r2, resi, _) = Naive.LinearRegression(xs, period);
        Approx.AssertEqual(slope[^1], lr.Current, "slope", 1e-9, 0);
        Approx.AssertEqual(r2[^1], lr.RSquared, "r2", 1e-9, 0);
        Approx.AssertEqual(resi[^1], lr.Residual, "residual", 1e-9, 0);
        Approx.AssertEqual(Naive.Correlation(xs, ys, period)[^1], corr.Current, "corr", 1e-9, 0);
        Approx.AssertEqual(Naive.ZScore(xs, period)[^1], z.Current, "zscore", 1e-9, 0);
    }

    [Fact]
    public void Alpha158_QuarterMillionBars_MatchesBatchOnFinalWindow()
    {
        var bars = SeededBars.Generate(250_000, seed: 5, startPrice: 1000);
        var streaming = new Alpha158();
        var values = new double[Alpha158Definition.Count];
        foreach (var bar in bars) streaming.Update(bar, values);
        var batch = Alpha158Reference.Compute(bars[^200..]);
        for (var i = 0; i < values.Length; i++)
            Approx.AssertEqual(batch[^1][i], values[i], Alpha158Definition.Names[i]);
    }
}
