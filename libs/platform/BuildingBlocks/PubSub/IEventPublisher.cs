using Platform.BuildingBlocks.State;
using Platform.Contracts;

namespace Platform.BuildingBlocks.PubSub;

/// <summary>
/// The publish port. A call that returns has been accepted durably (embedded: committed to the log;
/// Dapr: accepted by the broker). Invalid events, unknown topics and payloads over the limit are refused
/// with <see cref="PublishRefusedException"/> before anything is written.
/// </summary>
public interface IEventPublisher
{
    Task PublishAsync(OutgoingEvent e, CancellationToken ct = default);

    /// <summary>
    /// Publishes many events, each as <see cref="PublishAsync"/> would (same ids, types, partition keys). Every event is
    /// validated before any is sent. An adapter may send them in bulk; when it throws, some may have been accepted:
    /// publish the batch again (consumers dedupe on the id). By default, one <see cref="PublishAsync"/> per event.
    /// </summary>
    async Task PublishManyAsync(IReadOnlyList<OutgoingEvent> events, CancellationToken ct = default)
    {
        foreach (var e in events) await PublishAsync(e, ct);
    }
}

public sealed class PublishRefusedException(string message) : Exception(message);

public static class EventPublisherExtensions
{
    /// <summary>Publishes a contract event: its topic, business-key id, partition key, and its type name as the CloudEvent type.</summary>
    public static Task PublishAsync<T>(this IEventPublisher publisher, T e, CancellationToken ct = default) where T : IIntegrationEvent =>
        publisher.PublishAsync(ToOutgoing(e), ct);

    /// <summary>
    /// The contract event as published: the state JSON of <paramref name="e"/>, written through the checking writer
    /// (<see cref="JsonPayload"/>), so publishing does not read it through again.
    /// </summary>
    public static OutgoingEvent ToOutgoing<T>(T e) where T : IIntegrationEvent =>
        new(e.Topic, e.EventId, typeof(T).Name,
            JsonPayload.Write(e, static (writer, e) => System.Text.Json.JsonSerializer.Serialize(writer, e, StateStoreExtensions.Json)), e.PartitionKey);
}

/// <summary>Publish limits and the topic allow-list, shared by both adapters.</summary>
public sealed class PubSubOptions
{
    /// <summary>Largest payload accepted at publish (Kafka's default message size).</summary>
    public int MaxPayloadBytes { get; set; } = 1024 * 1024;

    /// <summary>Topics that may be published; empty allows every topic.</summary>
    public HashSet<string> AllowedTopics { get; } = new(StringComparer.Ordinal);

    /// <summary>Attempts before a failing event is dead-lettered.</summary>
    public int MaxDeliveryAttempts { get; set; } = 5;

    public TimeSpan InitialBackoff { get; set; } = TimeSpan.FromMilliseconds(100);
    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Back-off before attempt <paramref name="attempt"/> + 1: exponential, doubling, capped.</summary>
    public TimeSpan Backoff(int attempt)
    {
        var ms = InitialBackoff.TotalMilliseconds * Math.Pow(2, Math.Max(0, attempt - 1));
        return TimeSpan.FromMilliseconds(Math.Min(ms, MaxBackoff.TotalMilliseconds));
    }

    /// <summary>Refuses an event that no adapter should send: empty id or type, unknown topic, payload too large, or data that is not JSON.</summary>
    public void Validate(OutgoingEvent e)
    {
        if (string.IsNullOrWhiteSpace(e.Topic)) throw new PublishRefusedException("An event needs a topic.");
        if (string.IsNullOrWhiteSpace(e.Id)) throw new PublishRefusedException($"An event on '{e.Topic}' needs an id (its business key).");
        if (string.IsNullOrWhiteSpace(e.Type)) throw new PublishRefusedException($"Event '{e.Id}' needs a type.");
        if (AllowedTopics.Count > 0 && !AllowedTopics.Contains(e.Topic))
            throw new PublishRefusedException($"Unknown topic '{e.Topic}'. Known topics: {string.Join(", ", AllowedTopics.Order(StringComparer.Ordinal))}.");
        if (e.Data.Length > MaxPayloadBytes)
            throw new PublishRefusedException($"Event '{e.Id}' is {e.Data.Length} bytes, over the {MaxPayloadBytes}-byte limit for '{e.Topic}'.");
        // A payload written through a checking JSON writer is one complete value already.
        if (JsonPayload.IsCheckedJson(e.Data)) return;
        try
        {
            // One complete JSON value, read through without building a document (no allocation per event).
            var reader = new System.Text.Json.Utf8JsonReader(e.Data.Span);
            while (reader.Read()) { }
        }
        catch (System.Text.Json.JsonException ex)
        {
            throw new PublishRefusedException($"Event '{e.Id}' on '{e.Topic}' is not valid JSON: {ex.Message}");
        }
    }

    /// <summary>The platform's topics and their dead-letter topics.</summary>
    public static IEnumerable<string> PlatformTopics()
    {
        string[] topics = [Topics.MarketBars, Topics.MarketFeatures, Topics.ModelRegistered, Topics.ModelPromoted,
            Topics.Predictions, Topics.DriftDetected, Topics.WorkflowEvents];
        return topics.Concat(topics.Select(Topics.DeadLetter));
    }
}
