using Dapr.Workflow;
using Platform.BuildingBlocks.PubSub;
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

/// <summary>
/// <see cref="WorkflowStatusChanged"/> on either engine. The embedded runner publishes it itself when an instance ends.
/// Dapr's engine publishes nothing, so a workflow whose end others follow runs its body through
/// <see cref="PublishingStatusAsync{TOutput}"/>: under Dapr's engine it publishes <c>completed</c> from a last activity
/// and, when the body throws, <c>failed</c> (then rethrows, so the instance still fails), with the event ids the runner
/// uses. A terminated instance runs no more workflow code, so under Dapr's engine nothing publishes <c>terminated</c>.
/// </summary>
public static class WorkflowStatusEvents
{
    private static readonly WorkflowTaskOptions PublishRetry = new(new WorkflowRetryPolicy(
        maxNumberOfAttempts: 5, firstRetryInterval: TimeSpan.FromSeconds(1), backoffCoefficient: 2));

    /// <summary>Runs <paramref name="body"/> and, on an engine that does not publish instance ends, publishes its outcome.</summary>
    public static async Task<TOutput> PublishingStatusAsync<TOutput>(this WorkflowContext context, Func<Task<TOutput>> body)
    {
        if (context is OrchestrationContext) return await body(); // the embedded runner publishes the end itself
        TOutput output;
        try
        {
            output = await body();
        }
        catch (Exception ex)
        {
            var failure = Failures.Of(ex);
            await PublishAsync(context, WorkflowRuntimeStatus.Failed, null, failure.ErrorType, failure.ErrorMessage);
            throw;
        }
        await PublishAsync(context, WorkflowRuntimeStatus.Completed, WorkflowJson.Serialize(output), null, null);
        return output;
    }

    /// <summary>Adds the publishing activity to a service's registrations (Dapr's engine only: the embedded runner never calls it).</summary>
    public static void RegisterStatusPublishing(this WorkflowRuntimeOptions options) => options.RegisterActivity<PublishWorkflowStatusActivity>();

    private static Task PublishAsync(WorkflowContext context, WorkflowRuntimeStatus status, string? output, string? errorType, string? errorMessage) =>
        context.CallActivityAsync<bool>(nameof(PublishWorkflowStatusActivity), new WorkflowStatusReport(context.InstanceId, context.Name, status,
            new DateTimeOffset(context.CurrentUtcDateTime, TimeSpan.Zero), output, errorType, errorMessage), PublishRetry);
}

/// <summary>How an instance ended, as the workflow reports it to <see cref="PublishWorkflowStatusActivity"/>.</summary>
public sealed record WorkflowStatusReport(string InstanceId, string WorkflowName, WorkflowRuntimeStatus Status, DateTimeOffset At,
    string? SerializedOutput, string? ErrorType, string? ErrorMessage);

/// <summary>Publishes <see cref="WorkflowStatusChanged"/> for a workflow on Dapr's engine; a repeat publishes the same event id.</summary>
public sealed class PublishWorkflowStatusActivity(IEventPublisher publisher) : WorkflowActivity<WorkflowStatusReport, bool>
{
    public override async Task<bool> RunAsync(WorkflowActivityContext context, WorkflowStatusReport input)
    {
        var failure = input.ErrorType is null ? null : new WorkflowTaskFailureDetails(input.ErrorType, input.ErrorMessage ?? "", null);
        await publisher.PublishAsync(new WorkflowStatusChanged(input.InstanceId, input.WorkflowName, input.Status, input.At,
            input.SerializedOutput, failure), context.CancellationToken);
        WorkflowMetrics.RunEnded(input.WorkflowName, input.Status);
        return true;
    }
}

/// <summary>
/// <c>workflows.runs.ended</c> (Prometheus: <c>workflows_runs_ended_total{workflow,status}</c>): counted by the embedded
/// runner when an instance ends, and on Dapr's engine when <see cref="PublishWorkflowStatusActivity"/> has published an end.
/// </summary>
internal static class WorkflowMetrics
{
    private static readonly System.Diagnostics.Metrics.Meter Meter = new("Platform.Workflows");
    private static readonly System.Diagnostics.Metrics.Counter<long> Ended = Meter.CreateCounter<long>("workflows.runs.ended", "{run}",
        "Workflow instances that reached a terminal status, by workflow and status (completed, failed, terminated).");

    public static void RunEnded(string workflow, WorkflowRuntimeStatus status) =>
        Ended.Add(1, new KeyValuePair<string, object?>("workflow", workflow), new KeyValuePair<string, object?>("status", status.ToString().ToLowerInvariant()));
}
