using Platform.Backtesting.Engine.Costs;
using Platform.Backtesting.Data;
using Platform.Backtesting.Engine.Data;
using Platform.Backtesting.Engine;
using Platform.Backtesting.Engine.Modeling;
using Platform.Backtesting.Engine.Sizing;
using Platform.Backtesting.Engine.Strategies;
using Platform.Quant;
using Platform.Quant.Synthetic;

namespace Platform.Backtesting.Tests.Engine;

/// <summary>Checks, at every bar of a run, that the books balance and that no fill used a bar the decision could not see.</summary>
internal sealed class InvariantObserver(MarketSeries market, double initialCash) : IBacktestObserver
{
    private double _cashFromFills = initialCash;
    public int Steps { get; private set; }
    public int Fills { get; private set; }

    public void OnFill(Fill fill, Order order, DateTimeOffset fillBarTime)
    {
        Fills++;
        Assert.True(fill.TimeIndex > order.SubmittedTimeIndex, $"order {order.Id} decided at {order.SubmittedTimeIndex} filled at {fill.TimeIndex}");
        Assert.True(fillBarTime > order.SubmittedAt);
        Assert.Equal(market.Timeline[fill.TimeIndex], fillBarTime);
        Assert.True(fill.Commission >= 0 && fill.SlippagePerShare >= 0);
        Assert.True(Math.Abs(order.FilledQuantity) <= Math.Abs(order.Quantity));
        _cashFromFills += fill.CashFlow;
    }

    public void OnTimeStep(in PortfolioSnapshot snapshot, IPortfolioView portfolio)
    {
        Steps++;
        double positions = 0;
        for (var s = 0; s < market.SymbolCount; s++) positions += portfolio.Position(s) * portfolio.MarkPrice(s);
        var tolerance = 1e-9 * Math.Max(1, Math.Abs(snapshot.Equity));
        Assert.Equal(snapshot.Cash + positions, snapshot.Equity, tolerance);
        Assert.Equal(_cashFromFills, snapshot.Cash, tolerance);
        Assert.Equal(market.Timeline[snapshot.TimeIndex], snapshot.Time);
    }
}

/// <summary>Places random orders of every type: exercises the engine's paths without a plan.</summary>
internal sealed class RandomOrderStrategy(int seed) : IStrategy
{
    private readonly Random _random = new(seed);
    public string Name => "random";
    public void Initialize(IStrategyContext context) { }

    public void OnBar(IStrategyContext context, int symbol, in Bar bar)
    {
        if (_random.NextDouble() > 0.3) return;
        var qty = (long)(_random.Next(1, 200) * (_random.NextDouble() < 0.5 ? -1 : 1));
        var offset = bar.Close * 0.02 * _random.NextDouble();
        var buy = qty > 0;
        OrderRequest order = _random.Next(4) switch
        {
            0 => OrderRequest.Market(symbol, qty),
            1 => OrderRequest.Limit(symbol, qty, buy ? bar.Close - offset : bar.Close + offset),
            2 => OrderRequest.Stop(symbol, qty, buy ? bar.Close + offset : bar.Close - offset),
            _ => OrderRequest.StopLimit(symbol, qty, buy ? bar.Close + offset : bar.Close - offset, buy ? bar.Close + 2 * offset : bar.Close - 2 * offset),
        };
        context.Submit(order);
        if (_random.NextDouble() < 0.1 && context.OpenOrders(symbol).Count > 0) context.Cancel(context.OpenOrders(symbol)[0].Id);
    }
}

public class InvariantTests
{
    private static MarketSeries Synthetic(int symbols, int bars, ulong seed)
    {
        var generated = SyntheticBarSource.Generate(new SyntheticMarketOptions
        {
            Symbols = SyntheticMarketOptions.Universe(symbols), Bars = bars, Seed = seed,
        });
        return new MarketSeries(generated.Select(g => new SymbolSeries(g.Key, g.Value)).ToList(), BarInterval.OneDay);
    }

    public static TheoryData<string, bool, double?> Runs => new()
    {
        { "sma", false, null }, { "sma", true, 0.01 }, { "mr", true, null }, { "mr", false, 0.05 },
        { "model", true, null }, { "random", true, 0.02 }, { "random", false, null }, { "voltarget", true, null },
    };

    [Theory]
    [MemberData(nameof(Runs))]
    public void Run_AnyStrategy_BooksBalanceAndNoFillUsesALaterBar(string kind, bool allowShort, double? participation)
    {
        var market = Synthetic(3, 600, 7);
        IStrategy strategy = kind switch
        {
            "sma" or "voltarget" => new MovingAverageCrossStrategy(5, 20),
            "mr" => new MeanReversionStrategy(10, 1.5, 0.3),
            "model" => new ModelStrategy(new RidgeLaggedReturnTrainer(), lags: 3, trainBars: 120, testBars: 40),
            _ => new RandomOrderStrategy(11),
        };
        var settings = new BacktestSettings
        {
            InitialCash = 1_000_000, AllowShort = allowShort, MaxLeverage = 1.5, MaxParticipation = participation,
            Commission = new PerShareCommission(0.005, 1), Slippage = new VolumeShareSlippage(),
            Sizer = kind == "voltarget" ? new VolatilityTargetSizer(0.1, 20) : new FixedFractionSizer(),
        };
        var observer = new InvariantObserver(market, settings.InitialCash);
        var run = new BacktestEngine(settings).Run(market, strategy, observer);

        Assert.Equal(market.Timeline.Length, observer.Steps);
        Assert.Equal(run.Fills.Count, observer.Fills);
        Assert.NotEmpty(run.Fills);
        Assert.All(run.Fills, f => Assert.True(f.TimeIndex > f.DecisionTimeIndex));
        if (!allowShort) Assert.All(run.NetExposure.Zip(run.GrossExposure), p => Assert.Equal(p.First, p.Second, 1e-6));
        // Every trade's net P&L adds up to the change in equity.
        Assert.Equal(run.Equity[^1] - settings.InitialCash, run.Trades.Sum(t => t.NetPnl), 1e-6 * settings.InitialCash);
    }
}
