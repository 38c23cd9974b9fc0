using System.Net;
using System.Text;
using Platform.BuildingBlocks.PubSub;

namespace Platform.BuildingBlocks.Dapr;

/// <summary>
/// The publish port over <c>POST /v1.0/publish/{pubsub}/{topic}</c> (§3.1). The payload goes as
/// <c>application/json</c>, so the sidecar embeds it as the CloudEvent's <c>data</c>; the business-key id and the
/// event type override the generated envelope fields, and the partition key keeps one symbol's events in order on Kafka.
/// </summary>
public sealed class DaprEventPublisher(DaprSidecarClient client, PubSubOptions pubSubOptions) : IEventPublisher
{
    public async Task PublishAsync(OutgoingEvent e, CancellationToken ct = default)
    {
        pubSubOptions.Validate(e);
        var path = new StringBuilder("v1.0/publish/")
            .Append(DaprSidecarClient.Escape(client.Options.PubSubName)).Append('/').Append(DaprSidecarClient.Escape(e.Topic))
            .Append("?metadata.cloudevent.id=").Append(DaprSidecarClient.Escape(e.Id))
            .Append("&metadata.cloudevent.type=").Append(DaprSidecarClient.Escape(e.Type));
        if (!string.IsNullOrEmpty(e.PartitionKey)) path.Append("&metadata.partitionKey=").Append(DaprSidecarClient.Escape(e.PartitionKey));

        using var response = await client.SendAsync(new(HttpMethod.Post, path.ToString(), e.Data), DaprRetry.ConnectFailuresOnly, ct);
        if (response.StatusCode == HttpStatusCode.NoContent) return;
        var (code, message) = await DaprSidecarClient.ReadErrorAsync(response, ct);
        var what = $"Publish of '{e.Id}' to '{client.Options.PubSubName}/{e.Topic}'";
        throw response.StatusCode switch
        {
            // Nothing was written: the component's scopes forbid this app to publish on the topic.
            HttpStatusCode.Forbidden => new PublishRefusedException(
                DaprSidecarClient.Describe(what, response.StatusCode, code, message) + " (the pub/sub component's publishingScopes/allowedTopics refuse it)"),
            HttpStatusCode.NotFound => new DaprApiException(
                DaprSidecarClient.Describe(what, response.StatusCode, code, message) + " (no such pub/sub component loaded by the sidecar, or an empty topic)",
                (int)response.StatusCode, code),
            HttpStatusCode.BadRequest => new DaprApiException(
                DaprSidecarClient.Describe(what, response.StatusCode, code, message) + " (pub/sub not configured or metadata refused)",
                (int)response.StatusCode, code),
            HttpStatusCode.InternalServerError => new DaprApiException(
                DaprSidecarClient.Describe(what, response.StatusCode, code, message) + " (the broker did not accept the message; it may be retried)",
                (int)response.StatusCode, code),
            _ => new DaprApiException(DaprSidecarClient.Describe(what, response.StatusCode, code, message), (int)response.StatusCode, code),
        };
    }
}
