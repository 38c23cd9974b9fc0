using System.Collections.Concurrent;
using System.Text.Json;
using Platform.BuildingBlocks.State;
using Platform.Contracts;

namespace Platform.Serving.Features;

/// <summary>
/// The latest vector of one series as the features service writes it to <c>featurestore</c>
/// (key <c>{set}@{version}/{symbol}/{interval}</c>): values in <see cref="Names"/> order, null where undefined.
/// </summary>
public sealed record StoredFeatureVector(
    string Set, string SetHash, string Symbol, string Interval, DateTimeOffset Time,
    IReadOnlyList<string> Names, IReadOnlyList<double?> Values)
{
    public static string Key(string setId, string symbol, string interval) => $"{setId}/{symbol}/{interval}";
}

/// <summary>
/// Reads latest vectors from the online store, one or many in one round trip. A vector is read from the store on every call,
/// but parsed only when its stored bytes differ from the last ones parsed for its key: a series' vector changes once per
/// bar, and parsing its JSON (every feature's name and value, 158 of each for Alpha158) was the largest part of a
/// prediction's cost. <c>Serving:FeatureVectorCache</c> bounds the vectors kept (default 1,024 series; 0 parses every read).
/// </summary>
public sealed class OnlineFeatures(IStateStoreProvider stores, int cacheSize = OnlineFeatures.DefaultCacheSize)
{
    public const string CacheSizeKey = "Serving:FeatureVectorCache";
    public const int DefaultCacheSize = 1024;

    private sealed record Parsed(byte[] Stored, StoredFeatureVector Vector);

    private readonly ConcurrentDictionary<string, Parsed> _parsed = new(StringComparer.Ordinal);

    private IStateStore Store => stores.Get(Components.FeatureStore);

    /// <summary>The size configured under <see cref="CacheSizeKey"/>; a negative one is a configuration error.</summary>
    public static int CacheSizeFrom(IConfiguration configuration)
    {
        var size = configuration.GetValue(CacheSizeKey, DefaultCacheSize);
        return size >= 0 ? size : throw new InvalidOperationException($"{CacheSizeKey} must be 0 (parse every read) or a positive number of series, not {size}.");
    }

    public async Task<StoredFeatureVector?> GetAsync(string setId, string symbol, string interval, CancellationToken ct) =>
        await Store.GetAsync(StoredFeatureVector.Key(setId, symbol, interval), ct) is { } item ? Read(item) : null;

    public async Task<IReadOnlyDictionary<string, StoredFeatureVector>> GetManyAsync(string setId, IReadOnlyCollection<string> symbols, string interval,
        CancellationToken ct)
    {
        var keys = symbols.Select(s => StoredFeatureVector.Key(setId, s, interval)).Distinct(StringComparer.Ordinal).ToArray();
        var items = await Store.GetBulkAsync(keys, ct);
        return items.Select(Read).ToDictionary(v => v.Symbol, StringComparer.Ordinal);
    }

    private StoredFeatureVector Read(StateItem item)
    {
        // The same bytes parse to the same vector: compared in full, so no store's ETag semantics are relied on.
        if (cacheSize > 0 && _parsed.TryGetValue(item.Key, out var last) && item.Value.Span.SequenceEqual(last.Stored)) return last.Vector;
        var vector = JsonSerializer.Deserialize<StoredFeatureVector>(item.Value.Span, StateStoreExtensions.Json)
            ?? throw new JsonException($"Feature vector '{item.Key}' is null.");
        if (cacheSize > 0)
        {
            // More series than the bound (a universe larger than configured): start again rather than grow.
            if (_parsed.Count >= cacheSize && !_parsed.ContainsKey(item.Key)) _parsed.Clear();
            _parsed[item.Key] = new Parsed(item.Value.ToArray(), vector);
        }
        return vector;
    }

    /// <summary>Vectors kept parsed (tests).</summary>
    internal int ParsedCount => _parsed.Count;
}
