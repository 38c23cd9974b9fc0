using Platform.BuildingBlocks.State;
using static Platform.Workflows.Tests.WorkflowRunnerTests;

namespace Platform.Workflows.Tests;

public sealed class LeaseTests : RuntimeTest
{
    [Fact]
    public async Task TwoRunners_OneStore_RunEachActivityOnceAndFinishEachInstanceOnce()
    {
        var a = Runtime.StartRunner(o => o.MaxConcurrentInstances = 8);
        var b = Runtime.StartRunner(o => o.MaxConcurrentInstances = 8);
        var ids = Enumerable.Range(0, 40).Select(i => $"pair-{i}").ToList();

        foreach (var (id, i) in ids.Select((id, i) => (id, i)))
            await (i % 2 == 0 ? a : b).Client.ScheduleNewWorkflowAsync(nameof(ChainWorkflow), id, new ChainInput(3, StepDelayMs: 5));
        foreach (var id in ids)
            Assert.Equal(123, (await a.Client.WaitForWorkflowCompletionAsync(id, cancellation: Within(30))).ReadOutputAs<long>());

        foreach (var id in ids)
        {
            for (var step = 1; step <= 3; step++) Assert.Equal(1, Runtime.Effects.Count(id, $"step{step}:start"));
            await Eventually(() => Runtime.CountEvents($"wf:{id}:completed") == 1);
        }
    }

    [Fact]
    public async Task Runner_StoppedMidWorkflow_AnotherResumesWithoutRerunningCheckpointedActivities()
    {
        var a = Runtime.StartRunner();
        var id = await a.Client.ScheduleNewWorkflowAsync(nameof(ChainWorkflow), "handover", new ChainInput(4, GateAtStep: "g"));
        Runtime.Effects.Gate($"{id}:g:1").SetResult();
        Runtime.Effects.Gate($"{id}:g:2").SetResult();
        await a.Client.WaitForAsync(id, s => s.Progress.CompletedActivities == 2, Within());
        await Eventually(() => Runtime.Effects.Count(id, "step3:start") == 1);

        await a.StopAsync();
        Runtime.Effects.Gate($"{id}:g:3").SetResult();
        Runtime.Effects.Gate($"{id}:g:4").SetResult();
        var b = Runtime.StartRunner();
        var state = await b.Client.WaitForWorkflowCompletionAsync(id, cancellation: Within());

        Assert.Equal(1234, state.ReadOutputAs<long>());
        Assert.Equal(1, Runtime.Effects.Count(id, "step1:start"));
        Assert.Equal(1, Runtime.Effects.Count(id, "step2:start"));
        // Step 3 was interrupted (stopped before its result was checkpointed), so it ran again.
        Assert.Equal(2, Runtime.Effects.Count(id, "step3:start"));
        Assert.Equal(1, Runtime.Effects.Count(id, "step4:start"));
    }

    [Fact]
    public async Task Lease_TakenOverAfterExpiry_OldRunnerCannotCheckpoint()
    {
        var a = Runtime.StartRunner(o => o.RenewInterval = TimeSpan.FromMilliseconds(200));
        var id = await a.Client.ScheduleNewWorkflowAsync(nameof(ChainWorkflow), "stolen", new ChainInput(2, GateAtStep: "g"));
        await Eventually(() => Runtime.Effects.Count(id, "step1:start") == 1);

        // Another runner takes the lease as if A's had expired: it rewrites the record, so A's ETag no longer matches.
        var (record, etag) = await Runtime.Store.GetWithETagAsync<System.Text.Json.Nodes.JsonObject>("workflow:" + id);
        record!["leaseOwner"] = "someone-else";
        record["leaseUntil"] = DateTimeOffset.UtcNow.AddMinutes(10);
        Assert.Equal(StateOutcome.Ok, await Runtime.Store.SaveAsync("workflow:" + id, record, etag));

        Runtime.Effects.Gate($"{id}:g:1").SetResult();
        await Eventually(() => a.Runner.ActiveInstances == 0);
        var state = await a.Client.GetWorkflowStateAsync(id);
        Assert.Equal(0, state.Progress.CompletedActivities);
        Assert.Equal(WorkflowRuntimeStatus.Running, state.RuntimeStatus);
    }

    [Fact]
    public async Task Lease_HeldByALiveRunner_IsNotTakenByAnother()
    {
        // A lease must outlast the longest pause of its holder: starting a second runner in this process can stall
        // timers for most of a second on two cores, so the lease here is seconds, not milliseconds.
        var a = Runtime.StartRunner(o => { o.LeaseDuration = TimeSpan.FromSeconds(3); o.RenewInterval = TimeSpan.FromMilliseconds(300); });
        var id = await a.Client.ScheduleNewWorkflowAsync(nameof(ChainWorkflow), "held", new ChainInput(1, GateAtStep: "g"));
        await Eventually(() => Runtime.Effects.Count(id, "step1:start") == 1);

        var b = Runtime.StartRunner(o => { o.LeaseDuration = TimeSpan.FromSeconds(3); o.RenewInterval = TimeSpan.FromMilliseconds(300); });
        await Task.Delay(4_000);
        Assert.Equal(0, b.Runner.ActiveInstances);

        Runtime.Effects.Gate($"{id}:g:1").SetResult();
        var state = await a.Client.WaitForWorkflowCompletionAsync(id, cancellation: Within());
        Assert.Equal(1, state.ReadOutputAs<long>());
        Assert.Equal(1, Runtime.Effects.Count(id, "step1:start"));
    }
}
