using Platform.OfflineStore;
using Platform.Quant;
using Platform.Quant.Synthetic;

namespace Platform.MarketData.Tests;

public sealed class SyntheticMarketTests
{
    private static SyntheticMarketOptions Options(ulong seed = 7, double rho = 0.6) => new()
    {
        Symbols = SyntheticMarketOptions.Universe(3), Bars = 2000, Seed = seed, PairwiseCorrelation = rho, JumpProbability = 0,
    };

    [Fact]
    public void Generate_SameSeed_GivesIdenticalBars()
    {
        Assert.Equal(SyntheticMarket.Generate(Options()), SyntheticMarket.Generate(Options()));
        Assert.NotEqual(SyntheticMarket.Generate(Options(seed: 8))[10], SyntheticMarket.Generate(Options())[10]);
    }

    [Fact]
    public void Generate_AnyBar_PassesTheStoreValidationInTimeOrder()
    {
        var bars = SyntheticMarket.Generate(Options() with { JumpProbability = 0.05 });

        Assert.Empty(BarValidation.CheckBatch(bars));
        Assert.DoesNotContain(bars, b => b.Bar.Time.DayOfWeek is DayOfWeek.Saturday or DayOfWeek.Sunday);
        Assert.Equal(6000, bars.Count);
    }

    [Fact]
    public void Generate_PairwiseCorrelation_ShowsInCloseToCloseReturns()
    {
        var bars = SyntheticMarket.Generate(Options(rho: 0.6));
        double[] Returns(string s) => bars.Where(b => b.Symbol == s).Select(b => b.Bar.Close).Zip(bars.Where(b => b.Symbol == s).Select(b => b.Bar.Close).Skip(1), (a, b) => Math.Log(b / a)).ToArray();
        var a = Returns("ALPHA");
        var b = Returns("BRAVO");

        var ma = a.Average();
        var mb = b.Average();
        var corr = a.Zip(b, (x, y) => (x - ma) * (y - mb)).Sum() / Math.Sqrt(a.Sum(x => (x - ma) * (x - ma)) * b.Sum(y => (y - mb) * (y - mb)));

        Assert.InRange(corr, 0.5, 0.7);
    }

    [Fact]
    public void Generate_GarchVolatility_ClustersAbsoluteReturns()
    {
        var closes = SyntheticMarket.Generate(Options() with { Symbols = [new SyntheticSymbol("ONE")], Bars = 5000 }).Select(b => b.Bar.Close).ToArray();
        var abs = closes.Zip(closes.Skip(1), (x, y) => Math.Abs(Math.Log(y / x))).ToArray();
        var m = abs.Average();
        var lag1 = abs.Zip(abs.Skip(1), (x, y) => (x - m) * (y - m)).Sum() / abs.Sum(x => (x - m) * (x - m));

        Assert.True(lag1 > 0.05, $"lag-1 autocorrelation of |r| was {lag1:F3}");
    }

    [Fact]
    public void Cholesky_NotPositiveDefinite_Throws()
    {
        Assert.Throws<ArgumentException>(() => SyntheticMarket.Cholesky(new double[,] { { 1, 2 }, { 2, 1 } }));
    }
}
