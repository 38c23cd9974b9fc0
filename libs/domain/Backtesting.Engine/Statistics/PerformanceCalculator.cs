using Platform.Backtesting.Engine;

namespace Platform.Backtesting.Engine.Statistics;

/// <summary>Statistics of runs. Bar returns are simple returns of equity between consecutive times of the timeline.</summary>
public static class PerformanceCalculator
{
    public const int TradingDaysPerYear = 252;

    /// <summary>A strategy run against its benchmark run (the same market and timeline).</summary>
    public static BacktestReport Report(BacktestRun strategy, BacktestRun benchmark, int maxCurvePoints = int.MaxValue)
    {
        if (strategy.Equity.Length != benchmark.Equity.Length)
            throw new ArgumentException("The benchmark must run on the same timeline as the strategy.", nameof(benchmark));
        var barsPerYear = BarsPerYear(strategy.Market);
        var s = Compute(strategy, barsPerYear);
        var b = Compute(benchmark, barsPerYear);
        var settings = strategy.Settings;
        var timeline = strategy.Timeline;
        var summary = new BacktestSummary(strategy.Strategy, benchmark.Strategy, strategy.Market.Series.Select(x => x.Symbol).ToArray(),
            strategy.Market.Interval.Name, timeline[0], timeline[^1], timeline.Length, strategy.BarEvents,
            settings.InitialCash, settings.Commission.Name, settings.Slippage.Name, settings.Sizer.Name, settings.AllowShort,
            settings.MaxLeverage, settings.MaxParticipation);
        return new BacktestReport(summary, s, b, Relative(strategy, benchmark, barsPerYear, s, b),
            Curve(strategy, benchmark, maxCurvePoints), strategy.Trades);
    }

    /// <summary>Bars per year of the run's interval: 252 per year for daily bars, 252 × 6.5 hours for intraday ones.</summary>
    public static double BarsPerYear(MarketSeries market) =>
        market.Interval.Length >= TimeSpan.FromDays(1)
            ? TradingDaysPerYear / market.Interval.Length.TotalDays
            : TradingDaysPerYear * TradingHoursPerDay * 60 / market.Interval.Length.TotalMinutes;

    private const double TradingHoursPerDay = 6.5;

    public static PerformanceStatistics Compute(BacktestRun run, double barsPerYear)
    {
        var equity = run.Equity;
        var initial = run.Settings.InitialCash;
        var returns = Returns(equity, initial);
        var years = Ratio(returns.Length, barsPerYear);

        var final = equity[^1];
        var total = Ratio(final, initial) - 1;
        var annual = years > 0 && final > 0 ? Math.Pow(final / initial, 1 / years) - 1 : final <= 0 ? -1 : 0;

        var mean = returns.Length > 0 ? returns.Average() : 0;
        var std = SampleStd(returns, mean);
        var downside = returns.Length > 0 ? Math.Sqrt(returns.Sum(r => r < 0 ? r * r : 0) / returns.Length) : 0;
        var annualize = Math.Sqrt(barsPerYear);
        var drawdown = Drawdown(equity, run.Timeline, initial);
        var risk = new RiskStatistics(std * annualize, Ratio(mean, std) * annualize, Ratio(mean, downside) * annualize, Ratio(annual, drawdown.MaxDrawdown));

        return new PerformanceStatistics(
            new ReturnStatistics(final, total, annual), risk, drawdown,
            Trades(run.Trades), Exposure(run, years), Costs(run.Fills));
    }

    internal static double[] Returns(double[] equity, double initial)
    {
        var r = new double[equity.Length];
        var previous = initial;
        for (var i = 0; i < equity.Length; i++)
        {
            r[i] = Ratio(equity[i], previous) - (previous != 0 ? 1 : 0);
            previous = equity[i];
        }
        return r;
    }

    private static DrawdownStatistics Drawdown(double[] equity, DateTimeOffset[] timeline, double initial)
    {
        var peak = initial;
        var peakIndex = -1;
        double max = 0;
        int? maxPeak = null, maxTrough = null;
        int longest = 0;
        for (var i = 0; i < equity.Length; i++)
        {
            if (equity[i] >= peak)
            {
                peak = equity[i];
                peakIndex = i;
                continue;
            }
            var dd = 1 - equity[i] / peak;
            if (dd > max) { max = dd; maxPeak = peakIndex; maxTrough = i; }
            longest = Math.Max(longest, i - peakIndex);
        }
        return new DrawdownStatistics(max, maxPeak is { } p && p >= 0 ? timeline[p] : maxPeak is not null ? timeline[0] : null,
            maxTrough is { } t ? timeline[t] : null, longest);
    }

    private static TradeStatistics Trades(IReadOnlyList<Trade> trades)
    {
        var closed = trades.Where(t => !t.IsOpen).ToList();
        var wins = closed.Where(t => t.NetPnl > 0).ToList();
        var losses = closed.Where(t => t.NetPnl < 0).ToList();
        var grossWin = wins.Sum(t => t.NetPnl);
        var grossLoss = -losses.Sum(t => t.NetPnl);
        return new TradeStatistics(closed.Count, trades.Count - closed.Count, wins.Count, losses.Count,
            Ratio(wins.Count, closed.Count), Ratio(grossWin, grossLoss),
            Ratio(grossWin, wins.Count), -Ratio(grossLoss, losses.Count),
            Ratio(closed.Sum(t => (double)t.BarsHeld), closed.Count));
    }

    private static ExposureStatistics Exposure(BacktestRun run, double years)
    {
        var n = run.Equity.Length;
        double traded = run.Fills.Sum(f => f.Value);
        double equitySum = 0, grossSum = 0, netSum = 0;
        var inMarket = 0;
        for (var i = 0; i < n; i++)
        {
            equitySum += run.Equity[i];
            grossSum += Ratio(run.GrossExposure[i], run.Equity[i]);
            netSum += Ratio(run.NetExposure[i], run.Equity[i]);
            if (run.GrossExposure[i] != 0) inMarket++;
        }
        var turnover = Ratio(traded, Ratio(equitySum, n));
        return new ExposureStatistics(turnover, Ratio(turnover, years), Ratio(inMarket, n), Ratio(grossSum, n), Ratio(netSum, n));
    }

    private static CostStatistics Costs(IReadOnlyList<Fill> fills)
    {
        var commission = fills.Sum(f => f.Commission);
        var slippage = fills.Sum(f => f.SlippageCost);
        return new CostStatistics(commission, slippage, commission + slippage, fills.Count);
    }

    private static RelativeStatistics Relative(BacktestRun strategy, BacktestRun benchmark, double barsPerYear, PerformanceStatistics s, PerformanceStatistics b)
    {
        var rs = Returns(strategy.Equity, strategy.Settings.InitialCash);
        var rb = Returns(benchmark.Equity, benchmark.Settings.InitialCash);
        var n = rs.Length;
        if (n < 2) return new RelativeStatistics(0, 0, 0, s.Returns.TotalReturn - b.Returns.TotalReturn);
        var ms = rs.Average();
        var mb = rb.Average();
        double cov = 0, vb = 0, vs = 0;
        for (var i = 0; i < n; i++)
        {
            cov += (rs[i] - ms) * (rb[i] - mb);
            vb += (rb[i] - mb) * (rb[i] - mb);
            vs += (rs[i] - ms) * (rs[i] - ms);
        }
        var beta = Ratio(cov, vb);
        var alpha = (ms - beta * mb) * barsPerYear;
        var correlation = Ratio(cov, Math.Sqrt(vb * vs));
        return new RelativeStatistics(alpha, beta, correlation, s.Returns.TotalReturn - b.Returns.TotalReturn);
    }

    private static List<EquityPoint> Curve(BacktestRun strategy, BacktestRun benchmark, int maxPoints)
    {
        var n = strategy.Equity.Length;
        var step = Math.Max(1, (int)Math.Ceiling(n / (double)Math.Max(1, maxPoints)));
        var points = new List<EquityPoint>(n / step + 2);
        double peak = strategy.Settings.InitialCash, benchPeak = benchmark.Settings.InitialCash;
        for (var i = 0; i < n; i++)
        {
            peak = Math.Max(peak, strategy.Equity[i]);
            benchPeak = Math.Max(benchPeak, benchmark.Equity[i]);
            if (i % step != 0 && i != n - 1) continue;
            points.Add(new EquityPoint(strategy.Timeline[i], strategy.Equity[i], strategy.Cash[i], strategy.GrossExposure[i],
                1 - Ratio(strategy.Equity[i], peak), benchmark.Equity[i], 1 - Ratio(benchmark.Equity[i], benchPeak)));
        }
        return points;
    }

    private static double SampleStd(double[] values, double mean)
    {
        if (values.Length < 2) return 0;
        double sum = 0;
        foreach (var v in values) sum += (v - mean) * (v - mean);
        return Math.Sqrt(sum / (values.Length - 1));
    }

    /// <summary>Guarded division: 0 when the denominator is zero or the result is not finite.</summary>
    public static double Ratio(double numerator, double denominator)
    {
        if (denominator == 0) return 0;
        var r = numerator / denominator;
        return double.IsFinite(r) ? r : 0;
    }
}
