using System.Text;
using System.Text.Json;
using Platform.BuildingBlocks.PubSub;

namespace Platform.BuildingBlocks.Dapr;

/// <summary>One entry of a bulk delivery: its id, and the event it carries or why it cannot be read.</summary>
internal sealed record BulkEntry(string EntryId, CloudEvent? Event, string Reason);

/// <summary>
/// A bulk delivery as daprd sends it to a <c>bulkSubscribe</c> route (§3.6): a plain JSON body
/// <c>{ "id", "type": "com.dapr.event.sent.bulk", "topic", "pubsubname", "metadata", "entries": [{ "entryId", "event",
/// "contentType", "metadata" }] }</c>. An enveloped message's <c>event</c> is the whole CloudEvent (a JSON object); a raw
/// payload's is its bytes in base64. Each entry is read as the single-event route reads one delivery, so an entry that
/// cannot be read is a poison message of its own and the rest of the delivery is still handled.
/// </summary>
internal sealed record BulkDelivery(IReadOnlyList<BulkEntry> Entries)
{
    /// <summary>The delivery's entries, or null when <paramref name="body"/> is not a bulk envelope.</summary>
    public static BulkDelivery? TryRead(byte[] body, Subscription subscription)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body);
        }
        catch (JsonException)
        {
            return null;
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String || type.GetString() != DaprAppEndpoints.BulkEventType
                || !root.TryGetProperty("entries", out var entries) || entries.ValueKind != JsonValueKind.Array)
                return null;
            var read = new List<BulkEntry>(entries.GetArrayLength());
            foreach (var entry in entries.EnumerateArray()) read.Add(ReadEntry(entry, subscription));
            return new BulkDelivery(read);
        }
    }

    private static BulkEntry ReadEntry(JsonElement entry, Subscription subscription)
    {
        var entryId = entry.ValueKind == JsonValueKind.Object && entry.TryGetProperty("entryId", out var id) && id.ValueKind == JsonValueKind.String
            ? id.GetString()!
            : "";
        if (entryId.Length == 0) return new BulkEntry("", null, "the entry has no entryId");
        if (!entry.TryGetProperty("event", out var e)) return new BulkEntry(entryId, null, "the entry has no event");
        if (e.ValueKind == JsonValueKind.String) return ReadRaw(entryId, e, subscription);
        if (e.ValueKind != JsonValueKind.Object) return new BulkEntry(entryId, null, $"the entry's event is a JSON {e.ValueKind}, neither a CloudEvent nor base64 data");

        if (Text(e, "id") is not { } eventId) return new BulkEntry(entryId, null, "the CloudEvent has no id");
        if (Text(e, "datacontenttype") is { } dataType && !IsJson(dataType))
            return new BulkEntry(entryId, null, $"unsupported data content type '{dataType}' of {eventId} (expected application/json)");
        byte[] data;
        if (e.TryGetProperty("data", out var json))
        {
            data = Encoding.UTF8.GetBytes(json.GetRawText());
        }
        else if (e.TryGetProperty("data_base64", out var base64) && base64.ValueKind == JsonValueKind.String && base64.TryGetBytesFromBase64(out var decoded))
        {
            data = decoded;
            if (DaprAppEndpoints.NotJson(data) is { } why) return new BulkEntry(entryId, null, $"the data of {eventId} is not JSON: {why}");
        }
        else
        {
            return new BulkEntry(entryId, null, $"the CloudEvent {eventId} has no data");
        }
        var (read, reason) = DaprAppEndpoints.Enveloped(eventId, Text(e, "type"), Text(e, "source"), Text(e, "topic"), Text(e, "time"), data, subscription);
        return new BulkEntry(entryId, read, reason);
    }

    /// <summary>A raw payload (no envelope): its bytes in base64, read as the single-event route reads a raw delivery.</summary>
    private static BulkEntry ReadRaw(string entryId, JsonElement e, Subscription subscription)
    {
        if (!e.TryGetBytesFromBase64(out var data)) return new BulkEntry(entryId, null, "the entry's event is a string but not base64");
        if (DaprAppEndpoints.NotJson(data) is { } why) return new BulkEntry(entryId, null, "the data is not JSON: " + why);
        return new BulkEntry(entryId, DaprAppEndpoints.RawEvent(data, subscription), "");
    }

    private static string? Text(JsonElement e, string name) =>
        e.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static bool IsJson(string contentType) =>
        Microsoft.Net.Http.Headers.MediaTypeHeaderValue.TryParse(contentType, out var parsed)
        && string.Equals(parsed.MediaType.Value, "application/json", StringComparison.OrdinalIgnoreCase);
}
