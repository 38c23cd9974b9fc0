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

    /// <summary>Starts the publish span (when anyone listens) and returns the trace context the event carries.</summary>
    public static (Activity? Span, string? TraceParent) StartPublish(OutgoingEvent e)
    {
        var span = Source.StartActivity($"publish {e.Topic}", ActivityKind.Producer);
        span?.SetTag("messaging.system", "platform");
        span?.SetTag("messaging.destination.name", e.Topic);
        span?.SetTag("messaging.message.id", e.Id);
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
}
