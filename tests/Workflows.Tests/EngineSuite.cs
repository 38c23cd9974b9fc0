using Dapr.Workflow;

namespace Platform.Workflows.Tests;

/// <summary>
/// The workflow behaviours both engines must share, run on the same Dapr.Workflow classes: the embedded runner
/// (<see cref="EmbeddedEngineSuite"/>) and Dapr's worker against the in-memory DurableTask sidecar (<see cref="DaprEngineSuite"/>).
/// Where the two differed, the embedded runner was made to follow Dapr; what stays different is in docs/workflows.md.
/// </summary>
public abstract class EngineSuite : IAsyncLifetime
{
    protected abstract IWorkflowEngine CreateEngine();

    private IWorkflowEngine _engine = null!;
    private IWorkflowEngine Engine => _engine;
    private Effects Effects => _engine.Effects;

    public static void Register(WorkflowRuntimeOptions o)
    {
        TestWorkflows.Register(o);
        o.RegisterWorkflow<PatchOnlyWorkflow>();
        o.RegisterWorkflow<UnknownActivityWorkflow>();
        o.RegisterWorkflow<GuidWorkflow>();
        o.RegisterWorkflow<ThrowingWorkflow>();
        o.RegisterActivity<Echo>();
        o.RegisterWorkflow<PublishingWorkflow>();
        o.RegisterStatusPublishing();
    }

    public async Task InitializeAsync()
    {
        _engine = CreateEngine();
        await _engine.StartAsync(Register);
    }

    public Task DisposeAsync() => _engine.DisposeAsync().AsTask();

    [Fact]
    public async Task Chain_FiveActivities_EachResultFedToTheNextAndEachStepRunsOnce()
    {
        var id = await Engine.ScheduleAsync(nameof(ChainWorkflow), "chain-1", new ChainInput(5));
        var state = await Engine.WaitForCompletionAsync(id);

        Assert.Equal(WorkflowRuntimeStatus.Completed, state.Status);
        Assert.Equal(12345, state.Output<long>());
        for (var step = 1; step <= 5; step++) Assert.Equal(1, Effects.Count(id, $"step{step}:done"));
    }

    [Fact]
    public async Task SetCustomStatus_LastValueIsVisibleToTheClient()
    {
        var id = await Engine.ScheduleAsync(nameof(ChainWorkflow), "status-1", new ChainInput(3));
        var state = await Engine.WaitForCompletionAsync(id);

        Assert.Equal(3, state.CustomStatus<StepStatus>()!.Step);
    }

    [Fact]
    public async Task RetryPolicy_FailsTwiceThenSucceeds_CompletesOnTheThirdAttempt()
    {
        var id = await Engine.ScheduleAsync(nameof(RetryWorkflow), "retry-1", new FlakyInput(FailTimes: 2, MaxAttempts: 3, FirstRetryMs: 100));
        var state = await Engine.WaitForCompletionAsync(id);

        Assert.Equal(WorkflowRuntimeStatus.Completed, state.Status);
        Assert.Equal("ok after 3", state.Output<string>());
        var times = Effects.Times(id, "attempt");
        Assert.Equal(3, times.Count);
        // Backoff 2.0 from 100 ms: about 100 ms, then 200 ms between attempts.
        Assert.True(times[2] - times[0] >= TimeSpan.FromMilliseconds(280), $"attempts {string.Join(", ", times.Select(t => t.ToString("HH:mm:ss.fff")))}");
    }

    [Fact]
    public async Task RetryPolicy_FailsEveryAttempt_WorkflowFailsWithTheTaskFailedException()
    {
        var id = await Engine.ScheduleAsync(nameof(RetryWorkflow), "fail-1", new FlakyInput(FailTimes: 10, MaxAttempts: 3));
        var state = await Engine.WaitForCompletionAsync(id);

        Assert.Equal(WorkflowRuntimeStatus.Failed, state.Status);
        Assert.Equal(typeof(WorkflowTaskFailedException).FullName, state.FailureType);
        Assert.Equal("Task failed: boom 3", state.FailureMessage);
        Assert.Equal(3, Effects.Count(id, "attempt"));
    }

    [Fact]
    public async Task TaskFailed_CaughtByTheWorkflow_CarriesTheActivityErrorTypeAndMessage()
    {
        var id = await Engine.ScheduleAsync(nameof(CatchingWorkflow), "catch-1", new FlakyInput(FailTimes: 10, MaxAttempts: 2));
        var state = await Engine.WaitForCompletionAsync(id);

        Assert.Equal(WorkflowRuntimeStatus.Completed, state.Status);
        Assert.Equal("handled System.InvalidOperationException: boom 2", state.Output<string>());
    }

    [Fact]
    public async Task Workflow_Throws_FailsWithTheExceptionTypeAndMessage()
    {
        var id = await Engine.ScheduleAsync(nameof(ThrowingWorkflow), "throw-1", "bad input");
        var state = await Engine.WaitForCompletionAsync(id);

        Assert.Equal(WorkflowRuntimeStatus.Failed, state.Status);
        Assert.Equal(typeof(ArgumentException).FullName, state.FailureType);
        Assert.Equal("bad input", state.FailureMessage);
    }

    [Fact]
    public async Task CallActivity_NotRegistered_FailsTheWorkflowNamingTheActivity()
    {
        var id = await Engine.ScheduleAsync(nameof(UnknownActivityWorkflow), "unknown-1", null);
        var state = await Engine.WaitForCompletionAsync(id);

        Assert.Equal(WorkflowRuntimeStatus.Failed, state.Status);
        Assert.Contains("NoSuchActivity", state.FailureMessage);
    }

    [Fact]
    public async Task ExternalEvent_RaisedWhileWaiting_CompletesWithThePayload()
    {
        var id = await Engine.ScheduleAsync(nameof(ApprovalWorkflow), "approve-1", new WaitInput("approval"));
        await Engine.WaitForAsync(id, s => s.Status == WorkflowRuntimeStatus.Running && s.CustomStatus<string>() == "waiting");
        await Engine.RaiseEventAsync(id, "Approval", new Approval("ann", true));
        var state = await Engine.WaitForCompletionAsync(id);

        Assert.Equal("approved by ann", state.Output<string>());
    }

    [Fact]
    public async Task ExternalEvent_NoneWithinTheTimeout_ThrowsTaskCanceledIntoTheWorkflow()
    {
        var id = await Engine.ScheduleAsync(nameof(ApprovalWorkflow), "approve-2", new WaitInput("approval", TimeoutMs: 300));
        var state = await Engine.WaitForCompletionAsync(id);

        Assert.Equal(WorkflowRuntimeStatus.Completed, state.Status);
        Assert.Equal("timed out", state.Output<string>());
    }

    [Fact]
    public async Task ExternalEvent_ArrivesBeforeTheTimeout_TimerDoesNotFire()
    {
        var id = await Engine.ScheduleAsync(nameof(ApprovalWorkflow), "approve-3", new WaitInput("approval", TimeoutMs: 10_000));
        await Engine.WaitForAsync(id, s => s.CustomStatus<string>() == "waiting");
        await Engine.RaiseEventAsync(id, "approval", new Approval("bob", false));
        var state = await Engine.WaitForCompletionAsync(id, seconds: 5);

        Assert.Equal("rejected by bob", state.Output<string>());
    }

    [Fact]
    public async Task ExternalEvents_RaisedBeforeTheWorkflowWaits_AreBufferedInOrder()
    {
        var id = await Engine.ScheduleAsync(nameof(TwoEventsWorkflow), "events-1", "x");
        await Engine.RaiseEventAsync(id, "note", "first");
        await Engine.RaiseEventAsync(id, "note", "second");
        var state = await Engine.WaitForCompletionAsync(id);

        Assert.Equal("first,second", state.Output<string>());
    }

    [Fact]
    public async Task CreateTimer_BetweenTwoActivities_SecondRunsAfterTheDelay()
    {
        var id = await Engine.ScheduleAsync(nameof(TimerWorkflow), "timer-1", 600);
        var state = await Engine.WaitForCompletionAsync(id);

        Assert.Equal(12, state.Output<long>());
        var first = Effects.Times(id, "step1:done").Single();
        var second = Effects.Times(id, "step2:start").Single();
        Assert.True(second - first >= TimeSpan.FromMilliseconds(550), $"timer took {(second - first).TotalMilliseconds} ms");
    }

    [Fact]
    public async Task FanOut_ThreeParallelActivitiesThenOne_CombinesTheirResults()
    {
        var id = await Engine.ScheduleAsync(nameof(FanOutWorkflow), "fan-1", 100);
        var state = await Engine.WaitForCompletionAsync(id);

        Assert.Equal(64, state.Output<long>());
        // The branches ran in parallel: the slowest (300 ms) started before the fastest finished.
        Assert.True(Effects.Times(id, "step1:start").Single() < Effects.Times(id, "step3:done").Single());
    }

    [Fact]
    public async Task Terminate_WaitingInstance_EndsTerminated()
    {
        var id = await Engine.ScheduleAsync(nameof(ApprovalWorkflow), "term-1", new WaitInput("approval"));
        await Engine.WaitForAsync(id, s => s.CustomStatus<string>() == "waiting");
        await Engine.TerminateAsync(id, "stopped");
        var state = await Engine.WaitForCompletionAsync(id);

        Assert.Equal(WorkflowRuntimeStatus.Terminated, state.Status);
    }

    [Fact]
    public async Task SuspendAndResume_EventRaisedWhileSuspended_IsDeliveredAfterResume()
    {
        var id = await Engine.ScheduleAsync(nameof(ApprovalWorkflow), "suspend-1", new WaitInput("approval"));
        await Engine.WaitForAsync(id, s => s.CustomStatus<string>() == "waiting");
        await Engine.SuspendAsync(id);
        await Engine.WaitForAsync(id, s => s.Status == WorkflowRuntimeStatus.Suspended);
        await Engine.RaiseEventAsync(id, "approval", new Approval("cy", true));
        await Task.Delay(300);
        Assert.Equal(WorkflowRuntimeStatus.Suspended, (await Engine.GetStateAsync(id)).Status);

        await Engine.ResumeAsync(id);
        var state = await Engine.WaitForCompletionAsync(id);
        Assert.Equal("approved by cy", state.Output<string>());
    }

    [Fact]
    public async Task IsPatched_NewInstance_TakesThePatchedPath()
    {
        // Replays of a patched instance are in VersioningTests (embedded runner): the in-memory DurableTask sidecar cannot
        // record Dapr's patches, so on the Dapr leg only a first turn is meaningful.
        var id = await Engine.ScheduleAsync(nameof(PatchOnlyWorkflow), "patched-1", 0);
        var state = await Engine.WaitForCompletionAsync(id);

        Assert.Equal("new path", state.Output<string>());
    }

    [Fact]
    public async Task NewGuid_SameOnReplay_DistinctWithinAnInstance()
    {
        var id = await Engine.ScheduleAsync(nameof(GuidWorkflow), "guid-1", 0);
        var state = await Engine.WaitForCompletionAsync(id);

        var guids = state.Output<string[]>()!;
        // Drawn before and after an activity (so the second half comes from a replay on Dapr's worker) and compared there.
        Assert.Equal(2, guids.Length);
        Assert.NotEqual(guids[0], guids[1]);
        Assert.Equal(1, Effects.Count(id, "echo:guid:stable-check"));
    }

    [Fact]
    public async Task GetState_UnknownInstance_DoesNotExist()
    {
        var state = await Engine.GetStateAsync("no-such-instance");

        Assert.False(state.Exists);
    }

    [Fact]
    public async Task PortScheduleNew_ExistingInstanceId_ReturnsItAndRunsNothingAgain()
    {
        var id = await Engine.Port.ScheduleNewWorkflowAsync(nameof(ChainWorkflow), "port-again", new ChainInput(2));
        var done = await Engine.Port.WaitForWorkflowCompletionAsync(id);

        Assert.Equal("port-again", await Engine.Port.ScheduleNewWorkflowAsync(nameof(ChainWorkflow), id, new ChainInput(2)));
        var state = await Engine.Port.GetWorkflowStateAsync(id);
        Assert.Equal(WorkflowRuntimeStatus.Completed, state.RuntimeStatus);
        Assert.Equal(nameof(ChainWorkflow), state.Name);
        Assert.Equal(12, state.ReadOutputAs<long>());
        Assert.Equal(done.CreatedAt, state.CreatedAt);
        Assert.Equal(1, Effects.Count(id, "step1:done"));
    }

    [Fact]
    public async Task Port_UnregisteredWorkflowBadIdOrUnknownInstance_AnswersAsThePortSays()
    {
        await Assert.ThrowsAsync<ArgumentException>(() => Engine.Port.ScheduleNewWorkflowAsync("NoSuchWorkflow", "port-unregistered"));
        await Assert.ThrowsAsync<ArgumentException>(() => Engine.Port.ScheduleNewWorkflowAsync(nameof(ChainWorkflow), "not an id!", new ChainInput(1)));
        await Assert.ThrowsAsync<ArgumentException>(() => Engine.Port.GetWorkflowStateAsync("not an id!"));
        Assert.False((await Engine.Port.GetWorkflowStateAsync("port-unregistered")).Exists);
        await Assert.ThrowsAsync<WorkflowInstanceNotFoundException>(() => Engine.Port.WaitForWorkflowCompletionAsync("no-such-instance"));
    }

    [Fact]
    public async Task PublishingStatus_BodyReturns_CompletedPublishedOnce()
    {
        var id = await Engine.ScheduleAsync(nameof(PublishingWorkflow), "publishing-ok", false);
        var state = await Engine.WaitForCompletionAsync(id);

        Assert.Equal(WorkflowRuntimeStatus.Completed, state.Status);
        await Engine.WaitForAsync(id, _ => Engine.CountEvents($"wf:{id}:completed") > 0);
        Assert.Equal(1, Engine.CountEvents($"wf:{id}:completed"));
        Assert.Equal(0, Engine.CountEvents($"wf:{id}:failed"));
    }

    [Fact]
    public async Task PublishingStatus_BodyThrows_FailedPublishedOnceAndTheInstanceFails()
    {
        var id = await Engine.ScheduleAsync(nameof(PublishingWorkflow), "publishing-fails", true);
        var state = await Engine.WaitForCompletionAsync(id);

        Assert.Equal(WorkflowRuntimeStatus.Failed, state.Status);
        Assert.Equal(typeof(InvalidOperationException).FullName, state.FailureType);
        await Engine.WaitForAsync(id, _ => Engine.CountEvents($"wf:{id}:failed") > 0);
        Assert.Equal(1, Engine.CountEvents($"wf:{id}:failed"));
        Assert.Equal(0, Engine.CountEvents($"wf:{id}:completed"));
    }
}

/// <summary>An activity, then a throw when asked, with its end published on either engine (<see cref="WorkflowStatusEvents"/>).</summary>
public sealed class PublishingWorkflow : Workflow<bool, string>
{
    public override Task<string> RunAsync(WorkflowContext context, bool fail) =>
        context.PublishingStatusAsync(async () =>
        {
            var echoed = await context.CallActivityAsync<string>(nameof(Echo), new EchoInput("publishing"));
            if (fail) throw new InvalidOperationException("asked to fail");
            return echoed;
        });
}

public sealed class EmbeddedEngineSuite : EngineSuite
{
    protected override IWorkflowEngine CreateEngine() => new EmbeddedEngine();
}

public sealed class DaprEngineSuite : EngineSuite
{
    protected override IWorkflowEngine CreateEngine() => new DaprEngine();
}

public sealed record StepStatus(int Step);

/// <summary>Asks for a patch on its first turn and ends there.</summary>
public sealed class PatchOnlyWorkflow : Workflow<int, string>
{
    public override Task<string> RunAsync(WorkflowContext context, int input) =>
        Task.FromResult(context.IsPatched("new-path") ? "new path" : "old path");
}

/// <summary>Throws an <see cref="ArgumentException"/> with its input as the message.</summary>
public sealed class ThrowingWorkflow : Workflow<string, string>
{
    public override Task<string> RunAsync(WorkflowContext context, string input) => throw new ArgumentException(input);
}

/// <summary>Draws a GUID, runs an activity, draws another; on every replay the first must come out the same.</summary>
public sealed class GuidWorkflow : Workflow<int, string[]>
{
    public override async Task<string[]> RunAsync(WorkflowContext context, int input)
    {
        var first = context.NewGuid();
        var seen = await context.CallActivityAsync<string>(nameof(Echo), new EchoInput(first.ToString()));
        var second = context.NewGuid();
        if (seen == first.ToString())
            await context.CallActivityAsync<string>(nameof(Echo), new EchoInput("guid:stable-check"));
        return [first.ToString(), second.ToString()];
    }
}
