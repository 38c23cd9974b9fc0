using Platform.Contracts;
using Platform.ServiceDefaults;

namespace Platform.Backtesting;

/// <summary>
/// backtesting: strategies with realistic costs run as durable workflows on the backtest engine.
/// <list type="bullet">
/// <item>Reads: bars (offline store, read-only).</item>
/// <item>Stores: backtest runs and their reports, workflow checkpoints (statestore).</item>
/// <item>Publishes and consumes: nothing.</item>
/// <item>API: <c>/v1/backtests</c>.</item>
/// </list>
/// </summary>
public static class Program
{
    public static ServiceModule Module { get; } = new(AppTopology.Backtesting, b => b.AddBacktesting(), a => a.MapBacktesting());

    public static Task Main(string[] args) => Module.RunAsync(args);
}
