using System.Diagnostics;

namespace Platform.BuildingBlocks.PubSub;

/// <summary>
/// Spans of the pub/sub port (<c>Platform.PubSub</c>): a producer span per publish, whose W3C <c>traceparent</c> travels
/// with the event (the CloudEvents distributed-tracing extension, as Dapr carries it), and a consumer span per delivery,
/// parented on it. A trace thereby continues from the publishing request into every handler of the event.
/// </summary>
public static class PubSubTelemetry
{
    public const string SourceName = "Platform.PubSub";

    public static readonly ActivitySource Source = new(SourceName);

    /// <summary>
    /// Starts the publish span (when anyone listens) and returns the trace context the event carries; for a batch of
    /// <paramref name="count"/> events published together (starting with <paramref name="e"/>), one span for all.
    /// </summary>
    public static (Activity? Span, string? TraceParent) StartPublish(OutgoingEvent e, int count = 1)
    {
        var span = Source.StartActivity($"publish {e.Topic}", ActivityKind.Producer);
        span?.SetTag("messaging.system", "platform");
        span?.SetTag("messaging.destination.name", e.Topic);
        if (count == 1) span?.SetTag("messaging.message.id", e.Id);
        else span?.SetTag("messaging.batch.message_count", count);
        var current = span ?? Activity.Current;
        return (span, current is { IdFormat: ActivityIdFormat.W3C } ? current.Id : null);
    }

    /// <summary>Starts the delivery span of <paramref name="e"/> under the publisher's trace, when the event carries one.</summary>
    public static Activity? StartDelivery(CloudEvent e, string appId)
    {
        ActivityContext parent = default;
        if (e.TraceParent is { Length: > 0 } traceParent) ActivityContext.TryParse(traceParent, null, out parent);
        var span = Source.StartActivity($"process {e.Topic}", ActivityKind.Consumer, parent);
        span?.SetTag("messaging.system", "platform");
        span?.SetTag("messaging.destination.name", e.Topic);
        span?.SetTag("messaging.consumer.group.name", appId);
        span?.SetTag("messaging.message.id", e.Id);
        return span;
    }

    /// <summary>Starts the delivery span of a batch, linked to the trace of every event that carries one.</summary>
    public static Activity? StartBatchDelivery(IReadOnlyList<CloudEvent> events, string appId)
    {
        if (events.Count == 1) return StartDelivery(events[0], appId);
        if (!Source.HasListeners()) return null;
        var links = new List<ActivityLink>();
        foreach (var e in events)
            if (e.TraceParent is { Length: > 0 } traceParent && ActivityContext.TryParse(traceParent, null, out var context))
                links.Add(new ActivityLink(context));
        var span = Source.StartActivity(ActivityKind.Consumer, links: links, name: $"process {events[0].Topic}");
        span?.SetTag("messaging.system", "platform");
        span?.SetTag("messaging.destination.name", events[0].Topic);
        span?.SetTag("messaging.consumer.group.name", appId);
        span?.SetTag("messaging.batch.message_count", events.Count);
        return span;
    }
}
