using System.Diagnostics;
using System.Globalization;
using Platform.Backtesting.Engine.Costs;
using Platform.Backtesting.Engine.Data;
using Platform.Backtesting.Engine;
using Platform.Backtesting.Engine.Modeling;
using Platform.Backtesting.Engine.Statistics;
using Platform.Backtesting.Engine.Strategies;
using Platform.Quant;
using Platform.Quant.Synthetic;

namespace Platform.Bench.Backtesting;

/// <summary>Engine throughput: a moving-average crossover over 100 symbols × 100,000 one-minute bars on one thread.</summary>
public sealed class BacktestEngineBenchmark : IBenchmark
{
    private const double Target = 2_000_000;
    private const int Symbols = 100;
    private const int Runs = 5;

    public string Name => "backtest-engine";
    public string Description => "bar events/s of an SMA(20,50) crossover over 100 symbols x 100,000 bars, single thread (target 2,000,000)";

    public Task<string> RunAsync(BenchContext context, CancellationToken ct)
    {
        var barsPerSymbol = context.Quick ? 10_000 : 100_000;
        var generate = Stopwatch.StartNew();
        var market = Market(Symbols, barsPerSymbol);
        context.Line($"generated {market.BarCount:N0} synthetic 1m bars ({Symbols} symbols x {barsPerSymbol:N0}) in {generate.Elapsed.TotalSeconds:F1} s");

        var settings = new BacktestSettings
        {
            InitialCash = 10_000_000, Commission = new PerShareCommission(0.005, 1.0), Slippage = new FixedBpsSlippage(2),
        };
        // Warm-up on a slice so the timed runs measure jitted, tiered code.
        new BacktestEngine(settings).Run(Market(10, 5_000), new MovingAverageCrossStrategy(20, 50));

        var rates = new List<double>();
        BacktestRun? last = null;
        for (var i = 0; i < Runs; i++)
        {
            var clock = Stopwatch.StartNew();
            last = new BacktestEngine(settings).Run(market, new MovingAverageCrossStrategy(20, 50), ct: ct);
            clock.Stop();
            var rate = last.BarEvents / clock.Elapsed.TotalSeconds;
            rates.Add(rate);
            context.Line($"run {i + 1}: {last.BarEvents:N0} bar events in {clock.Elapsed.TotalSeconds:F2} s = {rate:N0} bar events/s ({last.Fills.Count:N0} fills)");
        }
        var median = rates.Order().ElementAt(Runs / 2);
        context.Line($"median {median:N0} bar events/s, best {rates.Max():N0}");
        return Task.FromResult(string.Create(CultureInfo.InvariantCulture,
            $"backtest-engine: {median:F0} bar events/s ({median / Target:F2}x vs {Target:F0} target)"));
    }

    private static MarketSeries Market(int symbols, int bars)
    {
        var generated = SyntheticBarSource.Generate(new SyntheticMarketOptions
        {
            Symbols = SyntheticMarketOptions.Universe(symbols), Bars = bars, Interval = BarInterval.OneMinute,
            IntrabarSteps = 4, Seed = 2024,
        });
        return new MarketSeries(generated.Select(g => new SymbolSeries(g.Key, g.Value)).ToList(), BarInterval.OneMinute);
    }
}

/// <summary>Each strategy on the real daily files (NVDA, ORCL, YHOO) against buy-and-hold, after costs.</summary>
public sealed class BacktestRealBenchmark : IBenchmark
{
    public string Name => "backtest-real";
    public string Description => "sma-cross, mean-reversion and the walk-forward ridge model on nvda/orcl/yhoo daily vs buy-and-hold, after costs";

    public async Task<string> RunAsync(BenchContext context, CancellationToken ct)
    {
        var dir = Path.Combine(context.SharedDataDir ?? throw new InvalidOperationException("The shared data folder was not found (pass --shared DIR)."), "market");
        var source = new YahooCsvBarSource(dir);
        var settings = new BacktestSettings
        {
            InitialCash = 100_000, Commission = new PerShareCommission(0.005, 1.0), Slippage = new FixedBpsSlippage(5),
        };
        context.Line($"costs: {settings.Commission.Name}, slippage {settings.Slippage.Name}; long only, no leverage; prices split/dividend-adjusted");
        context.Line($"{"symbol",-6} {"strategy",-58} {"total",9} {"annual",8} {"sharpe",7} {"maxdd",7} {"trades",6} {"win",5} {"costs",9} {"alpha",7} {"beta",5}");
        var sharpeGap = new List<double>();
        var runs = 0;
        foreach (var symbol in new[] { "nvda", "orcl", "yhoo" })
        {
            var bars = await source.GetBarsAsync(symbol, BarInterval.OneDay, null, null, ct)
                ?? throw new FileNotFoundException($"{symbol}-daily.csv not found in {dir}");
            var market = new MarketSeries([new SymbolSeries(symbol.ToUpperInvariant(), bars)], BarInterval.OneDay);
            var benchmark = new BacktestEngine(settings).Run(market, new BuyAndHoldStrategy(), ct: ct);
            IStrategy[] strategies =
            [
                new MovingAverageCrossStrategy(20, 50),
                new MeanReversionStrategy(20, 2.0, 0.5),
                new ModelStrategy(new RidgeLaggedReturnTrainer(1e-3), lags: 5, trainBars: 504, testBars: 63),
            ];
            var first = true;
            foreach (var strategy in strategies)
            {
                var clock = Stopwatch.StartNew();
                var run = new BacktestEngine(settings).Run(market, strategy, ct: ct);
                var report = PerformanceCalculator.Report(run, benchmark);
                if (first) { Print(context, symbol, "buy-and-hold", report.Benchmark, null); first = false; }
                Print(context, symbol, strategy.Name, report.Strategy, report.Relative);
                sharpeGap.Add(report.Strategy.Risk.Sharpe - report.Benchmark.Risk.Sharpe);
                runs++;
            }
        }
        return string.Create(CultureInfo.InvariantCulture,
            $"backtest-real: {runs} strategy runs, mean Sharpe {sharpeGap.Average():+0.00;-0.00} ({sharpeGap.Count(g => g > 0)}/{runs} beat buy-and-hold on Sharpe after costs)");
    }

    private static void Print(BenchContext context, string symbol, string name, PerformanceStatistics s, RelativeStatistics? r) =>
        context.Line(string.Create(CultureInfo.InvariantCulture,
            $"{symbol,-6} {name,-58} {s.Returns.TotalReturn,9:P0} {s.Returns.AnnualizedReturn,8:P1} {s.Risk.Sharpe,7:F2} {s.Drawdown.MaxDrawdown,7:P0} {s.Trades.Count + s.Trades.OpenCount,6} {s.Trades.WinRate,5:P0} {s.Costs.Total,9:N0} {(r is null ? "" : r.Alpha.ToString("P1", CultureInfo.InvariantCulture)),7} {(r is null ? "" : r.Beta.ToString("F2", CultureInfo.InvariantCulture)),5}"));
}
