using static Platform.Workflows.Tests.WorkflowRunnerTests;

namespace Platform.Workflows.Tests;

/// <summary>
/// The runner on the Dapr adapter against the faithful sidecar, whose store keeps JSON re-serialized (keys re-ordered,
/// whitespace dropped): a checkpoint read back differs in bytes from what was written, and must not look like a lost lease.
/// </summary>
public sealed class DaprAdapterWorkflowTests : IAsyncLifetime
{
    private readonly TestRuntime _runtime = new(dapr: true);

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => _runtime.DisposeAsync().AsTask();

    [Fact]
    public async Task ScheduleNewWorkflow_ReserializingStore_CompletesEachStepOnceAndPublishesOnce()
    {
        var r = _runtime.StartRunner();
        var id = await r.Client.ScheduleNewWorkflowAsync(nameof(ChainWorkflow), "dapr-chain", new ChainInput(5));
        var state = await r.Client.WaitForWorkflowCompletionAsync(id, cancellation: Within(30));

        Assert.Equal(WorkflowRuntimeStatus.Completed, state.RuntimeStatus);
        Assert.Equal(12345, state.ReadOutputAs<long>());
        for (var step = 1; step <= 5; step++) Assert.Equal(1, _runtime.Effects.Count(id, $"step{step}:start"));
        await Eventually(() => _runtime.CountEvents("wf:dapr-chain:completed") == 1);
        // The runner writes "instanceId" first; the store keeps keys in jsonb order (shortest first), so the bytes differ.
        var stored = System.Text.Encoding.UTF8.GetString(_runtime.Cluster!.State.Raw("statestore", TestRuntime.AppId, "workflow:dapr-chain")!);
        Assert.StartsWith("{\"name\":", stored);
    }

    [Fact]
    public async Task RunAsync_RunnerStoppedMidWorkflowOnDapr_AnotherResumesWithoutRerunningCheckpointedSteps()
    {
        var first = _runtime.StartRunner();
        await first.Client.ScheduleNewWorkflowAsync(nameof(ChainWorkflow), "dapr-resume", new ChainInput(3, GateAtStep: "g"));
        _runtime.Effects.Gate("dapr-resume:g:1").TrySetResult();
        await Eventually(() => _runtime.Effects.Count("dapr-resume", "step2:start") == 1);
        await first.StopAsync();

        var second = _runtime.StartRunner();
        _runtime.Effects.Gate("dapr-resume:g:2").TrySetResult();
        _runtime.Effects.Gate("dapr-resume:g:3").TrySetResult();
        var state = await second.Client.WaitForWorkflowCompletionAsync("dapr-resume", cancellation: Within(30));

        Assert.Equal(123, state.ReadOutputAs<long>());
        Assert.Equal(1, _runtime.Effects.Count("dapr-resume", "step1:start"));
    }
}
