using Platform.Backtesting.Engine.Costs;
using Platform.Backtesting.Engine;
using Platform.Quant;

namespace Platform.Backtesting.Tests.Costs;

public class CostModelTests
{
    private static readonly Bar Bar = new(TestMarket.Start, 100, 101, 99, 100, 1_000);

    [Theory]
    [InlineData(100, 1.0)]     // 0.5 below the minimum
    [InlineData(1_000, 5.0)]
    [InlineData(0, 0.0)]
    public void PerShare_Total_AppliesRateWithMinimum(long shares, double expected) =>
        Assert.Equal(expected, new PerShareCommission(0.005, 1.0).Total(shares, shares * 100.0), 12);

    [Fact]
    public void PercentOfValue_Total_IsRateTimesValue() =>
        Assert.Equal(10.0, new PercentOfValueCommission(0.001).Total(100, 10_000), 12);

    [Fact]
    public void FixedPerOrder_Total_IsTheFeeOnceAnythingFilled()
    {
        var model = new FixedPerOrderCommission(7);
        Assert.Equal(0, model.Total(0, 0));
        Assert.Equal(7, model.Total(1, 100));
        Assert.Equal(7, model.Total(1_000, 100_000));
    }

    [Theory]
    [InlineData(1.5)]
    [InlineData(-0.1)]
    public void PercentOfValue_RateOutsideZeroToOne_Throws(double rate) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new PercentOfValueCommission(rate));

    [Fact]
    public void FixedBps_PerShare_IsBpsOfPrice() => Assert.Equal(0.05, new FixedBpsSlippage(5).PerShare(100, 10, Bar), 12);

    [Fact]
    public void Spread_PerShare_IsHalfTheSpread() => Assert.Equal(0.05, new SpreadSlippage(10).PerShare(100, 10, Bar), 12);

    [Fact]
    public void VolumeShare_PerShare_GrowsWithTheSquareOfTheVolumeShare()
    {
        var model = new VolumeShareSlippage(0.1);
        Assert.Equal(0.1, model.PerShare(100, 100, Bar), 12);   // 100 × 0.1 × 0.1²
        Assert.Equal(0.4, model.PerShare(100, 200, Bar), 12);   // 100 × 0.1 × 0.2²
        Assert.Equal(10, model.PerShare(100, 5_000, Bar), 12);  // capped at the whole volume
    }

    [Fact]
    public void FixedBps_Above100Percent_Throws() => Assert.Throws<ArgumentOutOfRangeException>(() => new FixedBpsSlippage(10_001));

    [Theory]
    [MemberData(nameof(Models))]
    public void Run_EachCostModel_CashMovesByExactlyPriceSlippageAndCommission(ICommissionModel commission, ISlippageModel slippage, double expectedCommission, double expectedSlippagePerShare)
    {
        var market = TestMarket.One((100.0, 100.0, 100.0, 100.0, 1_000), (100.0, 100.0, 100.0, 100.0, 1_000), (100.0, 100.0, 100.0, 100.0, 1_000));
        var settings = new BacktestSettings { InitialCash = 100_000, Commission = commission, Slippage = slippage };
        var run = new BacktestEngine(settings).Run(market, new ScriptedStrategy((0, OrderRequest.Market(0, 100))));

        var fill = Assert.Single(run.Fills);
        Assert.Equal(expectedCommission, fill.Commission, 12);
        Assert.Equal(expectedSlippagePerShare, fill.SlippagePerShare, 12);
        Assert.Equal(100_000 - 100 * (100 + expectedSlippagePerShare) - expectedCommission, run.Cash[1], 9);
        Assert.Equal(expectedCommission + 100 * expectedSlippagePerShare, 100_000 - run.Equity[1], 9);
    }

    public static TheoryData<ICommissionModel, ISlippageModel, double, double> Models => new()
    {
        { new PerShareCommission(0.005, 1.0), NoSlippage.Instance, 1.0, 0 },
        { new PercentOfValueCommission(0.001), NoSlippage.Instance, 10.0, 0 },
        { new FixedPerOrderCommission(4.95), NoSlippage.Instance, 4.95, 0 },
        { NoCommission.Instance, new FixedBpsSlippage(5), 0, 0.05 },
        { NoCommission.Instance, new SpreadSlippage(20), 0, 0.10 },
        { NoCommission.Instance, new VolumeShareSlippage(0.1), 0, 0.1 },
    };
}
