using Dapr.Client.Autogen.Grpc.v1;
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

    /// <summary>
    /// Bulk publish (<c>BulkPublishEvent</c>, one call per topic) through the generated stub: the SDK's
    /// <c>BulkPublishEventAsync</c> gives every entry the same metadata, and each event's <c>cloudevent.id</c> is its own
    /// business key. A sidecar without the method (<c>Unimplemented</c>, daprd before it was stable) gets one publish per
    /// event. Entries the broker refused throw <see cref="DaprApiException"/> naming their ids.
    /// </summary>
    public async Task PublishManyAsync(IReadOnlyList<OutgoingEvent> events, CancellationToken ct = default)
    {
        foreach (var e in events) pubSubOptions.Validate(e);
        var pubSub = calls.Options.PubSubName;
        foreach (var topic in events.GroupBy(e => e.Topic, StringComparer.Ordinal))
        {
            var batch = topic.ToList();
            var request = new BulkPublishRequest { PubsubName = pubSub, Topic = topic.Key };
            for (var i = 0; i < batch.Count; i++)
            {
                var entry = new BulkPublishRequestEntry
                {
                    EntryId = i.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    Event = Google.Protobuf.ByteString.CopyFrom(batch[i].Data.Span),
                    ContentType = JsonContentType,
                };
                entry.Metadata.Add(Metadata(batch[i]));
                request.Entries.Add(entry);
            }
            BulkPublishResponse response;
            try
            {
                response = await calls.RunAsync(DaprCalls.Kind.Write, $"Bulk publish of {batch.Count} events to '{pubSub}/{topic.Key}'",
                    async (_, t) => await calls.Stub.BulkPublishEventAsync(request, calls.StubHeaders, cancellationToken: t), ct);
            }
            catch (DaprApiException ex) when (ex.Status == StatusCode.Unimplemented)
            {
                foreach (var e in batch) await PublishAsync(e, ct);
                continue;
            }
            catch (DaprApiException ex) when (ex.Status == StatusCode.PermissionDenied)
            {
                throw new PublishRefusedException(ex.Message + " (the pub/sub component's publishingScopes/allowedTopics refuse it)");
            }
            if (response.FailedEntries.Count > 0)
            {
                var failed = response.FailedEntries.Select(f => $"{batch[int.Parse(f.EntryId, System.Globalization.CultureInfo.InvariantCulture)].Id} ({f.Error})");
                throw new DaprApiException($"Bulk publish to '{pubSub}/{topic.Key}': {response.FailedEntries.Count} of {batch.Count} events refused: " +
                    string.Join(", ", failed), StatusCode.Internal, "BULK_PUBLISH_PARTIAL");
            }
        }
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
