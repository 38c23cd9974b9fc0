namespace Platform.Backtesting.Engine;

/// <summary>The portfolio after every bar of one time has been processed.</summary>
public readonly record struct PortfolioSnapshot(int TimeIndex, DateTimeOffset Time, double Cash, double PositionValue, double Equity, double GrossExposure);

/// <summary>Hooks for tests and tooling; the engine runs without one at full speed.</summary>
public interface IBacktestObserver
{
    /// <summary>After a fill is applied. <paramref name="fillBarTime"/> is the time of the bar it traded on.</summary>
    void OnFill(Fill fill, Order order, DateTimeOffset fillBarTime);

    void OnTimeStep(in PortfolioSnapshot snapshot, IPortfolioView portfolio);
}
