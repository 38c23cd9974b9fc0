using static Platform.Workflows.Tests.WorkflowRunnerTests;

namespace Platform.Workflows.Tests;

public sealed class WorkflowClientTests : RuntimeTest
{
    [Fact]
    public async Task GetWorkflowState_FailedInstanceReadByAnotherClient_CarriesDaprsFailureDetails()
    {
        var r = Runtime.StartRunner();
        await r.Client.ScheduleNewWorkflowAsync(nameof(RetryWorkflow), "stored-failure", new FlakyInput(FailTimes: 10, MaxAttempts: 1));
        await r.Client.WaitForWorkflowCompletionAsync("stored-failure", cancellation: Within());

        // Another process's view: the record as stored, so Dapr's failure-details class must come back from its JSON.
        var state = await Runtime.Client().GetWorkflowStateAsync("stored-failure");

        Assert.Equal(WorkflowRuntimeStatus.Failed, state.RuntimeStatus);
        Assert.Equal("Dapr.Workflow.WorkflowTaskFailedException", state.FailureDetails!.ErrorType);
        Assert.Equal("Task failed: boom 1", state.FailureDetails.ErrorMessage);
        Assert.NotNull(state.FailureDetails.StackTrace);
    }

    [Fact]
    public async Task ScheduleNewWorkflow_ExistingInstanceId_ReturnsItWithoutASecondRun()
    {
        var r = Runtime.StartRunner();
        await r.Client.ScheduleNewWorkflowAsync(nameof(ChainWorkflow), "order-42", new ChainInput(3));
        await r.Client.WaitForWorkflowCompletionAsync("order-42", cancellation: Within());

        var again = await r.Client.ScheduleNewWorkflowAsync(nameof(ChainWorkflow), "order-42", new ChainInput(5));
        var state = await r.Client.GetWorkflowStateAsync(again);

        Assert.Equal("order-42", again);
        Assert.Equal(123, state.ReadOutputAs<long>());
        Assert.Equal(3, state.ReadInputAs<ChainInput>()!.Steps);
        Assert.Equal(1, Runtime.Effects.Count("order-42", "step1:start"));
    }

    [Fact]
    public async Task ScheduleNewWorkflow_ConcurrentStartsOfOneId_RunsItOnce()
    {
        var r = Runtime.StartRunner();
        var clients = new[] { r.Client, Runtime.Client(), Runtime.Client() };

        var ids = await Task.WhenAll(Enumerable.Range(0, 12).Select(i =>
            Task.Run(() => clients[i % clients.Length].ScheduleNewWorkflowAsync(nameof(ChainWorkflow), "once", new ChainInput(2)))));
        await r.Client.WaitForWorkflowCompletionAsync("once", cancellation: Within());

        Assert.All(ids, id => Assert.Equal("once", id));
        Assert.Equal(1, Runtime.Effects.Count("once", "step1:start"));
        Assert.Equal(1, Runtime.Effects.Count("once", "step2:start"));
    }

    [Fact]
    public async Task ScheduleNewWorkflow_ExistingIdOfAnotherWorkflow_Throws()
    {
        var client = Runtime.Client();
        await client.ScheduleNewWorkflowAsync(nameof(ChainWorkflow), "taken", new ChainInput(1));

        await Assert.ThrowsAsync<InvalidOperationException>(() => client.ScheduleNewWorkflowAsync(nameof(TimerWorkflow), "taken", 1));
    }

    [Theory]
    [InlineData("")]
    [InlineData("has space")]
    [InlineData("model:v1")]
    public async Task ScheduleNewWorkflow_InvalidInstanceId_Throws(string id)
    {
        await Assert.ThrowsAsync<ArgumentException>(() => Runtime.Client().ScheduleNewWorkflowAsync(nameof(ChainWorkflow), id, new ChainInput(1)));
    }

    [Fact]
    public async Task ScheduleNewWorkflow_NoRunner_StaysPendingUntilOneStarts()
    {
        var client = Runtime.Client();
        await client.ScheduleNewWorkflowAsync(nameof(ChainWorkflow), "later", new ChainInput(2));
        Assert.Equal(WorkflowRuntimeStatus.Pending, (await client.GetWorkflowStateAsync("later")).RuntimeStatus);

        Runtime.StartRunner();
        var state = await client.WaitForWorkflowCompletionAsync("later", cancellation: Within());

        Assert.Equal(12, state.ReadOutputAs<long>());
    }

    [Fact]
    public async Task GetWorkflowState_UnknownId_DoesNotExist()
    {
        var state = await Runtime.Client().GetWorkflowStateAsync("nobody");

        Assert.False(state.Exists);
        Assert.Equal(WorkflowRuntimeStatus.Unknown, state.RuntimeStatus);
    }

    [Fact]
    public async Task RaiseEvent_WhileWaiting_CompletesWithThePayload()
    {
        var r = Runtime.StartRunner();
        var id = await r.Client.ScheduleNewWorkflowAsync(nameof(ApprovalWorkflow), "approve-1", new WaitInput("approval"));
        var waiting = await r.Client.WaitForAsync(id, s => s.ReadCustomStatusAs<string>() == "waiting", Within());
        Assert.Equal(WorkflowRuntimeStatus.Running, waiting.RuntimeStatus);

        await r.Client.RaiseEventAsync(id, "Approval", new Approval("alice", true));
        var state = await r.Client.WaitForWorkflowCompletionAsync(id, cancellation: Within());

        Assert.Equal("approved by alice", state.ReadOutputAs<string>());
    }

    [Fact]
    public async Task RaiseEvent_FromAnotherProcessView_ArrivesWithinThePollInterval()
    {
        var r = Runtime.StartRunner();
        var id = await r.Client.ScheduleNewWorkflowAsync(nameof(ApprovalWorkflow), "approve-2", new WaitInput("approval", TimeoutMs: 10_000));
        await r.Client.WaitForAsync(id, s => s.ReadCustomStatusAs<string>() == "waiting", Within());

        await Runtime.Client().RaiseEventAsync(id, "approval", new Approval("bob", false));
        var state = await r.Client.WaitForWorkflowCompletionAsync(id, cancellation: Within());

        Assert.Equal("rejected by bob", state.ReadOutputAs<string>());
    }

    [Fact]
    public async Task RaiseEvent_BeforeTheWorkflowWaits_IsBufferedInOrder()
    {
        var client = Runtime.Client();
        var id = await client.ScheduleNewWorkflowAsync(nameof(TwoEventsWorkflow), "buffered", "x");
        await client.RaiseEventAsync(id, "note", "first");
        await client.RaiseEventAsync(id, "NOTE", "second");

        var r = Runtime.StartRunner();
        var state = await r.Client.WaitForWorkflowCompletionAsync(id, cancellation: Within());

        Assert.Equal("first,second", state.ReadOutputAs<string>());
    }

    [Fact]
    public async Task WaitForExternalEvent_NoEventWithinTimeout_ThrowsIntoTheWorkflow()
    {
        var r = Runtime.StartRunner();
        var started = DateTimeOffset.UtcNow;
        var id = await r.Client.ScheduleNewWorkflowAsync(nameof(ApprovalWorkflow), "approve-3", new WaitInput("approval", TimeoutMs: 300));
        var state = await r.Client.WaitForWorkflowCompletionAsync(id, cancellation: Within());

        Assert.Equal("timed out", state.ReadOutputAs<string>());
        Assert.True(state.CompletedAt - started >= TimeSpan.FromMilliseconds(300));
    }

    [Fact]
    public async Task RaiseEvent_UnknownInstance_Throws()
    {
        await Assert.ThrowsAsync<WorkflowInstanceNotFoundException>(() => Runtime.Client().RaiseEventAsync("ghost", "approval"));
    }

    [Fact]
    public async Task TerminateWorkflow_Running_EndsTerminatedWithOutputAndPublishes()
    {
        var r = Runtime.StartRunner();
        var id = await r.Client.ScheduleNewWorkflowAsync(nameof(ChainWorkflow), "stop-me", new ChainInput(3, GateAtStep: "hold"));
        await WaitUntil(() => Runtime.Effects.Count(id, "step1:start") == 1);

        await r.Client.TerminateWorkflowAsync(id, "cancelled by operator");
        var state = await r.Client.WaitForWorkflowCompletionAsync(id, cancellation: Within());

        Assert.Equal(WorkflowRuntimeStatus.Terminated, state.RuntimeStatus);
        Assert.Equal("cancelled by operator", state.ReadOutputAs<string>());
        Assert.Equal(0, Runtime.Effects.Count(id, "step1:done"));
        await Eventually(() => Runtime.CountEvents("wf:stop-me:terminated") == 1);
    }

    [Fact]
    public async Task TerminateWorkflow_Pending_NeverRuns()
    {
        var client = Runtime.Client();
        await client.ScheduleNewWorkflowAsync(nameof(ChainWorkflow), "never", new ChainInput(2));
        await client.TerminateWorkflowAsync("never");

        var r = Runtime.StartRunner();
        var state = await r.Client.WaitForWorkflowCompletionAsync("never", cancellation: Within());

        Assert.Equal(WorkflowRuntimeStatus.Terminated, state.RuntimeStatus);
        Assert.Equal(0, Runtime.Effects.Count("never", "step1:start"));
    }

    [Fact]
    public async Task SuspendWorkflow_Running_StartsNothingNewUntilResumed()
    {
        var r = Runtime.StartRunner();
        var id = await r.Client.ScheduleNewWorkflowAsync(nameof(ChainWorkflow), "pause-1", new ChainInput(3, GateAtStep: "g"));
        await WaitUntil(() => Runtime.Effects.Count(id, "step1:start") == 1);

        await r.Client.SuspendWorkflowAsync(id, "maintenance");
        await r.Client.WaitForAsync(id, s => s.RuntimeStatus == WorkflowRuntimeStatus.Suspended, Within());
        Runtime.Effects.Gate($"{id}:g:1").SetResult();
        // Step 1 finishes and is checkpointed, but step 2 must not start while suspended.
        await r.Client.WaitForAsync(id, s => s.Progress.CompletedActivities == 1, Within());
        await Task.Delay(300);
        Assert.Equal(0, Runtime.Effects.Count(id, "step2:start"));
        Assert.Equal(WorkflowRuntimeStatus.Suspended, (await r.Client.GetWorkflowStateAsync(id)).RuntimeStatus);

        await r.Client.ResumeWorkflowAsync(id);
        Runtime.Effects.Gate($"{id}:g:2").SetResult();
        Runtime.Effects.Gate($"{id}:g:3").SetResult();
        var state = await r.Client.WaitForWorkflowCompletionAsync(id, cancellation: Within());

        Assert.Equal(WorkflowRuntimeStatus.Completed, state.RuntimeStatus);
        Assert.Equal(123, state.ReadOutputAs<long>());
    }

    [Fact]
    public async Task PurgeInstance_Completed_DeletesItAndFreesTheId()
    {
        var r = Runtime.StartRunner();
        await r.Client.ScheduleNewWorkflowAsync(nameof(ChainWorkflow), "purge-1", new ChainInput(1));
        await r.Client.WaitForWorkflowCompletionAsync("purge-1", cancellation: Within());

        Assert.True(await r.Client.PurgeInstanceAsync("purge-1"));
        Assert.False((await r.Client.GetWorkflowStateAsync("purge-1")).Exists);
        Assert.Null(await Runtime.Store.GetAsync("workflow:purge-1:inbox"));

        await r.Client.ScheduleNewWorkflowAsync(nameof(ChainWorkflow), "purge-1", new ChainInput(2));
        var state = await r.Client.WaitForWorkflowCompletionAsync("purge-1", cancellation: Within());
        Assert.Equal(12, state.ReadOutputAs<long>());
    }

    [Fact]
    public async Task PurgeInstance_Running_ReturnsFalseAndKeepsIt()
    {
        var client = Runtime.Client();
        await client.ScheduleNewWorkflowAsync(nameof(ChainWorkflow), "purge-2", new ChainInput(1));

        Assert.False(await client.PurgeInstanceAsync("purge-2"));
        Assert.True((await client.GetWorkflowStateAsync("purge-2")).Exists);
        await Assert.ThrowsAsync<WorkflowInstanceNotFoundException>(() => client.PurgeInstanceAsync("ghost"));
    }

    private static async Task WaitUntil(Func<bool> condition) => await Eventually(condition);
}
