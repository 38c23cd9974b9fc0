using Platform.Contracts;
using Platform.TestSupport;
using Platform.Training.Testing;

namespace Platform.Training.Tests;

/// <summary>
/// Training runs and SIGKILL, with real processes: the training service runs as an OS process of its own (its own entry
/// point, embedded runtime, a temporary data directory), a run is started through <c>POST /v1/training-runs</c>, and
/// <c>Training:Testing:HaltAt</c> (<see cref="KillPoints"/>) stops it mid-run, where the process is killed. A second process
/// on the same data directory resumes the run, which completes with exactly one registered version (the run's), one
/// <c>ModelRegistered</c> and one completion event: nothing lost, nothing twice.
/// </summary>
[Trait("Category", "Slow")]
public sealed class TrainingKillTests : IDisposable
{
    private const string Model = "kill-h5";
    private static readonly TimeSpan Wait = TimeSpan.FromMinutes(4);
    private readonly string _dir = Directory.CreateTempSubdirectory("training-kill-").FullName;

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }

    private static Dictionary<string, string> Settings(string? haltAt)
    {
        var settings = new Dictionary<string, string>
        {
            ["Training:SyntheticBars"] = "500",
            ["Workflows:PollInterval"] = "00:00:00.100",
            ["Workflows:LeaseDuration"] = "00:00:03",
            ["Workflows:RenewInterval"] = "00:00:00.500",
            ["Training:Retraining:Enabled"] = "false",
        };
        if (haltAt is not null) settings[KillPoints.ConfigurationKey] = haltAt;
        return settings;
    }

    private static object Request() => new
    {
        symbols = new[] { "ALPHA", "BRAVO" },
        target = "return",
        horizon = 5,
        model = Model,
        folds = 3,
        dataSource = "synthetic",
        candidates = new object[] { new { kind = "ridge", parameters = new Dictionary<string, string> { ["alpha"] = "1000" } } },
    };

    [Theory]
    [InlineData(KillPoints.Train)]
    [InlineData(KillPoints.AfterRegister)]
    public async Task TrainingRun_KilledAtPoint_RestartCompletesWithOneVersionAndOneEventEach(string point)
    {
        var location = await ServiceChildProcess.PostRunAndKillAtAsync("Training", _dir, Settings(point), "/v1/training-runs",
            JsonContent.Create(Request(), options: TrainingApiTests.Json), point, Wait);
        var id = location.Split('/')[^1];

        var registered = $"model:{Model}:1:registered";
        // Killed after the registration committed and published: the event is out once; before it, nothing is.
        Assert.Equal(point == KillPoints.AfterRegister ? [registered] : [], Ids(Topics.ModelRegistered));
        Assert.DoesNotContain($"wf:{id}:completed", Ids(Topics.WorkflowEvents));

        using var second = await ServiceChildProcess.StartAsync("Training", _dir, Settings(null), Wait);
        using var client = second.Client();
        var run = await TrainingApiTests.WaitAsync(client, location, Wait);
        Assert.True(run.GetProperty("status").GetString() == "completed", $"{run}\n{second.Output}");
        Assert.Equal(1, run.GetProperty("outcome").GetProperty("version").GetInt32());

        var versions = await client.GetFromJsonAsync<JsonElement>($"/v1/models/{Model}/versions", TrainingApiTests.Json);
        Assert.Equal(1, versions.GetArrayLength());
        Assert.Equal(id, versions[0].GetProperty("runId").GetString());
        // Exactly once each: the resumed registration found the run's version instead of adding one.
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.Equal([registered], Ids(Topics.ModelRegistered));
        Assert.Equal(1, Ids(Topics.WorkflowEvents).Count(e => e == $"wf:{id}:completed"));
        var promoted = Ids(Topics.ModelPromoted);
        Assert.Equal(promoted.Distinct().Count(), promoted.Count);
    }

    private IReadOnlyList<string> Ids(string topic) =>
        File.Exists(Platform.BuildingBlocks.Embedded.EmbeddedRuntimeExtensions.EventLogFile(_dir)) ? EmbeddedEventLog.Ids(_dir, topic) : [];
}
