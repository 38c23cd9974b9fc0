using System.Collections.Concurrent;
using System.Globalization;
using Platform.Modeling.Drift;
using Platform.Modeling.Registry;
using Platform.Modeling.Targets;
using Platform.Monitoring.Quality;

namespace Platform.Monitoring.Predictions;

/// <summary>
/// What monitoring needs of a registered version: its target, horizon, training window and feature set, and its
/// validation score on the target's ranking metric (the final period's, else the folds' aggregate; null when neither has it).
/// </summary>
public sealed record ModelFacts(string Model, int Version, string Target, int Horizon, IReadOnlyList<string> Symbols,
    DateTimeOffset TrainedFrom, DateTimeOffset TrainedTo, string FeatureSet = "", double? ValidationScore = null)
{
    public TargetKind Kind => TargetSpec.ParseKind(Target);
}

/// <summary>
/// Reads versions and their stored reference (<see cref="ModelReference"/>) from the model registry (read-only; training
/// owns it). Versions never change once registered, so found ones are cached; a miss is asked again next time (the
/// version may be registered since), a missing reference at most once a minute.
/// </summary>
public sealed class ModelCatalog(ModelRegistry registry, TimeProvider clock, ILogger<ModelCatalog> logger)
{
    /// <summary>How long a reference found missing is not asked for again (the drift monitor applies it to target references too).</summary>
    public static readonly TimeSpan MissingReferenceRetry = TimeSpan.FromMinutes(1);
    private readonly ConcurrentDictionary<(string, int), ModelFacts> _cache = new();
    private readonly ConcurrentDictionary<(string, int), ModelReference> _references = new();
    private readonly ConcurrentDictionary<(string, int), DateTimeOffset> _missingReferences = new();

    public async Task<ModelFacts?> FindAsync(string model, int version, CancellationToken ct)
    {
        if (_cache.TryGetValue((model, version), out var facts)) return facts;
        try
        {
            var v = await registry.GetVersionAsync(model, version.ToString(CultureInfo.InvariantCulture), ct);
            var lineage = v.Lineage;
            var metric = LiveQuality.RankingMetric(TargetSpec.ParseKind(lineage.Target));
            facts = new ModelFacts(model, version, lineage.Target.ToLowerInvariant(), lineage.Horizon, lineage.Symbols,
                lineage.From, lineage.To, lineage.FeatureSet, lineage.Final?.Get(metric) ?? lineage.Aggregate?.Get(metric));
            _cache[(model, version)] = facts;
            return facts;
        }
        catch (ModelNotFoundException)
        {
            return null;
        }
    }

    /// <summary>The reference stored with the version at registration, or null (registered before references were stored).</summary>
    public async Task<ModelReference?> ReferenceAsync(string model, int version, CancellationToken ct)
    {
        var key = (model, version);
        if (_references.TryGetValue(key, out var cached)) return cached;
        var now = clock.GetUtcNow();
        if (_missingReferences.TryGetValue(key, out var askedAt) && now - askedAt < MissingReferenceRetry) return null;
        try
        {
            var file = await registry.GetFileAsync(model, version.ToString(CultureInfo.InvariantCulture), ModelReference.FileName, ct);
            if (file is not null)
            {
                var reference = ModelReference.Read(file);
                _references[key] = reference;
                _missingReferences.TryRemove(key, out _);
                return reference;
            }
        }
        catch (ModelNotFoundException)
        {
        }
        catch (System.Text.Json.JsonException ex)
        {
            // Unreadable: watched as if it had none (target and quality), and said once per retry period.
            if (!_missingReferences.ContainsKey(key))
                logger.LogError("{Model} v{Version} has an unreadable {File}: {Error}", model, version, ModelReference.FileName, ex.Message);
            _missingReferences[key] = now;
            return null;
        }
        if (_missingReferences.TryAdd(key, now))
            logger.LogWarning("{Model} v{Version} has no stored reference: its features and predictions are not checked for drift", model, version);
        else _missingReferences[key] = now;
        return null;
    }

    public async Task<bool> IsRegisteredAsync(string model, CancellationToken ct) => await registry.GetEntryAsync(model, ct) is not null;
}
