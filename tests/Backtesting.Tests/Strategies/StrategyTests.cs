using Platform.Backtesting.Engine;
using Platform.Backtesting.Engine.Modeling;
using Platform.Backtesting.Engine.Strategies;
using Platform.Quant;

namespace Platform.Backtesting.Tests.Strategies;

public class StrategyTests
{
    private static MarketSeries Closes(params double[] closes) =>
        TestMarket.One(closes.Select(c => TestMarket.Flat(c)).ToArray());

    [Fact]
    public void SmaCross_FastCrossesAboveSlow_BuysAtTheNextOpen()
    {
        // SMA(2) vs SMA(3): ready at bar 2; closes 10,10,10,12: at bar 3 fast 11 > slow 10.67 → buy, fill at bar 4's open.
        var market = Closes(10, 10, 10, 12, 13, 13);
        var run = new BacktestEngine(new BacktestSettings { InitialCash = 1_300 }).Run(market, new MovingAverageCrossStrategy(2, 3));
        var fill = Assert.Single(run.Fills);
        Assert.Equal(4, fill.TimeIndex);
        Assert.Equal(3, fill.DecisionTimeIndex);
        Assert.Equal(100, fill.Quantity); // 1,300 / 12 at the decision close → 108 target, capped to 100 by cash at 13
    }

    [Fact]
    public void MeanReversion_CloseBelowLowerBand_BuysThenExitsNearTheMean()
    {
        var market = Closes(10, 10.2, 9.8, 10, 10.1, 9.9, 10, 8, 8.5, 10, 10, 10);
        var run = new BacktestEngine(new BacktestSettings { InitialCash = 10_000 }).Run(market, new MeanReversionStrategy(5, 1.5, 0.5));
        Assert.True(run.Fills.Count >= 2);
        Assert.True(run.Fills[0].Quantity > 0);
        Assert.Equal(8, run.Fills[0].TimeIndex); // z ≈ −1.9 at the close of bar 7
        Assert.True(run.Fills[1].Quantity < 0);
    }

    [Fact]
    public void Model_WalkForward_TrainsEachWindowOnlyOnEarlierBars()
    {
        var bars = Platform.Backtesting.Engine.Data.SyntheticBarSource.Generate(new Platform.Quant.Synthetic.SyntheticMarketOptions
        {
            Symbols = Platform.Quant.Synthetic.SyntheticMarketOptions.Universe(2), Bars = 400, Seed = 3,
        });
        var market = new MarketSeries(bars.Select(b => new SymbolSeries(b.Key, b.Value)).ToList(), BarInterval.OneDay);
        var trainer = new RecordingTrainer();
        var strategy = new ModelStrategy(trainer, lags: 3, trainBars: 100, testBars: 50);
        var run = new BacktestEngine(new BacktestSettings { AllowShort = true }).Run(market, strategy);

        Assert.Equal(6, trainer.Windows.Count); // starts at bars 100, 150, ..., 350
        foreach (var window in trainer.Windows)
        {
            Assert.All(window.Bars.SelectMany(b => b), b => Assert.True(b.Time < window.TestFrom));
            Assert.All(window.Bars, b => Assert.Equal(100, b.Count));
            Assert.Equal(market.Timeline[100 + 50 * window.Index], window.TestFrom);
        }
        // No order before the first model exists.
        Assert.All(run.Fills, f => Assert.True(f.DecisionTimeIndex >= 100));
        Assert.NotEmpty(run.Fills);
    }

    [Fact]
    public void Ridge_AutoregressiveData_RecoversTheCoefficient()
    {
        var rng = new Random(5);
        var samples = new List<(double[], double)>();
        for (var i = 0; i < 5_000; i++)
        {
            var x = new[] { rng.NextDouble() - 0.5, rng.NextDouble() - 0.5 };
            samples.Add((x, 0.5 * x[0] - 0.2 * x[1] + 0.01 + 0.001 * (rng.NextDouble() - 0.5)));
        }
        var model = RidgeLaggedReturnTrainer.Fit(samples, 2, 0);
        Assert.Equal(0.5, model.Weights[0], 2);
        Assert.Equal(-0.2, model.Weights[1], 2);
        Assert.Equal(0.01, model.Intercept, 3);
    }

    private sealed class RecordingTrainer : IWindowModelTrainer
    {
        public List<TrainingWindow> Windows { get; } = [];
        public string Name => "recording";

        public IReturnModel Train(TrainingWindow window, CancellationToken ct = default)
        {
            Windows.Add(window);
            // Momentum on the last return: enough to trade.
            return new LinearModel([1.0, 0, 0], 0);
        }
    }
}
