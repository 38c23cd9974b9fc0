using Platform.Backtesting.Engine;
using Platform.Backtesting.Engine.Statistics;

namespace Platform.Backtesting.Tests.Statistics;

public class PerformanceCalculatorTests
{
    private static BacktestRun Run(double[] equity, IReadOnlyList<Trade>? trades = null, double[]? gross = null)
    {
        var market = TestMarket.One(equity.Select(_ => TestMarket.Flat(1)).ToArray());
        var zeros = new double[equity.Length];
        return new BacktestRun("test", new BacktestSettings { InitialCash = 100 }, market, equity, equity, gross ?? zeros, gross ?? zeros,
            [], [], trades ?? [], equity.Length);
    }

    private static Trade T(double net) =>
        new("X", TradeSide.Long, TestMarket.Start, TestMarket.Start.AddDays(2), 2, 1, 100, 100 + net, net, 0, 0, net, net / 100, false);

    [Fact]
    public void Compute_KnownCurve_ReturnsDrawdownAndDuration()
    {
        // 100 → 100, 110, 99, 121: returns 0, +10%, −10%, +22.2%; peak 110, trough 99.
        var s = PerformanceCalculator.Compute(Run([100, 110, 99, 121]), PerformanceCalculator.TradingDaysPerYear);

        Assert.Equal(0.21, s.Returns.TotalReturn, 12);
        Assert.Equal(Math.Pow(1.21, 252.0 / 4) - 1, s.Returns.AnnualizedReturn, 9);
        Assert.Equal(0.1, s.Drawdown.MaxDrawdown, 12);
        Assert.Equal(1, s.Drawdown.LongestDurationBars);
        Assert.Equal(TestMarket.Start.AddDays(1), s.Drawdown.PeakTime);
        Assert.Equal(TestMarket.Start.AddDays(2), s.Drawdown.TroughTime);
        Assert.Equal(s.Returns.AnnualizedReturn / 0.1, s.Risk.Calmar, 9);
    }

    [Fact]
    public void Compute_KnownReturns_SharpeAndSortinoMatchHandComputation()
    {
        var s = PerformanceCalculator.Compute(Run([100, 110, 99, 121]), 252);
        double[] r = [0, 0.1, -0.1, 121.0 / 99 - 1];
        var mean = r.Average();
        var std = Math.Sqrt(r.Sum(x => (x - mean) * (x - mean)) / 3);
        var downside = Math.Sqrt(0.01 / 4);
        Assert.Equal(std * Math.Sqrt(252), s.Risk.Volatility, 12);
        Assert.Equal(mean / std * Math.Sqrt(252), s.Risk.Sharpe, 12);
        Assert.Equal(mean / downside * Math.Sqrt(252), s.Risk.Sortino, 12);
    }

    [Fact]
    public void Compute_Trades_WinRateProfitFactorAndAverages()
    {
        var s = PerformanceCalculator.Compute(Run([100, 100, 100], [T(30), T(10), T(-20)]), 252);
        Assert.Equal(3, s.Trades.Count);
        Assert.Equal(2.0 / 3, s.Trades.WinRate, 12);
        Assert.Equal(2.0, s.Trades.ProfitFactor, 12);
        Assert.Equal(20, s.Trades.AverageWin, 12);
        Assert.Equal(-20, s.Trades.AverageLoss, 12);
    }

    [Fact]
    public void Compute_FlatCurveWithoutTrades_GuardsEveryRatioToZero()
    {
        var s = PerformanceCalculator.Compute(Run([100, 100, 100]), 252);
        Assert.Equal(0, s.Risk.Sharpe);
        Assert.Equal(0, s.Risk.Sortino);
        Assert.Equal(0, s.Risk.Calmar);
        Assert.Equal(0, s.Trades.WinRate);
        Assert.Equal(0, s.Trades.ProfitFactor);
        Assert.Equal(0, s.Drawdown.MaxDrawdown);
        Assert.Null(s.Drawdown.PeakTime);
    }

    [Fact]
    public void Compute_Exposure_TimeInMarketAndAverageGross()
    {
        var s = PerformanceCalculator.Compute(Run([100, 100, 100, 100], gross: [0, 50, 100, 0]), 252);
        Assert.Equal(0.5, s.Exposure.TimeInMarket, 12);
        Assert.Equal(0.375, s.Exposure.AverageGrossExposure, 12);
    }

    [Fact]
    public void Report_StrategyEqualToBenchmark_HasBetaOneAndAlphaZero()
    {
        var a = Run([100, 110, 99, 121]);
        var report = PerformanceCalculator.Report(a, a);
        Assert.Equal(1.0, report.Relative.Beta, 12);
        Assert.Equal(0.0, report.Relative.Alpha, 12);
        Assert.Equal(1.0, report.Relative.Correlation, 12);
        Assert.Equal(4, report.Curve.Count);
        Assert.Equal(0.1, report.Curve[2].Drawdown, 12);
    }

    [Fact]
    public void Report_LeveredCopyOfBenchmark_HasBetaTwo()
    {
        var bench = Run([100, 110, 99, 121]);
        // Twice the benchmark's bar returns, compounded.
        double[] r = [0, 0.2, -0.2, 2 * (121.0 / 99 - 1)];
        var equity = new double[4];
        var e = 100.0;
        for (var i = 0; i < 4; i++) equity[i] = e *= 1 + r[i];
        var report = PerformanceCalculator.Report(Run(equity), bench);
        Assert.Equal(2.0, report.Relative.Beta, 9);
        Assert.Equal(0.0, report.Relative.Alpha, 9);
    }

    [Fact]
    public void BarsPerYear_Daily_Is252() =>
        Assert.Equal(252, PerformanceCalculator.BarsPerYear(TestMarket.One(TestMarket.Flat(1))));

    [Fact]
    public void Ratio_ZeroDenominator_IsZero() => Assert.Equal(0, PerformanceCalculator.Ratio(1, 0));
}
