using System.Collections.Concurrent;
using System.Globalization;
using Platform.Modeling.Registry;

namespace Platform.Monitoring.Predictions;

/// <summary>What monitoring needs of a registered version: its target, horizon and training window.</summary>
public sealed record ModelFacts(string Model, int Version, string Target, int Horizon, IReadOnlyList<string> Symbols,
    DateTimeOffset TrainedFrom, DateTimeOffset TrainedTo);

/// <summary>
/// Reads versions from the model registry (read-only; training owns it). Versions never change once registered, so
/// found ones are cached; a miss is asked again next time (the version may be registered since).
/// </summary>
public sealed class ModelCatalog(ModelRegistry registry)
{
    private readonly ConcurrentDictionary<(string, int), ModelFacts> _cache = new();

    public async Task<ModelFacts?> FindAsync(string model, int version, CancellationToken ct)
    {
        if (_cache.TryGetValue((model, version), out var facts)) return facts;
        try
        {
            var v = await registry.GetVersionAsync(model, version.ToString(CultureInfo.InvariantCulture), ct);
            facts = new ModelFacts(model, version, v.Lineage.Target.ToLowerInvariant(), v.Lineage.Horizon, v.Lineage.Symbols,
                v.Lineage.From, v.Lineage.To);
            _cache[(model, version)] = facts;
            return facts;
        }
        catch (ModelNotFoundException)
        {
            return null;
        }
    }

    public async Task<bool> IsRegisteredAsync(string model, CancellationToken ct) => await registry.GetEntryAsync(model, ct) is not null;
}
