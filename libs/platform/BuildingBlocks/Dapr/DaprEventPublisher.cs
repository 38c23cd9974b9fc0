using Grpc.Core;
using Platform.BuildingBlocks.PubSub;

namespace Platform.BuildingBlocks.Dapr;

/// <summary>
/// The publish port on <c>DaprClient.PublishByteEventAsync</c> (gRPC). The payload goes as <c>application/json</c>, so the
/// sidecar embeds it as the CloudEvent's <c>data</c>; metadata <c>cloudevent.id</c> (the business key) and
/// <c>cloudevent.type</c> override the generated envelope fields, and <c>partitionKey</c> keeps one key's events in order
/// on Kafka. The adapter sends each publish once; the sidecar's outbound pub/sub resiliency policy retries the broker.
/// </summary>
public sealed class DaprEventPublisher(DaprCalls calls, PubSubOptions pubSubOptions) : IEventPublisher
{
    public const string JsonContentType = "application/json";

    public static Dictionary<string, string> Metadata(OutgoingEvent e)
    {
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal) { ["cloudevent.id"] = e.Id, ["cloudevent.type"] = e.Type };
        if (!string.IsNullOrEmpty(e.PartitionKey)) metadata["partitionKey"] = e.PartitionKey;
        return metadata;
    }

    public async Task PublishAsync(OutgoingEvent e, CancellationToken ct = default)
    {
        pubSubOptions.Validate(e);
        var pubSub = calls.Options.PubSubName;
        try
        {
            await calls.RunAsync(DaprCalls.Kind.Write, $"Publish of '{e.Id}' to '{pubSub}/{e.Topic}'",
                (c, t) => c.PublishByteEventAsync(pubSub, e.Topic, e.Data, JsonContentType, Metadata(e), t), ct);
        }
        catch (DaprApiException ex) when (ex.Status == StatusCode.PermissionDenied)
        {
            // Nothing was written: the component's scopes forbid this app to publish on the topic.
            throw new PublishRefusedException(ex.Message + " (the pub/sub component's publishingScopes/allowedTopics refuse it)");
        }
    }
}
