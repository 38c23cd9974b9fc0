using Platform.BuildingBlocks.State;
using Platform.Contracts;

namespace Platform.Workflows;

/// <summary>How many instances of one workflow may run at once, in total and per caller, and the configuration keys that set them.</summary>
public sealed record RunLimits(int MaxConcurrent, string MaxConcurrentKey, int MaxConcurrentPerCaller, string MaxConcurrentPerCallerKey)
{
    /// <summary>The limits of a configuration section's <c>MaxConcurrentRuns</c> and <c>MaxConcurrentRunsPerCaller</c>.</summary>
    public static RunLimits OfSection(string section, int maxConcurrentRuns, int maxConcurrentRunsPerCaller) =>
        new(maxConcurrentRuns, section + ":MaxConcurrentRuns", maxConcurrentRunsPerCaller, section + ":MaxConcurrentRunsPerCaller");
}

/// <summary>Why a run was not started: the limit reached (its configuration key), its configured value, and a sentence for the caller.</summary>
public sealed record RunRefusal(string Limit, int Value, string Detail);

/// <summary>A run as its API shows it: the instance, who started it, and who cancelled it (recorded by <see cref="WorkflowRuns.CancelAsync"/>).</summary>
public sealed record AdmittedRun(WorkflowState State, string? Owner, string? Cancellation)
{
    /// <summary>Why the run did not complete: the failure's message, or for a terminated run the cancellation.</summary>
    public string? Error => State.FailureDetails?.ErrorMessage
        ?? (State.RuntimeStatus == WorkflowRuntimeStatus.Terminated ? Cancellation ?? State.ReadOutputAs<string>() : null);
}

/// <summary>
/// Starts user-requested runs under concurrency limits and remembers who started each. The runs a workflow has
/// admitted are listed in one document of the app's state store (<c>workflow-runs:{name}</c>), written with its ETag,
/// so replicas sharing the store count the same runs; an entry leaves the list once its instance has finished (checked
/// at the next admission), so a run that crashed or was cancelled frees its slot without a hook. A caller's runs count
/// against the per-caller limit, every run against the total. The owner is stored under <c>workflow-owner:{id}</c>
/// before the instance is scheduled, so a run is never visible without it. It works on the workflow port
/// (<see cref="IWorkflowClient"/>), so it behaves the same on the embedded runner and on Dapr's engine.
/// </summary>
public sealed class WorkflowRuns
{
    /// <summary>An admitted entry whose instance does not exist yet is kept this long (it is being scheduled).</summary>
    private static readonly TimeSpan SchedulingGrace = TimeSpan.FromMinutes(1);
    private const int MaxAttempts = 20;

    /// <summary>One admission at a time per store and list in this process (see <see cref="AdmitAsync"/>).</summary>
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, SemaphoreSlim> Gates = new();

    private readonly IStateStore _store;
    private readonly IWorkflowClient _client;
    private readonly TimeProvider _clock;

    /// <param name="stores">The app's stores; the list and owners go to <paramref name="stateStoreName"/>, whichever engine runs the instances.</param>
    public WorkflowRuns(IStateStoreProvider stores, string stateStoreName, IWorkflowClient client, TimeProvider? clock = null)
    {
        _store = stores.Get(stateStoreName);
        _client = client;
        _clock = clock ?? TimeProvider.System;
    }

    private sealed record Admitted(string Id, string? Owner, DateTimeOffset At);

    /// <summary>Who started the run and when; who cancelled it, kept here because an engine need not keep a terminated instance's output.</summary>
    private sealed record OwnerRecord(string? Owner, DateTimeOffset At, string? Cancellation = null);

    /// <summary>
    /// Schedules <paramref name="workflow"/> as <paramref name="instanceId"/> for <paramref name="owner"/> (null: the
    /// platform itself) unless a limit is reached; returns the refusal when one is.
    /// </summary>
    public async Task<RunRefusal?> StartAsync(string workflow, string instanceId, object? input, string? owner, RunLimits limits, CancellationToken ct)
    {
        if (await AdmitAsync(workflow, instanceId, owner, limits, ct) is { } refusal) return refusal;
        var saved = await _store.SaveAsync(OwnerKey(instanceId), new OwnerRecord(owner, _clock.GetUtcNow()), null, ct);
        if (saved != StateOutcome.Ok) throw new StateStoreException($"Could not record the owner of run '{instanceId}': {saved}.");
        await _client.ScheduleNewWorkflowAsync(workflow, instanceId, input, ct);
        return null;
    }

    /// <summary>
    /// Adds the run to the workflow's list unless a limit is reached. ETags make admissions from replicas safe once the list
    /// exists, but not its creation: a list first written without an ETag is last-write-wins, so two first admissions
    /// could both succeed. Within a process (the embedded platform, several runners in one host) admissions to one list
    /// are therefore taken one at a time; across processes only the first admission of a workflow on a fresh store is exposed.
    /// </summary>
    private async Task<RunRefusal?> AdmitAsync(string workflow, string instanceId, string? owner, RunLimits limits, CancellationToken ct)
    {
        var key = "workflow-runs:" + workflow;
        var gate = Gates.GetOrAdd(_store.Name + "|" + key, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(ct);
        try
        {
            for (var attempt = 1; ; attempt++)
            {
                var (listed, etag) = await _store.GetWithETagAsync<List<Admitted>>(key, ct);
                var running = new List<Admitted>();
                foreach (var run in listed ?? [])
                    if (await StillRunningAsync(run, ct)) running.Add(run);
                if (running.Count >= limits.MaxConcurrent)
                    return new RunRefusal(limits.MaxConcurrentKey, limits.MaxConcurrent,
                        $"{running.Count} {workflow} runs are running; at most {limits.MaxConcurrent} may run at once ({limits.MaxConcurrentKey}). Try again when one has finished.");
                var mine = running.Count(r => r.Owner == owner);
                if (mine >= limits.MaxConcurrentPerCaller)
                    return new RunRefusal(limits.MaxConcurrentPerCallerKey, limits.MaxConcurrentPerCaller,
                        $"You have {mine} {workflow} runs running; at most {limits.MaxConcurrentPerCaller} per caller ({limits.MaxConcurrentPerCallerKey}). Wait for one to finish or cancel it with DELETE.");
                running.Add(new Admitted(instanceId, owner, _clock.GetUtcNow()));
                if (await _store.SaveAsync(key, running, etag, ct) == StateOutcome.Ok) return null;
                if (attempt >= MaxAttempts) throw new StateStoreException($"Gave up admitting a {workflow} run after {attempt} conflicts.", "CONFLICT");
                await Task.Delay(Random.Shared.Next(1, 10 * attempt), ct);
            }
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>
    /// The run <paramref name="instanceId"/> of <paramref name="workflow"/> with its owner, or null when there is none or
    /// <paramref name="caller"/> may not see it (<see cref="Caller.MaySee"/>): the same answer, so a 404 tells nothing.
    /// </summary>
    public async Task<AdmittedRun?> FindVisibleAsync(string instanceId, string workflow, Caller? caller, CancellationToken ct)
    {
        WorkflowState state;
        try
        {
            state = await _client.GetWorkflowStateAsync(instanceId, getInputsAndOutputs: true, ct);
        }
        catch (ArgumentException)
        {
            return null; // not a valid instance id: no such run
        }
        if (!state.Exists || state.Name != workflow) return null;
        var owner = await _store.GetAsync<OwnerRecord>(OwnerKey(instanceId), ct);
        return Caller.MaySee(caller, owner?.Owner) ? new AdmittedRun(state, owner?.Owner, owner?.Cancellation) : null;
    }

    /// <summary>
    /// Cancels a running instance of <paramref name="run"/> for <paramref name="caller"/> (terminated with the reason, not
    /// resumed after a restart) and waits up to <paramref name="wait"/> for it to stop; returns the run then and whether it has stopped.
    /// </summary>
    public async Task<(AdmittedRun Run, bool Stopped)> CancelAsync(AdmittedRun run, Caller? caller, TimeSpan wait, CancellationToken ct)
    {
        var instanceId = run.State.InstanceId;
        var reason = $"Cancelled by {caller?.Id ?? "the platform"}.";
        var owner = await _store.GetAsync<OwnerRecord>(OwnerKey(instanceId), ct) ?? new OwnerRecord(run.Owner, _clock.GetUtcNow());
        var saved = await _store.SaveAsync(OwnerKey(instanceId), owner with { Cancellation = reason }, null, ct);
        if (saved != StateOutcome.Ok) throw new StateStoreException($"Could not record the cancellation of run '{instanceId}': {saved}.");
        await _client.TerminateWorkflowAsync(instanceId, reason, ct);
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(ct);
        bound.CancelAfter(wait);
        try
        {
            return (run with { State = await _client.WaitForWorkflowCompletionAsync(instanceId, cancellation: bound.Token), Cancellation = reason }, true);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return (run with { State = await _client.GetWorkflowStateAsync(instanceId, getInputsAndOutputs: true, ct), Cancellation = reason }, false);
        }
    }

    /// <summary>Who started the run: null for a run the platform started itself, or one started before owners were recorded.</summary>
    public async Task<string?> GetOwnerAsync(string instanceId, CancellationToken ct) =>
        (await _store.GetAsync<OwnerRecord>(OwnerKey(instanceId), ct))?.Owner;

    private async Task<bool> StillRunningAsync(Admitted run, CancellationToken ct)
    {
        var state = await _client.GetWorkflowStateAsync(run.Id, getInputsAndOutputs: false, ct);
        return state.Exists ? !state.RuntimeStatus.IsTerminal() : _clock.GetUtcNow() - run.At < SchedulingGrace;
    }

    private static string OwnerKey(string instanceId) => "workflow-owner:" + instanceId;
}
