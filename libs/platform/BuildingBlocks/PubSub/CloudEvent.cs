using System.Text.Json;
using Platform.BuildingBlocks.State;

namespace Platform.BuildingBlocks.PubSub;

/// <summary>
/// A delivered event in CloudEvents 1.0 shape. <see cref="Id"/> is the publisher's business key, so a
/// redelivery carries the same id. <see cref="Data"/> holds the JSON payload. <see cref="TraceParent"/> is the
/// publisher's W3C trace context (the CloudEvents <c>traceparent</c> extension), when it had one.
/// </summary>
public sealed record CloudEvent(
    string Id, string Source, string Type, string Topic, string PubSubName,
    DateTimeOffset Time, string DataContentType, ReadOnlyMemory<byte> Data, string? TraceParent = null)
{
    public T DataAs<T>() =>
        JsonSerializer.Deserialize<T>(Data.Span, StateStoreExtensions.Json)
        ?? throw new JsonException($"Event {Id} carries null data.");
}

/// <summary>An event to publish. The adapter wraps it as a CloudEvent with <see cref="Id"/> as the id.</summary>
public sealed record OutgoingEvent(string Topic, string Id, string Type, ReadOnlyMemory<byte> Data, string? PartitionKey = null);

/// <summary>What a handler tells the bus, with Dapr's meanings.</summary>
public enum DeliveryResult
{
    /// <summary>Processed (or deliberately ignored): do not deliver again.</summary>
    Success,
    /// <summary>Failed for now: deliver again after a back-off, up to the attempt limit, then dead-letter.</summary>
    Retry,
    /// <summary>Poison message: never retry; move it to the dead-letter topic.</summary>
    Drop,
}
