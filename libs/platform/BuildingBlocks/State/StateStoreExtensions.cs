using System.Text.Json;

namespace Platform.BuildingBlocks.State;

/// <summary>Typed helpers over the JSON state port.</summary>
public static class StateStoreExtensions
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static byte[] Serialize<T>(T value) => JsonSerializer.SerializeToUtf8Bytes(value, Json);

    public static T Deserialize<T>(ReadOnlyMemory<byte> json) =>
        JsonSerializer.Deserialize<T>(json.Span, Json)
        ?? throw new JsonException($"State value deserialized to null as {typeof(T).Name}.");

    public static async Task<T?> GetAsync<T>(this IStateStore store, string key, CancellationToken ct = default)
    {
        var item = await store.GetAsync(key, ct);
        return item is null ? default : Deserialize<T>(item.Value);
    }

    /// <summary>The value and its ETag, or (default, null) when the key is absent.</summary>
    public static async Task<(T? Value, string? ETag)> GetWithETagAsync<T>(this IStateStore store, string key, CancellationToken ct = default)
    {
        var item = await store.GetAsync(key, ct);
        return item is null ? (default, null) : (Deserialize<T>(item.Value), item.ETag);
    }

    public static Task<StateOutcome> SaveAsync<T>(this IStateStore store, string key, T value, string? etag = null, CancellationToken ct = default) =>
        store.SaveAsync(key, Serialize(value), etag, ct);

    public static StateOperation.Upsert Upsert<T>(string key, T value, string? etag = null) => new(key, Serialize(value), etag);

    /// <summary>
    /// Read-modify-write with optimistic concurrency: reads the value with its ETag, applies
    /// <paramref name="update"/>, saves first-write-wins, and retries on conflict.
    /// </summary>
    public static async Task<T> UpdateAsync<T>(this IStateStore store, string key, Func<T?, T> update, int maxAttempts = 20, CancellationToken ct = default)
    {
        for (var attempt = 1; ; attempt++)
        {
            var (current, etag) = await store.GetWithETagAsync<T>(key, ct);
            var next = update(current);
            // An absent key is created last-write-wins: ETags cannot express "only if absent" on every store.
            var outcome = await store.SaveAsync(key, next, etag, ct);
            if (outcome == StateOutcome.Ok) return next;
            if (attempt >= maxAttempts)
                throw new StateStoreException($"Gave up updating '{key}' in '{store.Name}' after {attempt} conflicting attempts.", "CONFLICT");
            await Task.Delay(Random.Shared.Next(1, 5 * attempt), ct);
        }
    }
}
