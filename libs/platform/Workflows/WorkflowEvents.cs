using Dapr.Workflow;
using Platform.Contracts;

namespace Platform.Workflows;

/// <summary>
/// Published on <c>workflow-events</c> when an instance ends (completed, failed or terminated), so a workflow
/// can be followed through pub/sub. The CloudEvent id is <c>wf:{instanceId}:{status}</c> (status in lower case);
/// it may be delivered more than once, like any event.
/// </summary>
public sealed record WorkflowStatusChanged(
    string InstanceId, string WorkflowName, WorkflowRuntimeStatus RuntimeStatus, DateTimeOffset At,
    string? SerializedOutput, WorkflowTaskFailureDetails? FailureDetails) : IIntegrationEvent
{
    public const string TopicName = Topics.WorkflowEvents;
    public const int SchemaVersion = 1;
    public string EventId => $"wf:{InstanceId}:{RuntimeStatus.ToString().ToLowerInvariant()}";
    public string Topic => TopicName;
    public string? PartitionKey => InstanceId;
}
