using System.Text.Json;
using Platform.BuildingBlocks.State;

namespace Platform.Workflows;

/// <summary>
/// A workflow (orchestrator) function, as in Dapr Workflow. <see cref="RunAsync"/> is replayed from the start
/// after a restart, with recorded results standing in for completed activities, so it must be deterministic:
/// no wall clock (use <see cref="WorkflowContext.CurrentUtcDateTime"/>), no random ids (<see cref="WorkflowContext.NewGuid"/>),
/// no I/O, no <c>Task.Run</c>, <c>Task.Delay</c> or <c>ConfigureAwait(false)</c>; await only what the context returns.
/// </summary>
public abstract class Workflow<TInput, TOutput> : IWorkflow
{
    public abstract Task<TOutput> RunAsync(WorkflowContext context, TInput input);

    Type IWorkflow.InputType => typeof(TInput);

    async Task<object?> IWorkflow.RunAsync(WorkflowContext context, object? input) => await RunAsync(context, (TInput)input!);
}

/// <summary>
/// One step of a workflow. An activity may run more than once (a retry, or a process killed before its result
/// was checkpointed), so it must be idempotent; once its result is checkpointed it never runs again for that call.
/// </summary>
public abstract class WorkflowActivity<TInput, TOutput> : IWorkflowActivity
{
    public abstract Task<TOutput> RunAsync(WorkflowActivityContext context, TInput input);

    Type IWorkflowActivity.InputType => typeof(TInput);

    async Task<object?> IWorkflowActivity.RunAsync(WorkflowActivityContext context, object? input) => await RunAsync(context, (TInput)input!);
}

public interface IWorkflow
{
    Type InputType { get; }
    Task<object?> RunAsync(WorkflowContext context, object? input);
}

public interface IWorkflowActivity
{
    Type InputType { get; }
    Task<object?> RunAsync(WorkflowActivityContext context, object? input);
}

/// <summary>What an activity knows about its call. <see cref="CancellationToken"/> fires on its timeout, on terminate and on shutdown.</summary>
public sealed record WorkflowActivityContext(string Name, string InstanceId, int TaskId, int Attempt, CancellationToken CancellationToken);

/// <summary>Options of one activity call: retries (Dapr's <c>WorkflowTaskOptions</c>) and a per-attempt timeout.</summary>
public sealed record WorkflowTaskOptions(WorkflowRetryPolicy? RetryPolicy = null, TimeSpan? Timeout = null);

/// <summary>
/// Dapr's retry policy: up to <paramref name="maxNumberOfAttempts"/> attempts; the wait before attempt n+1 is
/// <paramref name="firstRetryInterval"/> × <paramref name="backoffCoefficient"/>^(n-1), capped at <paramref name="maxRetryInterval"/>;
/// no new attempt starts once <paramref name="retryTimeout"/> has passed since the first.
/// </summary>
public sealed class WorkflowRetryPolicy(
    int maxNumberOfAttempts, TimeSpan firstRetryInterval, double backoffCoefficient = 1.0,
    TimeSpan? maxRetryInterval = null, TimeSpan? retryTimeout = null)
{
    public int MaxNumberOfAttempts { get; } = maxNumberOfAttempts >= 1 ? maxNumberOfAttempts : throw new ArgumentOutOfRangeException(nameof(maxNumberOfAttempts));
    public TimeSpan FirstRetryInterval { get; } = firstRetryInterval;
    public double BackoffCoefficient { get; } = backoffCoefficient >= 1.0 ? backoffCoefficient : throw new ArgumentOutOfRangeException(nameof(backoffCoefficient));
    public TimeSpan MaxRetryInterval { get; } = maxRetryInterval ?? TimeSpan.FromHours(1);
    public TimeSpan RetryTimeout { get; } = retryTimeout ?? Timeout.InfiniteTimeSpan;

    /// <summary>The wait after failed attempt <paramref name="attempt"/> (1-based).</summary>
    public TimeSpan DelayAfter(int attempt)
    {
        var ms = FirstRetryInterval.TotalMilliseconds * Math.Pow(BackoffCoefficient, attempt - 1);
        return TimeSpan.FromMilliseconds(Math.Min(ms, MaxRetryInterval.TotalMilliseconds));
    }
}

/// <summary>Why a task or workflow failed, as Dapr reports it.</summary>
public sealed record WorkflowTaskFailureDetails(string ErrorType, string ErrorMessage, string? StackTrace = null)
{
    public bool IsCausedBy<T>() where T : Exception =>
        ErrorType == typeof(T).FullName || Type.GetType(ErrorType) is { } t && typeof(T).IsAssignableFrom(t);

    internal static WorkflowTaskFailureDetails From(Exception ex) =>
        ex is WorkflowTaskFailedException failed
            ? failed.FailureDetails
            : new(ex.GetType().FullName ?? ex.GetType().Name, ex.Message, ex.StackTrace);
}

/// <summary>Thrown into the workflow when an activity failed all its attempts.</summary>
public sealed class WorkflowTaskFailedException(string message, WorkflowTaskFailureDetails failureDetails) : Exception(message)
{
    public WorkflowTaskFailureDetails FailureDetails { get; } = failureDetails;
}

/// <summary>The workflow's code did not take the same path on replay as when its history was recorded.</summary>
public sealed class NonDeterministicWorkflowException(string message) : Exception(message);

public sealed class WorkflowInstanceNotFoundException(string instanceId)
    : Exception($"No workflow instance '{instanceId}'.")
{
    public string InstanceId { get; } = instanceId;
}

internal static class WorkflowJson
{
    public static JsonSerializerOptions Options => StateStoreExtensions.Json;

    public static string? Serialize(object? value) =>
        value is null ? null : JsonSerializer.Serialize(value, value.GetType(), Options);

    public static object? Deserialize(string? json, Type type) =>
        json is null ? null : JsonSerializer.Deserialize(json, type, Options);

    public static T? Deserialize<T>(string? json) => json is null ? default : JsonSerializer.Deserialize<T>(json, Options);
}
