using System.Text.Json;
using Dapr.Workflow;
using Grpc.Core;
using DaprWorkflowState = Dapr.Workflow.WorkflowState;

namespace Platform.Workflows;

/// <summary>
/// The workflow port on Dapr's workflow engine (<see cref="DaprWorkflowClient"/>, the sidecar's workflow API). It keeps the
/// port's rules where Dapr's client differs: an id Dapr would refuse and a workflow this app does not register are
/// <see cref="ArgumentException"/>s before anything is sent; scheduling an id that exists returns it (Dapr refuses the
/// second create); a state is never null (<see cref="WorkflowState.Exists"/> false for an unknown id). Dapr reports no
/// completion time, so a finished instance's <see cref="WorkflowState.CompletedAt"/> is its last update. Every call but
/// the wait for completion is bounded by <paramref name="callTimeout"/> (10 s unless given): gRPC waits for a sidecar that
/// does not answer, and a request must not; past it, or when there is no sidecar, the call fails with
/// <see cref="WorkflowEngineUnavailableException"/>.
/// </summary>
public sealed class DaprEngineWorkflowClient(DaprWorkflowClient client, WorkflowRegistry registry, TimeSpan? callTimeout = null) : IWorkflowClient
{
    public const string EngineName = "dapr";
    private readonly TimeSpan _callTimeout = callTimeout ?? TimeSpan.FromSeconds(10);

    public string Engine => EngineName;

    public async Task<string> ScheduleNewWorkflowAsync(string name, string? instanceId = null, object? input = null, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (!registry.HasWorkflow(name))
            throw new ArgumentException($"Workflow '{name}' is not registered. Registered: {string.Join(", ", registry.Workflows.Order())}.", nameof(name));
        instanceId ??= Guid.NewGuid().ToString("N");
        WorkflowStore.ValidateInstanceId(instanceId);
        if (await ExistingAsync(name, instanceId, cancellation)) return instanceId;
        try
        {
            return await BoundedAsync(ct => client.ScheduleNewWorkflowAsync(name, instanceId, input, null, ct), cancellation);
        }
        catch (RpcException)
        {
            if (await ExistingAsync(name, instanceId, cancellation)) return instanceId; // another caller created it meanwhile
            throw;
        }
    }

    public async Task<WorkflowState> GetWorkflowStateAsync(string instanceId, bool getInputsAndOutputs = true, CancellationToken cancellation = default)
    {
        WorkflowStore.ValidateInstanceId(instanceId);
        return StateOf(instanceId, await BoundedAsync(ct => client.GetWorkflowStateAsync(instanceId, getInputsAndOutputs, ct), cancellation));
    }

    public async Task<WorkflowState> WaitForWorkflowCompletionAsync(string instanceId, bool getInputsAndOutputs = true, CancellationToken cancellation = default)
    {
        if (!(await GetWorkflowStateAsync(instanceId, false, cancellation)).Exists) throw new WorkflowInstanceNotFoundException(instanceId);
        return StateOf(instanceId, await client.WaitForWorkflowCompletionAsync(instanceId, getInputsAndOutputs, cancellation));
    }

    public Task RaiseEventAsync(string instanceId, string eventName, object? eventPayload = null, CancellationToken cancellation = default)
    {
        WorkflowStore.ValidateInstanceId(instanceId);
        return BoundedAsync(ct => client.RaiseEventAsync(instanceId, eventName, eventPayload, ct), cancellation);
    }

    public Task TerminateWorkflowAsync(string instanceId, object? output = null, CancellationToken cancellation = default)
    {
        WorkflowStore.ValidateInstanceId(instanceId);
        return BoundedAsync(ct => client.TerminateWorkflowAsync(instanceId, output, ct), cancellation);
    }

    public Task<bool> PurgeInstanceAsync(string instanceId, CancellationToken cancellation = default)
    {
        WorkflowStore.ValidateInstanceId(instanceId);
        return BoundedAsync(ct => client.PurgeInstanceAsync(instanceId, ct), cancellation);
    }

    /// <summary>Whether <paramref name="instanceId"/> exists; an instance of another workflow under that id is an error, as on the embedded runner.</summary>
    private async Task<bool> ExistingAsync(string name, string instanceId, CancellationToken ct)
    {
        var existing = await BoundedAsync(c => client.GetWorkflowStateAsync(instanceId, false, c), ct);
        if (existing is not { Exists: true }) return false;
        if (!string.Equals(existing.WorkflowName, name, StringComparison.OrdinalIgnoreCase))
            throw new InvalidOperationException($"Instance '{instanceId}' exists and runs workflow '{existing.WorkflowName}', not '{name}'.");
        return true;
    }

    private Task BoundedAsync(Func<CancellationToken, Task> call, CancellationToken cancellation) =>
        BoundedAsync(async ct => { await call(ct); return true; }, cancellation);

    /// <summary>
    /// Runs one call to the sidecar within the call timeout. A sidecar that does not answer (no connection, or no answer
    /// in time) is a <see cref="WorkflowEngineUnavailableException"/>; the caller's own cancellation stays a cancellation.
    /// </summary>
    private async Task<T> BoundedAsync<T>(Func<CancellationToken, Task<T>> call, CancellationToken cancellation)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        timeout.CancelAfter(_callTimeout);
        try
        {
            return await call(timeout.Token);
        }
        catch (RpcException ex) when (ex.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded)
        {
            throw new WorkflowEngineUnavailableException($"The sidecar's workflow API did not answer ({ex.StatusCode}).", ex);
        }
        catch (Exception ex) when (ex is OperationCanceledException or RpcException { StatusCode: StatusCode.Cancelled }
                                   && timeout.IsCancellationRequested && !cancellation.IsCancellationRequested)
        {
            throw new WorkflowEngineUnavailableException($"The sidecar's workflow API did not answer within {_callTimeout.TotalSeconds:0.#} s.", ex);
        }
    }

    private static WorkflowState StateOf(string instanceId, DaprWorkflowState? state)
    {
        if (state is not { Exists: true }) return new WorkflowState(null);
        var status = Enum.Parse<WorkflowRuntimeStatus>(state.RuntimeStatus.ToString());
        return new WorkflowState(new InstanceRecord
        {
            InstanceId = instanceId,
            Name = state.WorkflowName ?? "",
            Status = status,
            Input = Json(state.ReadInputAs<JsonElement>()),
            Output = Json(state.ReadOutputAs<JsonElement>()),
            CustomStatus = Json(state.ReadCustomStatusAs<JsonElement>()),
            Failure = state.FailureDetails,
            CreatedAt = state.CreatedAt,
            LastUpdatedAt = state.LastUpdatedAt,
            CompletedAt = status.IsTerminal() ? state.LastUpdatedAt : null,
        });
    }

    private static string? Json(JsonElement value) => value.ValueKind == JsonValueKind.Undefined ? null : value.GetRawText();
}
