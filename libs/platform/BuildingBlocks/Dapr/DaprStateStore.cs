using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;
using Platform.BuildingBlocks.State;

namespace Platform.BuildingBlocks.Dapr;

/// <summary>One state store per Dapr state component; the component's keyPrefix is applied by the sidecar (§2.9).</summary>
public sealed class DaprStateStoreProvider(DaprSidecarClient client) : IStateStoreProvider
{
    private readonly ConcurrentDictionary<string, IStateStore> _stores = new(StringComparer.Ordinal);

    public IStateStore Get(string componentName) => _stores.GetOrAdd(componentName, name => new DaprStateStore(client, name));
}

/// <summary>
/// The state port over the sidecar's state API (§2). Keys are sent as they are: the sidecar prefixes them per the
/// component's keyPrefix. Outcomes: 409 on save/delete is <see cref="StateOutcome.Conflict"/> (§2.2), 500
/// <c>ERR_STATE_TRANSACTION</c> on a transaction is <see cref="StateOutcome.TransactionFailed"/> (§2.6); every other
/// failure is a <see cref="StateStoreException"/> carrying Dapr's error code, else the HTTP status.
/// </summary>
public sealed class DaprStateStore(DaprSidecarClient client, string name) : IStateStore
{
    private const string FirstWrite = "first-write";
    private readonly string _basePath = "v1.0/state/" + DaprSidecarClient.Escape(name);

    public string Name { get; } = name;

    private string KeyPath(string key) => _basePath + "/" + DaprSidecarClient.Escape(key);

    // §2.3: 200 + ETag header, 204 absent.
    public async Task<StateItem?> GetAsync(string key, CancellationToken ct = default)
    {
        using var response = await SendAsync(new(HttpMethod.Get, KeyPath(key)), DaprRetry.AnyTransportFailure, $"Get '{key}'", ct);
        if (response.StatusCode == HttpStatusCode.NoContent) return null;
        if (response.StatusCode != HttpStatusCode.OK) throw await FailureAsync(response, $"Get '{key}'", ct);
        var value = await response.Content.ReadAsByteArrayAsync(ct);
        if (!IsJson(value))
            throw new StateStoreException($"Get '{key}' from '{Name}': the sidecar answered 200 with a body that is not JSON.", DaprErrorCodes.MalformedResponse);
        var etag = response.Headers.NonValidated.TryGetValues("ETag", out var values) ? values.FirstOrDefault() ?? "" : "";
        return new StateItem(key, value, etag);
    }

    // §2.4: values under "data"; a missing key has no data; a per-key failure carries "error".
    public async Task<IReadOnlyList<StateItem>> GetBulkAsync(IReadOnlyCollection<string> keys, CancellationToken ct = default)
    {
        var distinct = keys.Distinct(StringComparer.Ordinal).ToList();
        if (distinct.Count == 0) return [];
        var body = Write(w =>
        {
            w.WriteStartObject();
            w.WriteStartArray("keys");
            foreach (var key in distinct) w.WriteStringValue(key);
            w.WriteEndArray();
            w.WriteNumber("parallelism", Math.Min(distinct.Count, 10));
            w.WriteEndObject();
        });
        using var response = await SendAsync(new(HttpMethod.Post, _basePath + "/bulk", body), DaprRetry.AnyTransportFailure, "Bulk get", ct);
        if (response.StatusCode != HttpStatusCode.OK) throw await FailureAsync(response, "Bulk get", ct);
        var bytes = await response.Content.ReadAsByteArrayAsync(ct);
        try
        {
            using var doc = JsonDocument.Parse(bytes);
            if (doc.RootElement.ValueKind != JsonValueKind.Array) throw new JsonException("the body is not a JSON array");
            var items = new List<StateItem>(distinct.Count);
            foreach (var entry in doc.RootElement.EnumerateArray())
            {
                if (entry.ValueKind != JsonValueKind.Object || !entry.TryGetProperty("key", out var keyElement) || keyElement.ValueKind != JsonValueKind.String)
                    throw new JsonException("an entry has no string \"key\"");
                var key = keyElement.GetString()!;
                if (entry.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.String && error.GetString() is { Length: > 0 } reason)
                    throw new StateStoreException($"Bulk get from '{Name}' failed for '{key}': {reason}", "ERR_STATE_BULK_GET");
                if (!entry.TryGetProperty("data", out var data) || data.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null) continue;
                var etag = entry.TryGetProperty("etag", out var e) && e.ValueKind == JsonValueKind.String ? e.GetString() ?? "" : "";
                items.Add(new StateItem(key, Encoding.UTF8.GetBytes(data.GetRawText()), etag));
            }
            return items;
        }
        catch (JsonException ex)
        {
            throw new StateStoreException($"Bulk get from '{Name}': the sidecar answered 200 with an unreadable body ({ex.Message}).",
                DaprErrorCodes.MalformedResponse, ex);
        }
    }

    // §2.1: a one-item array; with an ETag, first-write concurrency (§2.2: mismatch is 409).
    public async Task<StateOutcome> SaveAsync(string key, ReadOnlyMemory<byte> value, string? etag = null, CancellationToken ct = default)
    {
        var body = Write(w =>
        {
            w.WriteStartArray();
            WriteItem(w, key, value, etag);
            w.WriteEndArray();
        });
        using var response = await SendAsync(new(HttpMethod.Post, _basePath, body), DaprRetry.ConnectFailuresOnly, $"Save '{key}'", ct);
        return response.StatusCode switch
        {
            HttpStatusCode.NoContent => StateOutcome.Ok,
            HttpStatusCode.Conflict => StateOutcome.Conflict,
            _ => throw await FailureAsync(response, $"Save '{key}'", ct),
        };
    }

    // §2.5: If-Match carries the ETag; 204 also when absent; 409 on mismatch.
    public async Task<StateOutcome> DeleteAsync(string key, string? etag = null, CancellationToken ct = default)
    {
        var path = etag is null ? KeyPath(key) : KeyPath(key) + "?concurrency=" + FirstWrite;
        using var response = await SendAsync(new(HttpMethod.Delete, path, IfMatch: etag), DaprRetry.ConnectFailuresOnly, $"Delete '{key}'", ct);
        return response.StatusCode switch
        {
            HttpStatusCode.NoContent => StateOutcome.Ok,
            HttpStatusCode.Conflict => StateOutcome.Conflict,
            _ => throw await FailureAsync(response, $"Delete '{key}'", ct),
        };
    }

    // §2.6: upsert/delete operations; an ETag failure inside is 500 ERR_STATE_TRANSACTION, not 409.
    public async Task<StateOutcome> TransactAsync(IReadOnlyList<StateOperation> operations, CancellationToken ct = default)
    {
        if (operations.Count == 0) return StateOutcome.Ok;
        var body = Write(w =>
        {
            w.WriteStartObject();
            w.WriteStartArray("operations");
            foreach (var operation in operations)
            {
                w.WriteStartObject();
                switch (operation)
                {
                    case StateOperation.Upsert upsert:
                        w.WriteString("operation", "upsert");
                        w.WritePropertyName("request");
                        WriteItem(w, upsert.Key, upsert.Value, upsert.ETag);
                        break;
                    case StateOperation.Delete delete:
                        w.WriteString("operation", "delete");
                        w.WriteStartObject("request");
                        w.WriteString("key", delete.Key);
                        if (delete.ETag is not null)
                        {
                            w.WriteString("etag", delete.ETag);
                            WriteFirstWrite(w);
                        }
                        w.WriteEndObject();
                        break;
                    default:
                        throw new StateStoreException($"Unsupported state operation {operation.GetType().Name}.", "ERR_NOT_SUPPORTED_STATE_OPERATION");
                }
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        });
        using var response = await SendAsync(new(HttpMethod.Post, _basePath + "/transaction", body), DaprRetry.ConnectFailuresOnly, "Transaction", ct);
        if (response.StatusCode == HttpStatusCode.NoContent) return StateOutcome.Ok;
        var (code, message) = await DaprSidecarClient.ReadErrorAsync(response, ct);
        if (response.StatusCode == HttpStatusCode.InternalServerError && code == "ERR_STATE_TRANSACTION") return StateOutcome.TransactionFailed;
        throw Failure(response.StatusCode, code, message, "Transaction");
    }

    private static void WriteItem(Utf8JsonWriter w, string key, ReadOnlyMemory<byte> value, string? etag)
    {
        w.WriteStartObject();
        w.WriteString("key", key);
        w.WritePropertyName("value");
        try
        {
            w.WriteRawValue(value.Span);
        }
        catch (JsonException ex)
        {
            throw new StateStoreException($"The value of '{key}' is not JSON.", "ERR_MALFORMED_REQUEST", ex);
        }
        if (etag is not null)
        {
            w.WriteString("etag", etag);
            WriteFirstWrite(w);
        }
        w.WriteEndObject();
    }

    private static void WriteFirstWrite(Utf8JsonWriter w)
    {
        w.WriteStartObject("options");
        w.WriteString("concurrency", FirstWrite);
        w.WriteEndObject();
    }

    private static ReadOnlyMemory<byte> Write(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer)) write(writer);
        return buffer.WrittenMemory;
    }

    private static bool IsJson(ReadOnlySpan<byte> bytes)
    {
        if (bytes.IsEmpty) return false;
        try
        {
            var reader = new Utf8JsonReader(bytes);
            while (reader.Read()) { }
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private async Task<HttpResponseMessage> SendAsync(DaprSidecarClient.Call call, DaprRetry retry, string what, CancellationToken ct)
    {
        try
        {
            return await client.SendAsync(call, retry, ct);
        }
        catch (DaprApiException ex)
        {
            throw new StateStoreException($"{what} on state store '{Name}': {ex.Message}", ex.ErrorCode, ex);
        }
    }

    private async Task<StateStoreException> FailureAsync(HttpResponseMessage response, string what, CancellationToken ct)
    {
        var (code, message) = await DaprSidecarClient.ReadErrorAsync(response, ct);
        return Failure(response.StatusCode, code, message, what);
    }

    private StateStoreException Failure(HttpStatusCode status, string? code, string message, string what) =>
        new(DaprSidecarClient.Describe($"{what} on state store '{Name}'", status, code, message),
            code ?? ((int)status).ToString(System.Globalization.CultureInfo.InvariantCulture));
}
