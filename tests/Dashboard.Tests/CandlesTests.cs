using Platform.Gateway.Dashboard;

namespace Platform.Dashboard.Tests;

public sealed class CandlesTests
{
    private static Candle Bar(long t, double o, double h, double l, double c, double v) => new(t, o, h, l, c, v);

    [Fact]
    public void Downsample_SeriesWithinTheLimit_ReturnsItUnchanged()
    {
        var bars = new[] { Bar(1, 1, 2, 0.5, 1.5, 10), Bar(2, 1.5, 3, 1, 2, 20) };

        Assert.Same(bars, Candles.Downsample(bars, 2));
    }

    [Fact]
    public void Downsample_FiveBarsToTwo_AggregatesRunsOfThreeKeepingExtremes()
    {
        var bars = new[]
        {
            Bar(10, 5, 6, 4, 5.5, 100), Bar(20, 5.5, 9, 5, 8, 200), Bar(30, 8, 8.5, 3, 4, 300),
            Bar(40, 4, 4.5, 2, 2.5, 400), Bar(50, 2.5, 7, 2.4, 6, 500),
        };

        var candles = Candles.Downsample(bars, 2);

        // ceil(5 / 2) = 3 bars per candle: [10, 20, 30] and [40, 50].
        Assert.Equal([Bar(10, 5, 9, 3, 4, 600), Bar(40, 4, 7, 2, 6, 900)], candles);
    }

    [Fact]
    public void Downsample_TwentyYearsOfDailyBars_StaysWithinTheLimit()
    {
        var bars = Enumerable.Range(0, 5036).Select(i => Bar(i * 86_400L, 1, 2, 0.5, 1.5, 1)).ToList();

        var candles = Candles.Downsample(bars, 1500);

        Assert.Equal(1259, candles.Count); // ceil(5036 / 1500) = 4 bars per candle
        Assert.Equal(5036, candles.Sum(c => c.Volume));
    }

    [Fact]
    public void Sma_ThreeBarPeriod_IsNullUntilThreeClosesThenTheirMean()
    {
        var bars = new[] { 1.0, 2, 3, 4, 8 }.Select((c, i) => Bar(i, c, c, c, c, 0)).ToList();

        Assert.Equal([null, null, 2.0, 3.0, 5.0], Candles.Sma(bars, 3));
    }
}
