using static Platform.Workflows.Tests.WorkflowRunnerTests;

namespace Platform.Workflows.Tests;

public sealed class WorkflowRunsTests : RuntimeTest
{
    private static RunLimits Limits(int total, int perCaller) => new(total, "Test:MaxConcurrent", perCaller, "Test:MaxConcurrentPerCaller");

    /// <summary>A run that holds at its first step until the test opens the gate.</summary>
    private static ChainInput Held => new(1, GateAtStep: "hold");

    [Fact]
    public async Task StartAsync_ConcurrentStartsOnTwoReplicas_AdmitsExactlyUpToTheTotal()
    {
        var replicas = new[] { Runtime.StartRunner(), Runtime.StartRunner() };
        var refusals = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Task.Run(() =>
            replicas[i % 2].Runs.StartAsync(nameof(ChainWorkflow), $"run-{i}", Held, $"caller-{i}", Limits(3, 3), Within()))));

        Assert.Equal(3, refusals.Count(r => r is null));
        Assert.All(refusals.Where(r => r is not null), r => Assert.Equal(("Test:MaxConcurrent", 3), (r!.Limit, r.Value)));
    }

    [Fact]
    public async Task StartAsync_CallerAtItsLimit_RefusedWhileAnotherCallerIsAdmitted()
    {
        var runs = Runtime.StartRunner().Runs;
        Assert.Null(await runs.StartAsync(nameof(ChainWorkflow), "alice-1", Held, "alice", Limits(5, 1), Within()));
        var refused = await runs.StartAsync(nameof(ChainWorkflow), "alice-2", Held, "alice", Limits(5, 1), Within());
        Assert.Equal(("Test:MaxConcurrentPerCaller", 1), (refused!.Limit, refused.Value));
        Assert.Null(await runs.StartAsync(nameof(ChainWorkflow), "bob-1", Held, "bob", Limits(5, 1), Within()));
        Assert.False((await Runtime.Client().GetWorkflowStateAsync("alice-2")).Exists);
    }

    [Theory]
    [InlineData("completed")]
    [InlineData("terminated")]
    public async Task StartAsync_PreviousRunFinished_FreesItsSlot(string how)
    {
        var r = Runtime.StartRunner();
        Assert.Null(await r.Runs.StartAsync(nameof(ChainWorkflow), "first", Held, "alice", Limits(1, 1), Within()));
        Assert.NotNull(await r.Runs.StartAsync(nameof(ChainWorkflow), "second", Held, "alice", Limits(1, 1), Within()));

        if (how == "completed") Runtime.Effects.Gate("first:hold:1").SetResult();
        else await r.Client.TerminateWorkflowAsync("first");
        await r.Client.WaitForWorkflowCompletionAsync("first", cancellation: Within());

        Assert.Null(await r.Runs.StartAsync(nameof(ChainWorkflow), "second", Held, "alice", Limits(1, 1), Within()));
    }

    [Fact]
    public async Task GetOwnerAsync_AdmittedOrScheduledDirectly_OwnerOrNull()
    {
        var r = Runtime.StartRunner();
        await r.Runs.StartAsync(nameof(ChainWorkflow), "owned", new ChainInput(1), "api-key:alice", Limits(2, 2), Within());
        await r.Client.ScheduleNewWorkflowAsync(nameof(ChainWorkflow), "direct", new ChainInput(1));

        Assert.Equal("api-key:alice", await r.Runs.GetOwnerAsync("owned", Within()));
        Assert.Null(await r.Runs.GetOwnerAsync("direct", Within()));
    }
}
