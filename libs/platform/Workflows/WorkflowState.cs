using Dapr.Workflow;
using System.Text.Json.Serialization;

namespace Platform.Workflows;

/// <summary>Dapr's runtime statuses. Terminal: Completed, Failed, Terminated.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<WorkflowRuntimeStatus>))]
public enum WorkflowRuntimeStatus
{
    Unknown,
    Pending,
    Running,
    Suspended,
    Completed,
    Failed,
    Terminated,
}

/// <summary>How far an instance got: activities whose results are checkpointed, and the last of them.</summary>
public sealed record WorkflowProgress(int CompletedActivities, string? LastActivity);

/// <summary>
/// A snapshot of an instance, shaped like Dapr's <c>WorkflowState</c>: <see cref="Exists"/> is false for an unknown
/// id. Input, output and custom status are JSON; read them typed with the <c>Read…As</c> methods.
/// </summary>
public sealed class WorkflowState
{
    private readonly InstanceRecord? _record;

    internal WorkflowState(InstanceRecord? record) => _record = record;

    public bool Exists => _record is not null;
    public string InstanceId => _record?.InstanceId ?? "";
    public string Name => _record?.Name ?? "";
    /// <summary>The version of the definition that started the instance.</summary>
    public string? Version => _record?.Version;
    public WorkflowRuntimeStatus RuntimeStatus => _record?.Status ?? WorkflowRuntimeStatus.Unknown;
    public DateTimeOffset CreatedAt => _record?.CreatedAt ?? default;
    public DateTimeOffset LastUpdatedAt => _record?.LastUpdatedAt ?? default;
    public DateTimeOffset? CompletedAt => _record?.CompletedAt;
    public WorkflowTaskFailureDetails? FailureDetails => _record?.Failure;
    /// <summary>Activities checkpointed so far, from the embedded runner's history; empty on Dapr's engine (read the custom status there).</summary>
    public WorkflowProgress Progress => _record?.Progress() ?? new WorkflowProgress(0, null);

    public bool IsWorkflowRunning => RuntimeStatus is WorkflowRuntimeStatus.Running;
    public bool IsWorkflowCompleted => RuntimeStatus.IsTerminal();

    public string? SerializedInput => _record?.Input;
    public string? SerializedOutput => _record?.Output;
    public string? SerializedCustomStatus => _record?.CustomStatus;

    public T? ReadInputAs<T>() => WorkflowJson.Deserialize<T>(SerializedInput);
    public T? ReadOutputAs<T>() => WorkflowJson.Deserialize<T>(SerializedOutput);
    public T? ReadCustomStatusAs<T>() => WorkflowJson.Deserialize<T>(SerializedCustomStatus);

    public override string ToString() => Exists ? $"{Name}/{InstanceId}: {RuntimeStatus}" : "(no instance)";
}

public static class WorkflowRuntimeStatusExtensions
{
    public static bool IsTerminal(this WorkflowRuntimeStatus status) =>
        status is WorkflowRuntimeStatus.Completed or WorkflowRuntimeStatus.Failed or WorkflowRuntimeStatus.Terminated;
}
