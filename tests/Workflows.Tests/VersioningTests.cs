using Dapr.Workflow;
using static Platform.Workflows.Tests.WorkflowRunnerTests;

namespace Platform.Workflows.Tests;

/// <summary>Definitions are versioned: patches keep old instances on their path, a removed definition fails its instances.</summary>
public sealed class VersioningTests : RuntimeTest
{
    private RunningRunner Runner<T>(string version, string name = "Patched") where T : class, IWorkflow =>
        Runtime.StartRunner(o => o.Versions[name] = version, o =>
        {
            o.RegisterWorkflow<T>(name);
            o.RegisterActivity<Echo>();
        });

    [Fact]
    public async Task IsPatched_InstanceStartedBeforeThePatch_FinishesOnTheOldPathWhileNewOnesTakeTheNew()
    {
        var v1 = Runner<PatchedV1>("1");
        await v1.Client.ScheduleNewWorkflowAsync("Patched", "old-1", true);
        await Eventually(() => Runtime.Effects.Count("old-1", "echo:b:start") == 1);
        await v1.StopAsync();

        var v2 = Runner<PatchedV2>("2");
        Runtime.Effects.Gate("old-1:b").TrySetResult();
        var old = await v2.Client.WaitForWorkflowCompletionAsync("old-1", cancellation: Within());
        await v2.Client.ScheduleNewWorkflowAsync("Patched", "new-1", false);
        var fresh = await v2.Client.WaitForWorkflowCompletionAsync("new-1", cancellation: Within());

        Assert.Equal("ab", old.ReadOutputAs<string>());
        Assert.Equal(0, Runtime.Effects.Count("old-1", "echo:x"));
        Assert.Equal("1", old.Version);
        Assert.Equal("axb", fresh.ReadOutputAs<string>());
        Assert.Equal("2", fresh.Version);
    }

    [Fact]
    public async Task IsPatched_PatchedInstanceResumedByAnotherRunner_KeepsTheNewPath()
    {
        var first = Runner<PatchedV2>("2");
        await first.Client.ScheduleNewWorkflowAsync("Patched", "p-1", true);
        await Eventually(() => Runtime.Effects.Count("p-1", "echo:b:start") == 1);
        await first.StopAsync();

        var second = Runner<PatchedV2>("2");
        Runtime.Effects.Gate("p-1:b").TrySetResult();
        var state = await second.Client.WaitForWorkflowCompletionAsync("p-1", cancellation: Within());

        Assert.Equal("axb", state.ReadOutputAs<string>());
        Assert.Equal(1, Runtime.Effects.Count("p-1", "echo:x"));
    }

    [Fact]
    public async Task RunAsync_DefinitionRemoved_InstanceFailsNamingTheDefinition()
    {
        var before = Runner<PatchedV1>("1", name: "Retired");
        await before.Client.ScheduleNewWorkflowAsync("Retired", "retired-1", true);
        await Eventually(() => Runtime.Effects.Count("retired-1", "echo:b:start") == 1);
        await before.StopAsync();

        var after = Runtime.StartRunner(o => o.UnregisteredGracePeriod = TimeSpan.FromMilliseconds(200));
        var state = await after.Client.WaitForWorkflowCompletionAsync("retired-1", cancellation: Within());

        Assert.Equal(WorkflowRuntimeStatus.Failed, state.RuntimeStatus);
        Assert.Equal("WorkflowNotFound", state.FailureDetails!.ErrorType);
        Assert.Contains("'Retired' (version 1)", state.FailureDetails.ErrorMessage);
    }

    [Fact]
    public async Task RunAsync_ReplicaWithoutTheDefinitionWithinTheGracePeriod_LeavesTheInstanceToAReplicaThatHasIt()
    {
        // A rolling deployment: an old replica (no "Patched") keeps scanning while the new code's instance waits.
        var old = Runtime.StartRunner(o => o.UnregisteredGracePeriod = TimeSpan.FromMinutes(5));
        await Runtime.Client().ScheduleNewWorkflowAsync("Patched", "rolling-1", false);
        // Many scans of the old replica (it polls every 50 ms) pass before the new replica starts.
        await Task.Delay(TimeSpan.FromSeconds(1));
        var pending = await old.Client.GetWorkflowStateAsync("rolling-1");

        var fresh = Runner<PatchedV2>("2");
        var state = await fresh.Client.WaitForWorkflowCompletionAsync("rolling-1", cancellation: Within());

        Assert.Equal(WorkflowRuntimeStatus.Pending, pending.RuntimeStatus);
        Assert.Equal(WorkflowRuntimeStatus.Completed, state.RuntimeStatus);
        Assert.Equal("axb", state.ReadOutputAs<string>());
    }

    [Fact]
    public async Task RunAsync_TimerReplacedByActivityWithoutPatch_FailsAsNonDeterministicInsteadOfSkippingTheActivity()
    {
        var v1 = Runner<TimerThenEchoV1>("1", name: "TimerThenEcho");
        await v1.Client.ScheduleNewWorkflowAsync("TimerThenEcho", "t-1", 10);
        await Eventually(() => Runtime.Effects.Count("t-1", "echo:b:start") == 1);
        await v1.StopAsync();

        var v2 = Runner<TimerThenEchoV2>("2", name: "TimerThenEcho");
        var state = await v2.Client.WaitForWorkflowCompletionAsync("t-1", cancellation: Within());

        Assert.Equal(WorkflowRuntimeStatus.Failed, state.RuntimeStatus);
        Assert.Equal(typeof(NonDeterministicWorkflowException).FullName, state.FailureDetails!.ErrorType);
        Assert.Equal(0, Runtime.Effects.Count("t-1", "echo:t"));
    }
}
