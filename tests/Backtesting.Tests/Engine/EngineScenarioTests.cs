using Platform.Backtesting.Engine.Costs;
using Platform.Backtesting.Engine;

namespace Platform.Backtesting.Tests.Engine;

public class EngineScenarioTests
{
    private static readonly MarketSeries ThreeBars = TestMarket.One(
        (10.0, 11.0, 9.0, 10.0, 1000), (10.5, 12.0, 10.0, 11.0, 1000), (11.0, 11.5, 10.5, 11.2, 1000));

    /// <summary>$10,000; 1 cent a share with a $1 minimum; 10 bps slippage.</summary>
    private static readonly BacktestSettings PerShareAndTenBps = new()
    {
        InitialCash = 10_000,
        Commission = new PerShareCommission(0.01, 1.0),
        Slippage = new FixedBpsSlippage(10),
    };

    [Fact]
    public void Run_MarketBuyAtClose_FillsAtNextOpenWithItemizedCosts()
    {
        var run = new BacktestEngine(PerShareAndTenBps).Run(ThreeBars, new ScriptedStrategy((0, OrderRequest.Market(0, 100))));

        var fill = Assert.Single(run.Fills);
        Assert.Equal(1, fill.TimeIndex);
        Assert.Equal(0, fill.DecisionTimeIndex);
        Assert.Equal(10.5, fill.Price);
        Assert.Equal(0.0105, fill.SlippagePerShare, 12);
        Assert.Equal(1.0, fill.Commission, 12);
        // 10,000 − 100 × 10.5105 − 1 = 8,947.95
        Assert.Equal(10_000, run.Equity[0]);
        Assert.Equal(8_947.95, run.Cash[1], 9);
        Assert.Equal(8_947.95 + 1_100, run.Equity[1], 9);
        Assert.Equal(8_947.95 + 1_120, run.Equity[2], 9);
    }

    [Fact]
    public void Run_RoundTrip_TradeCarriesGrossSlippageCommissionAndNet()
    {
        var run = new BacktestEngine(PerShareAndTenBps).Run(ThreeBars,
            new ScriptedStrategy((0, OrderRequest.Market(0, 100)), (1, OrderRequest.Market(0, -100))));

        Assert.Equal(2, run.Fills.Count);
        // Sell at 11 − 0.011: cash 8,947.95 + 1,098.90 − 1 = 10,045.85.
        Assert.Equal(10_045.85, run.Cash[2], 9);
        Assert.Equal(10_045.85, run.Equity[2], 9);
        var trade = Assert.Single(run.Trades);
        Assert.False(trade.IsOpen);
        Assert.Equal(TradeSide.Long, trade.Side);
        Assert.Equal(100, trade.Quantity);
        Assert.Equal(10.5, trade.EntryPrice, 12);
        Assert.Equal(11.0, trade.ExitPrice, 12);
        Assert.Equal(50.0, trade.GrossPnl, 9);
        Assert.Equal(2.15, trade.Slippage, 9);
        Assert.Equal(2.0, trade.Commission, 9);
        Assert.Equal(45.85, trade.NetPnl, 9);
        Assert.Equal(1, trade.BarsHeld);
    }

    [Fact]
    public void Run_OrderOnLastBar_NeverFills()
    {
        var run = new BacktestEngine(new BacktestSettings()).Run(ThreeBars, new ScriptedStrategy((2, OrderRequest.Market(0, 10))));
        Assert.Empty(run.Fills);
        Assert.All(run.Equity, e => Assert.Equal(BacktestSettings.DefaultInitialCash, e));
    }

    [Fact]
    public void Run_VolumeParticipation_FillsPartiallyOverBarsAndChargesOrderCommissionOnce()
    {
        var market = TestMarket.One(TestMarket.Flat(10, 1000), TestMarket.Flat(10, 1000), TestMarket.Flat(10, 1000), TestMarket.Flat(10, 1000));
        var settings = new BacktestSettings { InitialCash = 10_000, MaxParticipation = 0.1, Commission = new PerShareCommission(0.01, 1.0) };
        var strategy = new ScriptedStrategy((0, OrderRequest.Market(0, 250)));
        var run = new BacktestEngine(settings).Run(market, strategy);

        Assert.Equal([100L, 100L, 50L], run.Fills.Select(f => f.Quantity));
        Assert.Equal([1, 2, 3], run.Fills.Select(f => f.TimeIndex));
        // Per order: max(1, 0.01 × filled) → 1.00, then 2.00 − 1.00, then 2.50 − 2.00.
        Assert.Equal([1.0, 1.0, 0.5], run.Fills.Select(f => Math.Round(f.Commission, 12)));
        var order = Assert.Single(strategy.Submitted);
        Assert.Equal(OrderStatus.Filled, order.Status);
        Assert.Equal(10_000 - 2_500 - 2.5, run.Cash[3], 9);
    }

    [Fact]
    public void Run_ShortingOff_SellWithoutPositionIsRejected()
    {
        var market = TestMarket.One(TestMarket.Flat(10), TestMarket.Flat(10), TestMarket.Flat(10));
        var strategy = new ScriptedStrategy((0, OrderRequest.Market(0, -100)));
        var run = new BacktestEngine(new BacktestSettings { AllowShort = false }).Run(market, strategy);

        Assert.Empty(run.Fills);
        Assert.Equal(OrderStatus.Rejected, strategy.Submitted[0].Status);
        Assert.Contains("Short selling", strategy.Submitted[0].Reason);
    }

    [Fact]
    public void Run_ShortingOff_SellMoreThanHeldSellsOnlyThePosition()
    {
        var market = TestMarket.One(TestMarket.Flat(10), TestMarket.Flat(10), TestMarket.Flat(10));
        var strategy = new ScriptedStrategy((0, OrderRequest.Market(0, 60)), (1, OrderRequest.Market(0, -100)));
        var run = new BacktestEngine(new BacktestSettings { AllowShort = false }).Run(market, strategy);

        Assert.Equal([60L, -60L], run.Fills.Select(f => f.Quantity));
        Assert.Equal(OrderStatus.Cancelled, strategy.Submitted[1].Status);
        Assert.Equal(BacktestSettings.DefaultInitialCash, run.Equity[^1], 9);
    }

    [Fact]
    public void Run_ShortingOn_ShortSaleCreditsCashAndMarksNegativePosition()
    {
        var market = TestMarket.One(TestMarket.Flat(10), TestMarket.Flat(10), TestMarket.Flat(8));
        var run = new BacktestEngine(new BacktestSettings { InitialCash = 1_000, AllowShort = true })
            .Run(market, new ScriptedStrategy((0, OrderRequest.Market(0, -50))));

        Assert.Equal(1_500, run.Cash[2], 9);
        Assert.Equal(-400, run.NetExposure[2], 9);
        Assert.Equal(1_100, run.Equity[2], 9);
        var trade = Assert.Single(run.Trades);
        Assert.True(trade.IsOpen);
        Assert.Equal(TradeSide.Short, trade.Side);
        Assert.Equal(100, trade.GrossPnl, 9);
    }

    [Theory]
    [InlineData(1.0, 0.0, 100)]   // 200 × 100 would be twice the equity
    [InlineData(2.0, 0.0, 200)]
    [InlineData(1.0, 10.0, 99)]   // a 10.00 fee leaves 9,990 of equity: 99 shares fit, 100 do not
    public void Run_LeverageLimit_CapsTheFill(double leverage, double fee, long expected)
    {
        var market = TestMarket.One(TestMarket.Flat(100), TestMarket.Flat(100), TestMarket.Flat(100));
        var settings = new BacktestSettings { InitialCash = 10_000, MaxLeverage = leverage, Commission = new FixedPerOrderCommission(fee) };
        var strategy = new ScriptedStrategy((0, OrderRequest.Market(0, 200)));
        var run = new BacktestEngine(settings).Run(market, strategy);

        var fill = Assert.Single(run.Fills);
        Assert.Equal(expected, fill.Quantity);
        Assert.True(run.GrossExposure[1] <= leverage * run.Equity[1] + 1e-9);
        if (expected < 200) Assert.Contains("leverage", strategy.Submitted[0].Reason);
    }

    [Fact]
    public void Run_TwoSymbolsOnDifferentClocks_MarksEachAtItsLastClose()
    {
        var a = new SymbolSeries("A", TestMarket.Daily(TestMarket.Flat(10), TestMarket.Flat(11), TestMarket.Flat(12)));
        var b = new SymbolSeries("B", [new Platform.Quant.Bar(TestMarket.Start.AddDays(1), 20, 20, 20, 20, 1000)]);
        var market = new MarketSeries([a, b], Platform.Quant.BarInterval.OneDay);
        var run = new BacktestEngine(new BacktestSettings { InitialCash = 1_000 })
            .Run(market, new ScriptedStrategy((0, OrderRequest.Market(0, 10)), (0, OrderRequest.Market(1, 5))));

        Assert.Equal(3, market.Timeline.Length);
        // A fills at its bar 1 open (11); B never has a later bar, so its order never fills.
        var fill = Assert.Single(run.Fills);
        Assert.Equal("A", fill.SymbolName);
        Assert.Equal(1_000 - 110 + 120, run.Equity[2], 9);
    }
}
