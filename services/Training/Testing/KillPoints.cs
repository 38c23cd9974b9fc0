namespace Platform.Training.Testing;

/// <summary>
/// Test-only fault injection for the process-kill suite (<c>tests/Training.Tests/TrainingKillTests.cs</c>). With
/// <c>Training:Testing:HaltAt</c> set, a training run that reaches that point prints <c>HALTED {point}</c> on standard
/// output and its thread stops there for good; the test then kills the process with SIGKILL. Points:
/// <list type="bullet">
/// <item><c>train</c>: a candidate's walk-forward validation has begun (the middle of the run, nothing registered).</item>
/// <item><c>after-register</c>: the version is registered and its <c>ModelRegistered</c> published, the activity not yet
/// checkpointed (a resumed run runs the registration again).</item>
/// </list>
/// Unset (always, outside that suite) <see cref="Reach"/> does nothing.
/// </summary>
public sealed class KillPoints(string? point)
{
    public const string ConfigurationKey = "Training:Testing:HaltAt";
    public const string Train = "train";
    public const string AfterRegister = "after-register";

    public static KillPoints From(IConfiguration configuration) =>
        configuration[ConfigurationKey] switch
        {
            null or "" => new KillPoints(null),
            (Train or AfterRegister) and var p => new KillPoints(p),
            var other => throw new InvalidOperationException($"{ConfigurationKey} must be {Train} or {AfterRegister}, not '{other}'."),
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
