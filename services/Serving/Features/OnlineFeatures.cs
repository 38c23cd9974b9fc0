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

/// <summary>Reads latest vectors from the online store, one or many in one round trip.</summary>
public sealed class OnlineFeatures(IStateStoreProvider stores)
{
    private IStateStore Store => stores.Get(Components.FeatureStore);

    public async Task<StoredFeatureVector?> GetAsync(string setId, string symbol, string interval, CancellationToken ct) =>
        await Store.GetAsync(StoredFeatureVector.Key(setId, symbol, interval), ct) is { } item ? Read(item) : null;

    public async Task<IReadOnlyDictionary<string, StoredFeatureVector>> GetManyAsync(string setId, IReadOnlyCollection<string> symbols, string interval,
        CancellationToken ct)
    {
        var keys = symbols.Select(s => StoredFeatureVector.Key(setId, s, interval)).Distinct(StringComparer.Ordinal).ToArray();
        var items = await Store.GetBulkAsync(keys, ct);
        return items.Select(Read).ToDictionary(v => v.Symbol, StringComparer.Ordinal);
    }

    private static StoredFeatureVector Read(StateItem item) =>
        JsonSerializer.Deserialize<StoredFeatureVector>(item.Value.Span, StateStoreExtensions.Json)
        ?? throw new JsonException($"Feature vector '{item.Key}' is null.");
}
