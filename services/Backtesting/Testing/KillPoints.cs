namespace Platform.Backtesting.Testing;

/// <summary>
/// Test-only fault injection for the process-kill suite (<c>tests/Backtesting.Tests/BacktestKillTests.cs</c>). With
/// <c>Backtesting:Testing:HaltAt</c> set, a backtest that reaches that point prints <c>HALTED {point}</c> on standard output
/// and its thread stops there for good; the test then kills the process with SIGKILL. Points:
/// <list type="bullet">
/// <item><c>simulate</c>: the bars are loaded and the simulation is about to run (the middle of the run, nothing stored).</item>
/// <item><c>after-save</c>: the report is stored, the activity not yet checkpointed (a resumed run stores it again).</item>
/// </list>
/// Unset (always, outside that suite) <see cref="Reach"/> does nothing.
/// </summary>
public sealed class KillPoints(string? point)
{
    public const string ConfigurationKey = "Backtesting:Testing:HaltAt";
    public const string Simulate = "simulate";
    public const string AfterSave = "after-save";

    public static KillPoints From(IConfiguration configuration) =>
        configuration[ConfigurationKey] switch
        {
            null or "" => new KillPoints(null),
            (Simulate or AfterSave) and var p => new KillPoints(p),
            var other => throw new InvalidOperationException($"{ConfigurationKey} must be {Simulate} or {AfterSave}, not '{other}'."),
        };

    /// <summary>At <paramref name="name"/>, when it is the configured point: says so and blocks this thread until the process is killed.</summary>
    public void Reach(string name)
    {
        if (point != name) return;
        Console.Out.WriteLine($"HALTED {name}");
        Console.Out.Flush();
        Thread.Sleep(Timeout.Infinite);
    }
}
