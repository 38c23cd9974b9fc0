using Platform.ServiceDefaults;

namespace Platform.Training.Testing;

/// <summary>
/// The points at which the process-kill suite (<c>tests/Training.Tests/TrainingKillTests.cs</c>) can halt a training run (<see cref="HaltPoints"/>, set with
/// <c>Training:Testing:HaltAt</c>):
/// <list type="bullet">
/// <item><c>train</c>: a candidate's walk-forward validation has begun (the middle of the run, nothing registered).</item>
/// <item><c>after-register</c>: the version is registered and its <c>ModelRegistered</c> published, the activity not yet
/// checkpointed (a resumed run runs the registration again).</item>
/// </list>
/// </summary>
public static class KillPoints
{
    public const string ConfigurationKey = "Training:Testing:HaltAt";
    public const string Train = "train";
    public const string AfterRegister = "after-register";

    public static HaltPoints From(IConfiguration configuration) => HaltPoints.From(configuration, ConfigurationKey, [Train, AfterRegister]);
}
