using Platform.Backtesting.Engine;

namespace Platform.Backtesting.Engine.Statistics;

/// <summary>
/// A backtest's outcome: what was run, the strategy's and the benchmark's statistics side by side, how the
/// strategy relates to the benchmark, the curves and the trade list. Ratios with a zero denominator are 0.
/// </summary>
public sealed record BacktestReport(
    BacktestSummary Summary,
    PerformanceStatistics Strategy,
    PerformanceStatistics Benchmark,
    RelativeStatistics Relative,
    IReadOnlyList<EquityPoint> Curve,
    IReadOnlyList<Trade> Trades);

public sealed record BacktestSummary(
    string Strategy, string Benchmark, IReadOnlyList<string> Symbols, string Interval,
    DateTimeOffset From, DateTimeOffset To, int Bars, long BarEvents,
    double InitialCash, string Commission, string Slippage, string Sizing, bool AllowShort, double MaxLeverage, double? MaxParticipation);

/// <summary>One account's statistics, grouped by what they describe.</summary>
public sealed record PerformanceStatistics(
    ReturnStatistics Returns, RiskStatistics Risk, DrawdownStatistics Drawdown,
    TradeStatistics Trades, ExposureStatistics Exposure, CostStatistics Costs);

public sealed record ReturnStatistics(double FinalEquity, double TotalReturn, double AnnualizedReturn);

/// <summary>Annualised volatility (sample deviation of bar returns), Sharpe and Sortino (risk-free 0), Calmar (annual return / max drawdown).</summary>
public sealed record RiskStatistics(double Volatility, double Sharpe, double Sortino, double Calmar);

/// <summary>Largest peak-to-trough loss as a fraction of the peak, and the longest time under water in bars (peak to recovery, or to the end).</summary>
public sealed record DrawdownStatistics(double MaxDrawdown, DateTimeOffset? PeakTime, DateTimeOffset? TroughTime, int LongestDurationBars);

/// <summary>Over closed round trips (net of costs); open trades are counted apart.</summary>
public sealed record TradeStatistics(
    int Count, int OpenCount, int Wins, int Losses, double WinRate, double ProfitFactor,
    double AverageWin, double AverageLoss, double AverageBarsHeld);

/// <summary>
/// Turnover is traded value over average equity for the whole run and per year; time in market is the share
/// of bars with any position; exposures are gross and net position value over equity, averaged over bars.
/// </summary>
public sealed record ExposureStatistics(double Turnover, double AnnualTurnover, double TimeInMarket, double AverageGrossExposure, double AverageNetExposure);

public sealed record CostStatistics(double Commission, double Slippage, double Total, int Fills);

/// <summary>Regression of the strategy's bar returns on the benchmark's: beta, annualised alpha, correlation, excess total return.</summary>
public sealed record RelativeStatistics(double Alpha, double Beta, double Correlation, double ExcessReturn);

public sealed record EquityPoint(DateTimeOffset Time, double Equity, double Cash, double GrossExposure, double Drawdown, double BenchmarkEquity, double BenchmarkDrawdown);
