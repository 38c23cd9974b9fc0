using Platform.Backtesting.Engine;

namespace Platform.Backtesting.Tests.Engine;

public class OrderTypeTests
{
    // The decision bar, then the bar the order is matched against: open 100, high 105, low 95, close 100.
    private static readonly MarketSeries Market = TestMarket.One(
        TestMarket.Flat(100), (100.0, 105.0, 95.0, 100.0, 1_000_000), (100.0, 101.0, 99.0, 100.0, 1_000_000));

    private static readonly BacktestSettings Settings = new() { InitialCash = 1_000_000, AllowShort = true, MaxLeverage = 10 };

    public static TheoryData<string, OrderRequest, double?> Cases => new()
    {
        { "market buy: the open", OrderRequest.Market(0, 10), 100 },
        { "buy limit inside the range: the limit", OrderRequest.Limit(0, 10, 98), 98 },
        { "buy limit above the open: the open", OrderRequest.Limit(0, 10, 101), 100 },
        { "buy limit below the low: none", OrderRequest.Limit(0, 10, 94), null },
        { "sell limit inside the range: the limit", OrderRequest.Limit(0, -10, 103), 103 },
        { "sell limit below the open: the open", OrderRequest.Limit(0, -10, 99), 100 },
        { "sell limit above the high: none", OrderRequest.Limit(0, -10, 106), null },
        { "buy stop inside the range: the stop", OrderRequest.Stop(0, 10, 103), 103 },
        { "buy stop below the open (gap): the open", OrderRequest.Stop(0, 10, 99), 100 },
        { "buy stop above the high: none", OrderRequest.Stop(0, 10, 106), null },
        { "sell stop inside the range: the stop", OrderRequest.Stop(0, -10, 97), 97 },
        { "sell stop above the open (gap): the open", OrderRequest.Stop(0, -10, 101), 100 },
        { "sell stop below the low: none", OrderRequest.Stop(0, -10, 94), null },
        { "buy stop-limit triggered in the bar within the limit: the stop", OrderRequest.StopLimit(0, 10, 102, 104), 102 },
        { "buy stop-limit triggered at the open: the open", OrderRequest.StopLimit(0, 10, 99, 101), 100 },
        { "buy stop-limit triggered at the open, limit below: the limit", OrderRequest.StopLimit(0, 10, 99, 97), 97 },
        { "buy stop-limit, stop never reached: none", OrderRequest.StopLimit(0, 10, 106, 107), null },
        { "sell stop-limit triggered in the bar within the limit: the stop", OrderRequest.StopLimit(0, -10, 97, 96), 97 },
        { "sell stop-limit triggered at the open, limit above: the limit", OrderRequest.StopLimit(0, -10, 101, 104), 104 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Run_OrderType_FillsOnTheNextBarAtTheExpectedPrice(string description, OrderRequest order, double? expected)
    {
        var run = new BacktestEngine(Settings).Run(Market, new ScriptedStrategy((0, order)));
        var first = run.Fills.FirstOrDefault(f => f.TimeIndex == 1);
        if (expected is null)
        {
            Assert.True(first is null, description);
            return;
        }
        Assert.NotNull(first);
        Assert.Equal(expected.Value, first.Price, 12);
        Assert.Equal(order.Quantity, first.Quantity);
    }

    [Fact]
    public void Run_StopLimitTriggeredBeyondItsLimit_WorksAsLimitFromTheNextBar()
    {
        // Stop 103 trades inside bar 1 but the limit 101 is below it: no fill on bar 1 (the path is unknown),
        // then bar 2 opens at 100 ≤ 101 and the limit fills at the open.
        var strategy = new ScriptedStrategy((0, OrderRequest.StopLimit(0, 10, 103, 101)));
        var run = new BacktestEngine(Settings).Run(Market, strategy);

        var fill = Assert.Single(run.Fills);
        Assert.Equal(2, fill.TimeIndex);
        Assert.Equal(100, fill.Price);
        Assert.True(strategy.Submitted[0].StopTriggered);
    }

    [Fact]
    public void Run_LimitOrder_PaysNoSlippageWhileMarketOrderDoes()
    {
        var settings = Settings with { Slippage = new Platform.Backtesting.Engine.Costs.FixedBpsSlippage(50) };
        var run = new BacktestEngine(settings).Run(Market,
            new ScriptedStrategy((0, OrderRequest.Limit(0, 10, 98)), (0, OrderRequest.Market(0, 10))));

        Assert.Equal(0, run.Fills.Single(f => f.OrderType == OrderType.Limit).SlippagePerShare);
        Assert.Equal(0.5, run.Fills.Single(f => f.OrderType == OrderType.Market).SlippagePerShare, 12);
    }

    [Fact]
    public void Submit_LimitWithoutPrice_IsRejected()
    {
        var strategy = new ScriptedStrategy((0, new OrderRequest(0, 10, OrderType.Limit)));
        var run = new BacktestEngine(Settings).Run(Market, strategy);
        Assert.Empty(run.Fills);
        Assert.Equal(OrderStatus.Rejected, strategy.Submitted[0].Status);
    }
}
