using Platform.BuildingBlocks.State;

namespace Platform.Workflows;

/// <summary>
/// The embedded runner's adapter of the workflow port (<see cref="IWorkflowClient"/>): starts and manages instances in the
/// runner's records, with Dapr's <c>DaprWorkflowClient</c> names. Instance ids are business
/// keys: starting an id that exists returns it without a second run. Terminate, suspend, resume and events are
/// requests the instance's runner applies (at once in this process, within the poll interval from another).
/// </summary>
public sealed class WorkflowClient : IWorkflowClient
{
    public const string EngineName = "embedded";

    private readonly WorkflowStore _store;
    private readonly WorkflowRunnerOptions _options;
    private readonly WorkflowSignals _signals;

    public WorkflowClient(IStateStore store, WorkflowRunnerOptions options, WorkflowSignals signals, TimeProvider? clock = null)
    {
        _store = new WorkflowStore(store, clock ?? TimeProvider.System);
        _options = options;
        _signals = signals;
    }

    public string Engine => EngineName;

    /// <summary>
    /// Schedules <paramref name="name"/> as instance <paramref name="instanceId"/> (a new GUID when null) and returns the id.
    /// If the id exists (running or finished, until purged) nothing new starts and the existing id is returned.
    /// </summary>
    public async Task<string> ScheduleNewWorkflowAsync(string name, string? instanceId = null, object? input = null, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (_options.Registry.Workflows.Any() && !_options.Registry.HasWorkflow(name))
            throw new ArgumentException(
                $"Workflow '{name}' is not registered. Registered: {string.Join(", ", _options.Registry.Workflows.Order())}.", nameof(name));
        instanceId ??= Guid.NewGuid().ToString("N");
        WorkflowStore.ValidateInstanceId(instanceId);
        var (created, record) = await _store.CreateAsync(name, _options.VersionOf(name), instanceId, WorkflowJson.Serialize(input));
        if (!created && record.Name != name)
            throw new InvalidOperationException($"Instance '{instanceId}' exists and runs workflow '{record.Name}', not '{name}'.");
        if (created)
        {
            _signals.Reset(instanceId);
            _signals.Started(instanceId);
        }
        return instanceId;
    }

    /// <summary>The instance's state; <see cref="WorkflowState.Exists"/> is false for an unknown id, an id no instance may have is an <see cref="ArgumentException"/>.</summary>
    public async Task<WorkflowState> GetWorkflowStateAsync(string instanceId, bool getInputsAndOutputs = true, CancellationToken cancellation = default)
    {
        WorkflowStore.ValidateInstanceId(instanceId);
        var (record, _) = await _store.GetRecordAsync(instanceId, cancellation);
        if (record is not null && !getInputsAndOutputs)
        {
            record.History.Clear();
        }
        return new WorkflowState(record);
    }

    /// <summary>Waits until the instance has left Pending.</summary>
    public Task<WorkflowState> WaitForWorkflowStartAsync(string instanceId, bool getInputsAndOutputs = true, CancellationToken cancellation = default) =>
        WaitForAsync(instanceId, s => s.RuntimeStatus != WorkflowRuntimeStatus.Pending, s => s != WorkflowRuntimeStatus.Pending, cancellation);

    /// <summary>Waits until the instance is Completed, Failed or Terminated.</summary>
    public Task<WorkflowState> WaitForWorkflowCompletionAsync(string instanceId, bool getInputsAndOutputs = true, CancellationToken cancellation = default) =>
        WaitForAsync(instanceId, s => s.IsWorkflowCompleted, s => s.IsTerminal(), cancellation);

    /// <summary>Waits until <paramref name="condition"/> holds for the instance's state (a status, a custom status, progress).</summary>
    public Task<WorkflowState> WaitForAsync(string instanceId, Func<WorkflowState, bool> condition, CancellationToken cancellation = default) =>
        WaitForAsync(instanceId, condition, null, cancellation);

    /// <summary>
    /// Reads the state at each change this process sees (or each poll interval for changes made elsewhere);
    /// <paramref name="worthReading"/> skips reads for changes to a status that cannot satisfy the condition.
    /// </summary>
    private async Task<WorkflowState> WaitForAsync(
        string instanceId, Func<WorkflowState, bool> condition, Func<WorkflowRuntimeStatus, bool>? worthReading, CancellationToken cancellation)
    {
        while (true)
        {
            var change = _signals.NextChange(instanceId);
            var state = await GetWorkflowStateAsync(instanceId, true, cancellation);
            if (!state.Exists) throw new WorkflowInstanceNotFoundException(instanceId);
            if (condition(state))
            {
                if (state.IsWorkflowCompleted) _signals.Forget(instanceId);
                return state;
            }
            var poll = Task.Delay(_options.PollInterval, cancellation);
            while (true)
            {
                if (await Task.WhenAny(change, poll) != change) break;
                var (status, written) = change.Result;
                if (worthReading is null) break;
                if (worthReading(status))
                {
                    // The runner of this process passed the record it wrote: no need to read it back.
                    var seen = new WorkflowState(StateStoreExtensions.Deserialize<InstanceRecord>(written));
                    // Only for this incarnation of the id (not one purged and started again meanwhile).
                    if (seen.CreatedAt == state.CreatedAt && condition(seen))
                    {
                        if (seen.IsWorkflowCompleted) _signals.Forget(instanceId);
                        return seen;
                    }
                    break;
                }
                change = _signals.NextChange(instanceId);
            }
            cancellation.ThrowIfCancellationRequested();
        }
    }

    /// <summary>Delivers an event to the instance (buffered until it waits for that name). Ignored once the instance has finished.</summary>
    public Task RaiseEventAsync(string instanceId, string eventName, object? eventPayload = null, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(eventName);
        return SendAsync(instanceId, InboxKind.Event, eventName, WorkflowJson.Serialize(eventPayload), cancellation);
    }

    /// <summary>Ends the instance as Terminated with <paramref name="output"/>; running activities are asked to stop through their token, and their results are discarded.</summary>
    public Task TerminateWorkflowAsync(string instanceId, object? output = null, CancellationToken cancellation = default) =>
        SendAsync(instanceId, InboxKind.Terminate, null, WorkflowJson.Serialize(output), cancellation);

    /// <summary>Pauses the instance: running activities finish, but their results are applied and new work starts only after resume.</summary>
    public Task SuspendWorkflowAsync(string instanceId, string? reason = null, CancellationToken cancellation = default) =>
        SendAsync(instanceId, InboxKind.Suspend, reason, null, cancellation);

    public Task ResumeWorkflowAsync(string instanceId, string? reason = null, CancellationToken cancellation = default) =>
        SendAsync(instanceId, InboxKind.Resume, reason, null, cancellation);

    /// <summary>Deletes a finished instance and its history, freeing its id. Returns false when it has not finished.</summary>
    public async Task<bool> PurgeInstanceAsync(string instanceId, CancellationToken cancellation = default)
    {
        var purged = await _store.PurgeAsync(instanceId, cancellation);
        if (purged) _signals.Reset(instanceId);
        return purged;
    }

    private async Task SendAsync(string instanceId, InboxKind kind, string? name, string? payload, CancellationToken ct)
    {
        if (await _store.AppendInboxAsync(instanceId, kind, name, payload, ct)) _signals.Signal(instanceId);
    }
}
