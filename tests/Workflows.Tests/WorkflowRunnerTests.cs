using Dapr.Workflow;
namespace Platform.Workflows.Tests;

public sealed class WorkflowRunnerTests : RuntimeTest
{
    internal static CancellationToken Within(int seconds = 15) => new CancellationTokenSource(TimeSpan.FromSeconds(seconds)).Token;

    /// <summary>Starts a runner, schedules <paramref name="workflow"/> and waits (15 s at most) until the instance ends.</summary>
    private async Task<(string Id, WorkflowState State)> RunToEndAsync(string workflow, string instanceId, object? input = null,
        Action<Dapr.Workflow.WorkflowRuntimeOptions>? register = null)
    {
        var r = Runtime.StartRunner(register: register);
        var id = await r.Client.ScheduleNewWorkflowAsync(workflow, instanceId, input);
        return (id, await r.Client.WaitForWorkflowCompletionAsync(id, cancellation: Within()));
    }

    [Fact]
    public async Task ScheduleNewWorkflow_FiveChainedActivities_CompletesWithEachResultFedToTheNext()
    {
        var r = Runtime.StartRunner();
        var before = DateTimeOffset.UtcNow;

        var id = await r.Client.ScheduleNewWorkflowAsync(nameof(ChainWorkflow), "chain-1", new ChainInput(5));
        var state = await r.Client.WaitForWorkflowCompletionAsync(id, cancellation: Within());

        Assert.Equal("chain-1", id);
        Assert.Equal(WorkflowRuntimeStatus.Completed, state.RuntimeStatus);
        Assert.Equal(12345, state.ReadOutputAs<long>());
        Assert.Equal(5, state.ReadInputAs<ChainInput>()!.Steps);
        Assert.Equal(new WorkflowProgress(5, nameof(AddDigit)), state.Progress);
        Assert.Equal(5, state.ReadCustomStatusAs<StepStatus>()!.Step);
        Assert.Null(state.FailureDetails);
        Assert.InRange(state.CreatedAt, before, state.CompletedAt!.Value);
        for (var step = 1; step <= 5; step++) Assert.Equal(1, Runtime.Effects.Count(id, $"step{step}:done"));
    }

    [Fact]
    public async Task ScheduleNewWorkflow_Completes_PublishesOneCompletedEvent()
    {
        var r = Runtime.StartRunner();
        var id = await r.Client.ScheduleNewWorkflowAsync(nameof(ChainWorkflow), "published-1", new ChainInput(2));
        await r.Client.WaitForWorkflowCompletionAsync(id, cancellation: Within());

        // The event follows the terminal checkpoint; wait for the instance to leave the runner.
        await Eventually(() => Runtime.CountEvents("wf:published-1:completed") == 1);
        Assert.Equal(0, Runtime.CountEvents("wf:published-1:failed"));
    }

    [Fact]
    public async Task RunAsync_ParallelActivities_AppliesResultsAsTheyComplete()
    {
        var (id, state) = await RunToEndAsync(nameof(FanOutWorkflow), "fan-1", 30);

        Assert.Equal(WorkflowRuntimeStatus.Completed, state.RuntimeStatus);
        Assert.Equal((1 + 2 + 3) * 10 + 4, state.ReadOutputAs<long>());
        Assert.Equal(4, state.Progress.CompletedActivities);
    }

    [Fact]
    public async Task CreateTimer_Delay_ResumesAfterTheDelay()
    {
        var r = Runtime.StartRunner();
        var started = DateTimeOffset.UtcNow;
        var id = await r.Client.ScheduleNewWorkflowAsync(nameof(TimerWorkflow), "timer-1", 300);
        var state = await r.Client.WaitForWorkflowCompletionAsync(id, cancellation: Within());

        Assert.Equal(12, state.ReadOutputAs<long>());
        Assert.True(state.CompletedAt - started >= TimeSpan.FromMilliseconds(300), $"finished after {state.CompletedAt - started}");
    }

    [Fact]
    public async Task CallActivity_FailsTwiceThenSucceeds_RetriesWithBackoff()
    {
        var (id, state) = await RunToEndAsync(nameof(RetryWorkflow), "retry-1", new FlakyInput(FailTimes: 2, MaxAttempts: 3, FirstRetryMs: 100, Backoff: 2.0));

        Assert.Equal(WorkflowRuntimeStatus.Completed, state.RuntimeStatus);
        Assert.Equal("ok after 3", state.ReadOutputAs<string>());
        Assert.Equal(3, Runtime.Effects.Count(id, "attempt"));
        // Waits of 100 ms then 200 ms between the attempts.
        var times = Runtime.Effects.Times(id, "attempt");
        Assert.True(times[1] - times[0] >= TimeSpan.FromMilliseconds(95), $"first wait {times[1] - times[0]}");
        Assert.True(times[2] - times[1] >= TimeSpan.FromMilliseconds(195), $"second wait {times[2] - times[1]}");
    }

    [Fact]
    public async Task CallActivity_FailsEveryAttempt_WorkflowFailsWithTheActivityError()
    {
        var (id, state) = await RunToEndAsync(nameof(RetryWorkflow), "fail-1", new FlakyInput(FailTimes: 10, MaxAttempts: 3));

        Assert.Equal(WorkflowRuntimeStatus.Failed, state.RuntimeStatus);
        // As Dapr reports it: the workflow failed with the task-failed exception that its last attempt raised in it.
        Assert.Equal(typeof(WorkflowTaskFailedException).FullName, state.FailureDetails!.ErrorType);
        Assert.Equal("Task failed: boom 3", state.FailureDetails.ErrorMessage);
        Assert.Equal(3, Runtime.Effects.Count(id, "attempt"));
        await Eventually(() => Runtime.CountEvents("wf:fail-1:failed") == 1);
    }

    [Fact]
    public async Task CallActivity_FinalFailureCaught_WorkflowCompletesWithItsOwnResult()
    {
        var (id, state) = await RunToEndAsync(nameof(CatchingWorkflow), "catch-1", new FlakyInput(FailTimes: 10, MaxAttempts: 2));

        Assert.Equal(WorkflowRuntimeStatus.Completed, state.RuntimeStatus);
        Assert.Equal("handled System.InvalidOperationException: boom 2", state.ReadOutputAs<string>());
    }

    [Fact]
    public async Task RunAsync_UnregisteredActivity_FailsTheWorkflow()
    {
        var (id, state) = await RunToEndAsync(nameof(UnknownActivityWorkflow), "unknown-1", register: o => o.RegisterWorkflow<UnknownActivityWorkflow>());

        Assert.Equal(WorkflowRuntimeStatus.Failed, state.RuntimeStatus);
        Assert.Contains("NoSuchActivity", state.FailureDetails!.ErrorMessage);
    }

    internal static async Task Eventually(Func<bool> condition, int seconds = 10)
    {
        var until = DateTime.UtcNow.AddSeconds(seconds);
        while (!condition())
        {
            if (DateTime.UtcNow > until) Assert.Fail("Condition not met in time.");
            await Task.Delay(20);
        }
    }

    private sealed record StepStatus(int Step);
}

public sealed class UnknownActivityWorkflow : Workflow<object?, string>
{
    public override Task<string> RunAsync(WorkflowContext context, object? input) => context.CallActivityAsync<string>("NoSuchActivity");
}
