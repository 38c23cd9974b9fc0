using Platform.ServiceDefaults;

namespace Platform.Backtesting.Testing;

/// <summary>
/// The points at which the process-kill suite (<c>tests/Backtesting.Tests/BacktestKillTests.cs</c>) can halt a backtest (<see cref="HaltPoints"/>, set with
/// <c>Backtesting:Testing:HaltAt</c>):
/// <list type="bullet">
/// <item><c>simulate</c>: the bars are loaded and the simulation is about to run (the middle of the run, nothing stored).</item>
/// <item><c>after-save</c>: the report is stored, the activity not yet checkpointed (a resumed run stores it again).</item>
/// </list>
/// </summary>
public static class KillPoints
{
    public const string ConfigurationKey = "Backtesting:Testing:HaltAt";
    public const string Simulate = "simulate";
    public const string AfterSave = "after-save";

    public static HaltPoints From(IConfiguration configuration) => HaltPoints.From(configuration, ConfigurationKey, [Simulate, AfterSave]);
}
