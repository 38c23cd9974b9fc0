using System.Text.Json;
using Platform.BuildingBlocks.State;
using Platform.Contracts;
using Platform.Quant;
using Platform.Quant.Features;

namespace Platform.Features.Pipeline;

/// <summary>
/// The latest vector of one series in the shared <c>featurestore</c> (key <c>{set}@{version}/{symbol}/{interval}</c>),
/// what serving reads. <see cref="Values"/> are in <see cref="Names"/> order with null where the feature is undefined
/// (NaN); <see cref="SetHash"/> lets a reader check it was computed by the set its model was trained on.
/// </summary>
public sealed record OnlineFeatureVector(
    string Set, string SetHash, string Symbol, string Interval, DateTimeOffset Time,
    IReadOnlyList<string> Names, IReadOnlyList<double?> Values)
{
    public static string Key(string setId, string symbol, string interval) => $"{setId}/{symbol}/{interval}";
}

/// <summary>Reads and writes the latest vectors in <c>featurestore</c>.</summary>
public sealed class OnlineFeatureStore(IStateStoreProvider stores)
{
    private IStateStore Store => stores.Get(Components.FeatureStore);

    public Task<OnlineFeatureVector?> GetAsync(string setId, string symbol, string interval, CancellationToken ct = default) =>
        Store.GetAsync<OnlineFeatureVector>(OnlineFeatureVector.Key(setId, symbol, interval), ct);

    /// <summary>
    /// Saves the vector unless a newer one is stored (a recompute of an older range never moves "latest" back). Read with
    /// its ETag, save first-write-wins, retry on conflict.
    /// </summary>
    public async Task<bool> SaveLatestAsync(FeatureSet set, string symbol, BarInterval interval, DateTimeOffset time, double[] values, CancellationToken ct = default)
    {
        var key = OnlineFeatureVector.Key(set.Id, symbol, interval.Name);
        var vector = new OnlineFeatureVector(set.Id, set.Hash, symbol, interval.Name, time, set.Features, FeatureJson.Nullable(values));
        return await ConflictRetry.RunAsync($"saving '{key}'", async token =>
        {
            var (current, etag) = await Store.GetWithETagAsync<OnlineFeatureVector>(key, token);
            if (current is not null && current.Time > time && current.SetHash == set.Hash) return (true, false);
            return (await Store.SaveAsync(key, vector, etag, token) == StateOutcome.Ok, true);
        }, ct);
    }

    /// <summary>
    /// <see cref="SaveLatestAsync"/> for many streams (distinct set, symbol, interval) in one transaction: each vector is
    /// saved unless a newer one of the same set is stored, every write guarded by the ETag read, retried on conflict.
    /// </summary>
    public Task SaveLatestManyAsync(IReadOnlyList<LatestVector> vectors, CancellationToken ct = default)
    {
        if (vectors.Count == 0) return Task.CompletedTask;
        var keys = vectors.Select(v => OnlineFeatureVector.Key(v.Set.Id, v.Symbol, v.Interval.Name)).ToList();
        return ConflictRetry.RunAsync($"saving {vectors.Count} latest vectors", async token =>
        {
            var stored = (await Store.GetBulkAsync(keys, token)).ToDictionary(i => i.Key, StringComparer.Ordinal);
            var operations = new List<StateOperation>(vectors.Count);
            for (var i = 0; i < vectors.Count; i++)
            {
                var v = vectors[i];
                string? etag = null;
                if (stored.TryGetValue(keys[i], out var item))
                {
                    var (time, setHash) = ReadStamp(item.Value.Span);
                    if (time > v.Time && setHash == v.Set.Hash) continue;
                    etag = item.ETag;
                }
                operations.Add(new StateOperation.Upsert(keys[i], v.Value, etag));
            }
            return await Store.TransactAsync(operations, token) == StateOutcome.Ok;
        }, ct);
    }

    /// <summary>
    /// The part of a stored vector that decides whether it is newer: its time and set hash, read from the top-level
    /// properties up to the two of them (they come before the names and values).
    /// </summary>
    private static (DateTimeOffset Time, string? SetHash) ReadStamp(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json);
        DateTimeOffset? time = null;
        string? setHash = null;
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) throw new JsonException("A stored feature vector is not a JSON object.");
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName && (time is null || setHash is null))
        {
            var name = reader.GetString();
            reader.Read();
            if (string.Equals(name, "time", StringComparison.OrdinalIgnoreCase)) time = reader.GetDateTimeOffset();
            else if (string.Equals(name, "setHash", StringComparison.OrdinalIgnoreCase)) setHash = reader.GetString();
            else reader.Skip();
        }
        return (time ?? throw new JsonException("A stored feature vector has no time."), setHash);
    }
}

/// <summary>A stream's newest vector, to be saved as its latest: its time and its featurestore value (<see cref="Of"/> encodes it).</summary>
public sealed record LatestVector(FeatureSet Set, string Symbol, BarInterval Interval, DateTimeOffset Time, byte[] Value)
{
    /// <summary>The vector of <paramref name="values"/>, encoded as the featurestore stores it.</summary>
    public static LatestVector Of(FeatureSet set, string symbol, BarInterval interval, DateTimeOffset time, double[] values) =>
        new(set, symbol, interval, time, FeatureJson.SerializeOnlineVector(set, symbol, interval.Name, time, values));
}
