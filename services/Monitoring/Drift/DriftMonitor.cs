using System.Collections.Concurrent;
using Platform.BuildingBlocks.PubSub;
using Platform.Contracts;
using Platform.Modeling.Targets;
using Platform.Monitoring.Predictions;
using Platform.OfflineStore;
using Platform.OfflineStore.Monitoring;
using Platform.Quant;

namespace Platform.Monitoring.Drift;

/// <summary>Evaluates drift for a model version at a window end (the joiner calls it after writing outcomes).</summary>
public interface IDriftEvaluator
{
    Task<DriftDetected?> EvaluateAsync(string model, int version, BarInterval interval, DateTimeOffset windowEnd, CancellationToken ct);
}

/// <summary>
/// Watches the distribution of a served version's realised targets: the latest <see cref="DriftOptions.WindowSize"/>
/// joined outcomes against the targets of the version's own training window (its lineage: symbols, from, to), read
/// from the offline store with the training target definition. PSI over the reference's quantile bins and the
/// two-sample KS statistic are compared with the configured thresholds; a breach is stored and published as
/// <see cref="DriftDetected"/> with id <c>drift:{model}:{windowEnd}</c>, so a re-evaluation of the same window publishes
/// the same event (consumers drop it). After a detection the same version stays quiet for
/// <see cref="DriftOptions.QuietBars"/> bars.
/// </summary>
public sealed class DriftMonitor(IPredictionStore store, IBarReader bars, ModelCatalog catalog, IEventPublisher publisher,
    MonitoringOptions options, MonitoringMetrics metrics, TimeProvider clock, ILogger<DriftMonitor> logger) : IDriftEvaluator
{
    private readonly ConcurrentDictionary<(string, int, string), ReferenceProfile> _references = new();
    private readonly ConcurrentDictionary<(string, int, string), byte> _missing = new();

    public async Task<DriftDetected?> EvaluateAsync(string model, int version, BarInterval interval, DateTimeOffset windowEnd, CancellationToken ct)
    {
        var o = options.Drift;
        if (!o.Enabled) return null;
        var facts = await catalog.FindAsync(model, version, ct);
        if (facts is null) return null;
        var reference = await ReferenceAsync(facts, interval, ct);
        if (reference is null) return null;
        var window = await store.QueryAsync(new PredictionQuery(model, version, To: windowEnd.AddTicks(1), JoinedOnly: true, Limit: o.WindowSize), ct);
        if (window.Count < o.WindowSize) return null;
        var realised = window.Select(w => w.Outcome!.Realised).ToList();
        var (evidence, breached) = Assess(reference, realised, facts.Horizon, o);
        metrics.Drift(model, "target", evidence[0].Value, evidence[1].Value);
        if (!breached) return null;

        var windowStart = window.Min(w => w.Prediction.Time);
        var strongest = evidence.OrderByDescending(e => e.Value / e.Threshold).First();
        var drift = new DriftDetected(model, ["target"], strongest.Statistic, strongest.Value, windowStart, windowEnd,
            version, strongest.Threshold, window.Count, evidence);
        var last = (await store.GetDriftAsync(model, 1, ct)).FirstOrDefault();
        if (last is not null && last.EventId != drift.EventId && last.Version == version && last.WindowEnd <= windowEnd
            && windowEnd - last.WindowEnd < TimeSpan.FromTicks(interval.Length.Ticks * o.QuietBars))
            return null;
        if (await store.AddDriftAsync(new DriftRecord(drift.EventId, model, version, windowStart, windowEnd, window.Count,
                evidence.Select(e => new DriftEvidence(e.Subject, e.Statistic, e.Value, e.Threshold)).ToList(), clock.GetUtcNow()), ct))
        {
            metrics.DriftDetected(model);
            logger.LogWarning("Drift of {Model} v{Version} in the window ending {End:o}: PSI {Psi:F3} (> {PsiT}), KS {Ks:F3} (> {KsT:F3})",
                model, version, windowEnd, evidence[0].Value, evidence[0].Threshold, evidence[1].Value, evidence[1].Threshold);
        }
        // Published on every evaluation of a detected window (same id): a crash between storing and publishing is repaired
        // by the redelivery that re-evaluates it.
        await publisher.PublishAsync(drift, ct);
        return drift;
    }

    /// <summary>
    /// PSI and KS of a window of realised targets against the reference, with their thresholds, and whether the window
    /// drifts. Targets over h bars overlap (consecutive ones share h - 1 returns), so the KS test is held against the
    /// effective, non-overlapping sample sizes; otherwise stationary windows of a long-horizon model would look significant.
    /// </summary>
    public static (List<DriftStatistic> Evidence, bool Breached) Assess(ReferenceProfile reference, IReadOnlyList<double> realised, int horizon,
        DriftOptions o)
    {
        var psi = DriftStatistics.Psi(reference, realised);
        var ks = DriftStatistics.Ks(reference.Sorted, realised);
        var h = Math.Max(1, horizon);
        var ksThreshold = DriftStatistics.KsCritical(o.KsAlpha, Math.Max(2, reference.Count / h), Math.Max(2, realised.Count / h));
        List<DriftStatistic> evidence = [new("target", "psi", psi, o.PsiThreshold), new("target", "ks", ks, ksThreshold)];
        return (evidence, o.RequireBoth ? evidence.All(e => e.Breached) : evidence.Any(e => e.Breached));
    }

    /// <summary>The realised-target distribution over the version's training window, or null when its bars are not in the store.</summary>
    internal async Task<ReferenceProfile?> ReferenceAsync(ModelFacts facts, BarInterval interval, CancellationToken ct)
    {
        var key = (facts.Model, facts.Version, interval.Name);
        if (_references.TryGetValue(key, out var cached)) return cached;
        var spec = new TargetSpec(TargetSpec.ParseKind(facts.Target), facts.Horizon);
        var values = new List<double>();
        foreach (var symbol in facts.Symbols)
        {
            var series = await bars.GetBarsAsync(new BarQuery(symbol, interval, facts.TrainedFrom, facts.TrainedTo.AddTicks(1)), ct);
            if (series.Count > facts.Horizon) values.AddRange(Targets.Compute(series, spec).Where(double.IsFinite));
        }
        var profile = values.Count >= 5 * options.Drift.Bins ? ReferenceProfile.From(values, options.Drift.Bins) : null;
        if (profile is not null) _references[key] = profile;
        else if (_missing.TryAdd(key, 0))
            logger.LogWarning("No drift reference for {Model} v{Version}: its training bars ({Symbols}, {From:o}..{To:o}) are not in the offline store",
                facts.Model, facts.Version, string.Join(",", facts.Symbols), facts.TrainedFrom, facts.TrainedTo);
        return profile;
    }
}
