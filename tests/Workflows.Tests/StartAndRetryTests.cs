using Dapr.Workflow;
using static Platform.Workflows.Tests.WorkflowRunnerTests;

namespace Platform.Workflows.Tests;

/// <summary>Start errors fail the instance after the configured attempts; activity retry state is checkpointed.</summary>
public sealed class StartAndRetryTests : RuntimeTest
{
    private static void FastStartRetries(WorkflowRunnerOptions o)
    {
        o.MaxStartAttempts = 3;
        o.StartRetryDelay = TimeSpan.FromMilliseconds(50);
    }

    [Fact]
    public async Task RunAsync_InputDoesNotDeserialize_FailsAfterMaxStartAttempts()
    {
        var checkpoints = new System.Collections.Concurrent.ConcurrentQueue<WorkflowCheckpoint>();
        var r = Runtime.StartRunner(o =>
        {
            FastStartRetries(o);
            o.OnCheckpoint = checkpoints.Enqueue;
        });
        await r.Client.ScheduleNewWorkflowAsync(nameof(ChainWorkflow), "poison-1", "not a ChainInput");

        var state = await r.Client.WaitForWorkflowCompletionAsync("poison-1", cancellation: Within());

        Assert.Equal(WorkflowRuntimeStatus.Failed, state.RuntimeStatus);
        Assert.Contains("could not start after 3 attempts", state.FailureDetails!.ErrorMessage);
        Assert.Equal(typeof(System.Text.Json.JsonException).FullName, state.FailureDetails.ErrorType);
        Assert.Equal(3, checkpoints.Count(c => c.InstanceId == "poison-1" && c.Kind == WorkflowCheckpointKind.Started));
    }

    [Fact]
    public async Task RunAsync_WorkflowDependencyMissing_FailsAfterMaxStartAttempts()
    {
        var r = Runtime.StartRunner(FastStartRetries, o => o.RegisterWorkflow<NeedsMissingService>());
        await r.Client.ScheduleNewWorkflowAsync(nameof(NeedsMissingService), "di-1", 1);

        var state = await r.Client.WaitForWorkflowCompletionAsync("di-1", cancellation: Within());

        Assert.Equal(WorkflowRuntimeStatus.Failed, state.RuntimeStatus);
        Assert.Contains("IMissing", state.FailureDetails!.ErrorMessage);
    }

    [Fact]
    public async Task RunAsync_StartFailedOnceThenRunnerRestarted_AttemptCountIsKept()
    {
        var first = Runtime.StartRunner(o =>
        {
            FastStartRetries(o);
            o.StartRetryDelay = TimeSpan.FromMilliseconds(300);
        });
        await first.Client.ScheduleNewWorkflowAsync(nameof(ChainWorkflow), "poison-2", "not a ChainInput");
        await first.Client.WaitForAsync("poison-2", s => s.RuntimeStatus == WorkflowRuntimeStatus.Running, Within());
        await first.StopAsync();

        var second = Runtime.StartRunner(o => o.MaxStartAttempts = 2);
        var state = await second.Client.WaitForWorkflowCompletionAsync("poison-2", cancellation: Within());

        Assert.Equal(WorkflowRuntimeStatus.Failed, state.RuntimeStatus);
        Assert.Contains("could not start after 2 attempts", state.FailureDetails!.ErrorMessage);
    }

    [Fact]
    public async Task CallActivity_RunnerStoppedBetweenRetries_NextRunnerContinuesWithTheNextAttempt()
    {
        var first = Runtime.StartRunner();
        // Fails attempts 1 to 3; the wait after attempt 2 (2 s) leaves time to stop the runner.
        await first.Client.ScheduleNewWorkflowAsync(nameof(RetryWorkflow), "retry-kill",
            new FlakyInput(FailTimes: 3, MaxAttempts: 5, FirstRetryMs: 50, Backoff: 40));
        await Eventually(() => Runtime.Effects.Count("retry-kill", "attempt") == 2);
        await first.StopAsync();

        var second = Runtime.StartRunner();
        var state = await second.Client.WaitForWorkflowCompletionAsync("retry-kill", cancellation: Within(30));

        Assert.Equal(WorkflowRuntimeStatus.Completed, state.RuntimeStatus);
        Assert.Equal("ok after 4", state.ReadOutputAs<string>());
        Assert.Equal(4, Runtime.Effects.Count("retry-kill", "attempt"));
    }
}
