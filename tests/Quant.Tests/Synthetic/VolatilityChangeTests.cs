using Platform.Quant;
using Platform.Quant.Synthetic;

namespace Platform.Quant.Tests.Synthetic;

public sealed class VolatilityChangeTests
{
    private static SyntheticMarketOptions Options(int? changeAt, double factor = 2.5) => new()
    {
        Symbols = [new SyntheticSymbol("RGM", AnnualVolatility: 0.2)],
        Bars = 1000,
        Seed = 11,
        VolatilityChangeAt = changeAt,
        VolatilityFactor = factor,
    };

    private static double StdDevOfLogReturns(IReadOnlyList<SymbolBar> bars, int from, int to)
    {
        var r = Enumerable.Range(from + 1, to - from - 1).Select(i => Math.Log(bars[i].Bar.Close / bars[i - 1].Bar.Close)).ToArray();
        var mean = r.Average();
        return Math.Sqrt(r.Sum(v => (v - mean) * (v - mean)) / (r.Length - 1));
    }

    [Fact]
    public void Stream_VolatilityChange_ScalesReturnsAfterTheChangeAndLeavesTheBarsBeforeItAlone()
    {
        var plain = SyntheticMarket.Generate(Options(null));
        var changed = SyntheticMarket.Generate(Options(500));

        Assert.Equal(plain.Take(500), changed.Take(500));
        // The same draws after the change, scaled: the sample ratio is near 2.5 (GARCH clustering moves it a little).
        var ratio = StdDevOfLogReturns(changed, 550, 1000) / StdDevOfLogReturns(plain, 550, 1000);
        Assert.InRange(ratio, 2.2, 2.8);
    }
}
