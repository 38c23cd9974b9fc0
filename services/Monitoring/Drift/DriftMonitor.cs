using System.Collections.Concurrent;
using Platform.BuildingBlocks.PubSub;
using Platform.Contracts;
using Platform.Modeling.Drift;
using Platform.Modeling.Targets;
using Platform.Modeling.Validation;
using Platform.Monitoring.Predictions;
using Platform.Monitoring.Quality;
using Platform.OfflineStore;
using Platform.OfflineStore.Monitoring;
using Platform.Quant;
using Platform.Quant.Features;

namespace Platform.Monitoring.Drift;

/// <summary>Evaluates drift for a model version at a window end (the joiner calls it after writing outcomes).</summary>
public interface IDriftEvaluator
{
    Task<DriftDetected?> EvaluateAsync(string model, int version, BarInterval interval, DateTimeOffset windowEnd, CancellationToken ct);
}

/// <summary>
/// Watches a served version over its latest <see cref="DriftOptions.WindowSize"/> joined predictions, on four subjects:
/// <list type="bullet">
/// <item>the realised <c>target</c> against the targets of the version's own training window (its lineage: symbols, from,
/// to), read from the offline store with the training target definition;</item>
/// <item>the <c>prediction</c>s against the version's out-of-sample predictions on its final period;</item>
/// <item>each feature, recomputed from the stored bars at the window's decision times with the version's feature set,
/// against its training rows (the last two references are stored with the version at registration:
/// <see cref="ModelReference"/>);</item>
/// <item><c>quality</c>: how far the live ranking metric falls short of the validation score.</item>
/// </list>
/// PSI over the reference's quantile bins and the two-sample KS statistic are compared with the configured thresholds.
/// The subjects in <see cref="DriftOptions.Triggers"/> raise a detection, which is stored with every subject's evidence
/// and published as <see cref="DriftDetected"/> with id <c>drift:{model}:{windowEnd}</c>, so a re-evaluation of the same
/// window publishes the same event (consumers drop it). After a detection the same version stays quiet for
/// <see cref="DriftOptions.QuietBars"/> bars.
/// </summary>
public sealed class DriftMonitor(IPredictionStore store, IBarReader bars, ModelCatalog catalog, IEventPublisher publisher,
    MonitoringOptions options, MonitoringMetrics metrics, TimeProvider clock, ILogger<DriftMonitor> logger) : IDriftEvaluator
{
    private readonly ConcurrentDictionary<(string, int, string), ReferenceProfile> _targets = new();
    private readonly ConcurrentDictionary<(string, int, string), DateTimeOffset> _missingTargets = new();
    private readonly ConcurrentDictionary<(string, int, string), DateTimeOffset> _evaluated = new();

    /// <summary>One subject's statistics and whether it drifts.</summary>
    public sealed record SubjectAssessment(string Subject, IReadOnlyList<DriftStatistic> Evidence, bool Drifts);

    public async Task<DriftDetected?> EvaluateAsync(string model, int version, BarInterval interval, DateTimeOffset windowEnd, CancellationToken ct)
    {
        var o = options.Drift;
        if (!o.Enabled) return null;
        // The joiner calls once per symbol whose outcomes it wrote at this bar; the window spans every symbol of the version,
        // so a window end is evaluated once (marked only after a complete evaluation: a failed publish is retried).
        var key = (model, version, interval.Name);
        if (_evaluated.TryGetValue(key, out var done) && done >= windowEnd) return null;
        var facts = await catalog.FindAsync(model, version, ct);
        if (facts is null) return null;
        // The newest predictions whose outcomes were known by the window's end. A join that caught up has also joined
        // predictions made up to a horizon before it whose outcomes became known later: they belong to later windows.
        var pastHorizon = facts.Horizon * Math.Max(1, facts.Symbols.Count);
        var window = (await store.QueryAsync(new PredictionQuery(model, version, To: windowEnd.AddTicks(1), JoinedOnly: true,
                Limit: o.WindowSize + pastHorizon), ct))
            .Where(w => w.Outcome!.KnownAt <= windowEnd).Take(o.WindowSize).ToList();
        if (window.Count < o.WindowSize) return null;

        var subjects = await AssessAsync(facts, interval, window, ct);
        var detection = subjects.Count == 0 ? null : await DetectAsync(facts, window, windowEnd, interval, subjects, ct);
        _evaluated.AddOrUpdate(key, windowEnd, (_, previous) => previous > windowEnd ? previous : windowEnd);
        return detection;
    }

    private async Task<List<SubjectAssessment>> AssessAsync(ModelFacts facts, BarInterval interval, IReadOnlyList<PredictionWithOutcome> window,
        CancellationToken ct)
    {
        var o = options.Drift;
        var subjects = new List<SubjectAssessment>();
        var realised = window.Select(w => w.Outcome!.Realised).ToList();
        if (await TargetReferenceAsync(facts, interval, ct) is { } target)
            subjects.Add(AssessDistribution("target", target, realised, facts.Horizon, o));
        var reference = await catalog.ReferenceAsync(facts.Model, facts.Version, ct);
        if (reference?.Predictions is { } predictions)
            subjects.Add(AssessDistribution("prediction", predictions, window.Select(w => w.Prediction.Value).ToList(), facts.Horizon, o));
        if (reference is not null && await WindowFeaturesAsync(reference.FeatureSet, window, interval, ct) is { Count: > 0 } columns)
            subjects.Add(AssessFeatures(reference, columns, o));
        var live = LiveQuality.Metrics(realised.ToArray(), window.Select(w => w.Prediction.Value).ToArray(), facts.Kind);
        metrics.LiveIc(facts.Model, o.WindowSize, live.Ic);
        if (facts.ValidationScore is { } validated && AssessQuality(facts.Kind, validated, live, o) is { } quality) subjects.Add(quality);
        metrics.Drift(facts.Model, subjects.SelectMany(s => s.Evidence));
        return subjects;
    }

    private async Task<DriftDetected?> DetectAsync(ModelFacts facts, IReadOnlyList<PredictionWithOutcome> window, DateTimeOffset windowEnd,
        BarInterval interval, List<SubjectAssessment> subjects, CancellationToken ct)
    {
        var o = options.Drift;
        var triggering = subjects.Where(s => s.Drifts && Triggers(s.Subject, o.Triggers)).ToList();
        if (triggering.Count == 0) return null;
        var (model, version) = (facts.Model, facts.Version);
        var evidence = subjects.SelectMany(s => s.Evidence).ToList();
        var windowStart = window.Min(w => w.Prediction.Time);
        var strongest = triggering.SelectMany(s => s.Evidence).Where(e => e.Threshold > 0).OrderByDescending(e => e.Value / e.Threshold).First();
        var drifting = subjects.Where(s => s.Drifts).SelectMany(s => s.Subject == FeaturesSubject
            ? s.Evidence.Where(e => e.Breached).Select(e => e.Subject).Distinct() : [s.Subject]).ToList();
        var drift = new DriftDetected(model, drifting, strongest.Statistic, strongest.Value, windowStart, windowEnd,
            version, strongest.Threshold, window.Count, evidence);
        var last = (await store.GetDriftAsync(model, 1, ct)).FirstOrDefault();
        if (last is not null && last.EventId != drift.EventId && last.Version == version && last.WindowEnd <= windowEnd
            && windowEnd - last.WindowEnd < TimeSpan.FromTicks(interval.Length.Ticks * o.QuietBars))
            return null;
        if (await store.AddDriftAsync(new DriftRecord(drift.EventId, model, version, windowStart, windowEnd, window.Count,
                evidence.Select(e => new DriftEvidence(e.Subject, e.Statistic, e.Value, e.Threshold)).ToList(), clock.GetUtcNow()), ct))
        {
            metrics.DriftDetected(model);
            logger.LogWarning("Drift of {Model} v{Version} in the window ending {End:o}: {Subjects} ({Statistic} {Value:F3} > {Threshold:F3})",
                model, version, windowEnd, string.Join(", ", triggering.Select(s => s.Subject)), strongest.Statistic, strongest.Value, strongest.Threshold);
        }
        // Published on every evaluation of a detected window (same id): a crash between storing and publishing is repaired
        // by the redelivery that re-evaluates it.
        await publisher.PublishAsync(drift, ct);
        return drift;
    }

    private const string FeaturesSubject = "features";

    private static bool Triggers(string subject, DriftTriggers triggers) => subject switch
    {
        "target" => triggers.Target,
        "prediction" => triggers.Predictions,
        FeaturesSubject => triggers.Features,
        "quality" => triggers.Quality,
        _ => false,
    };

    /// <summary>
    /// PSI and KS of a window of realised targets against the reference, with their thresholds, and whether the window
    /// drifts (the target subject of <see cref="AssessDistribution"/>).
    /// </summary>
    public static (List<DriftStatistic> Evidence, bool Breached) Assess(ReferenceProfile reference, IReadOnlyList<double> realised, int horizon,
        DriftOptions o)
    {
        var assessment = AssessDistribution("target", reference, realised, horizon, o);
        return ([.. assessment.Evidence], assessment.Drifts);
    }

    /// <summary>
    /// PSI and KS of <paramref name="values"/> against <paramref name="reference"/>. Targets (and the predictions of them)
    /// over h bars overlap (consecutive ones share h - 1 returns), so the KS test is held against the effective,
    /// non-overlapping sample sizes; otherwise stationary windows of a long-horizon model would look significant.
    /// </summary>
    public static SubjectAssessment AssessDistribution(string subject, ReferenceProfile reference, IReadOnlyList<double> values, int horizon,
        DriftOptions o)
    {
        var finite = values.Where(double.IsFinite).ToList();
        var psi = DriftStatistics.Psi(reference, finite);
        var ks = DriftStatistics.Ks(reference.Sorted, finite);
        var h = Math.Max(1, horizon);
        var ksThreshold = DriftStatistics.KsCritical(o.KsAlpha, Math.Max(2, reference.Count / h), Math.Max(2, finite.Count / h));
        List<DriftStatistic> evidence = [new(subject, "psi", psi, o.PsiThreshold), new(subject, "ks", ks, ksThreshold)];
        return new SubjectAssessment(subject, evidence, finite.Count > 0 && (o.RequireBoth ? evidence.All(e => e.Breached) : evidence.Any(e => e.Breached)));
    }

    /// <summary>
    /// Each profiled feature's PSI and KS over the window; the inputs drift when at least <see cref="DriftOptions.FeatureShare"/>
    /// of them do. The evidence names the <see cref="DriftOptions.TopFeatures"/> with the largest PSI. Feature values of
    /// consecutive bars are strongly autocorrelated (rolling windows), so the KS threshold here takes every value as a
    /// sample: it errs towards reporting drift, which is why features are not a trigger by default.
    /// </summary>
    public static SubjectAssessment AssessFeatures(ModelReference reference, IReadOnlyDictionary<string, List<double>> columns, DriftOptions o)
    {
        var per = new List<SubjectAssessment>();
        foreach (var (name, values) in columns)
        {
            if (!reference.Features.TryGetValue(name, out var profile) || !values.Any(double.IsFinite)) continue;
            per.Add(AssessDistribution(name, profile, values, 1, o));
        }
        if (per.Count == 0) return new SubjectAssessment(FeaturesSubject, [], false);
        var share = per.Count(p => p.Drifts) / (double)per.Count;
        var top = per.OrderByDescending(p => p.Evidence[0].Value).Take(o.TopFeatures).SelectMany(p => p.Evidence).ToList();
        top.Add(new DriftStatistic(FeaturesSubject, "drifting_share", share, o.FeatureShare));
        return new SubjectAssessment(FeaturesSubject, top, share >= o.FeatureShare);
    }

    /// <summary>The live ranking metric against the validation score: decay is the shortfall (positive when worse).</summary>
    public static SubjectAssessment? AssessQuality(TargetKind kind, double validated, QualityMetrics live, DriftOptions o)
    {
        var metric = LiveQuality.RankingMetric(kind);
        double? value = metric switch { "qlike" => live.Qlike, "hit_rate" => live.HitRate, _ => live.RankIc };
        if (value is not { } v) return null;
        var decay = MetricSet.HigherIsBetter(metric) ? validated - v : v - validated;
        var statistic = new DriftStatistic("quality", metric + "_decay", decay, o.QualityDecayThreshold);
        return new SubjectAssessment("quality", [statistic], statistic.Breached);
    }

    /// <summary>
    /// Feature vectors at the window's decision times, recomputed from the stored bars with the version's feature set (as
    /// the features service computes them from the same bars), per feature name. Empty when the set is unknown here.
    /// </summary>
    private async Task<Dictionary<string, List<double>>> WindowFeaturesAsync(string featureSet, IReadOnlyList<PredictionWithOutcome> window,
        BarInterval interval, CancellationToken ct)
    {
        var columns = new Dictionary<string, List<double>>(StringComparer.Ordinal);
        if (!FeatureSets.TryGet(featureSet, out var set)) return columns;
        var warmUp = FeatureSets.CreateCalculator(set.Id).WarmUpPeriod;
        foreach (var series in window.GroupBy(w => w.Prediction.Symbol, StringComparer.Ordinal))
        {
            var times = series.Select(w => w.Prediction.Time).ToHashSet();
            var history = await HistoryAsync(bars, series.Key, interval, times.Min(), times.Max(), warmUp, ct);
            var rows = FeatureBatch.Replay(() => FeatureSets.CreateCalculator(set.Id), history);
            for (var i = 0; i < history.Count; i++)
            {
                if (!times.Contains(history[i].Time)) continue;
                for (var j = 0; j < set.Count; j++)
                {
                    if (!columns.TryGetValue(set.Features[j], out var column)) columns[set.Features[j]] = column = [];
                    column.Add(rows[i][j]);
                }
            }
        }
        return columns;
    }

    /// <summary>
    /// The bars of a series from <paramref name="warmUp"/> bars before <paramref name="first"/> (all the older ones when the
    /// series has fewer) to <paramref name="last"/>: what a replay needs for feature values at those times. The bars are read
    /// back over twice the warm-up's span first, which is enough for a market open around the clock, then four times further
    /// each time while that holds fewer bars before <paramref name="first"/> and the series has older ones (nights, weekends,
    /// holidays). A fixed margin of days instead would replay weeks of minute bars for an hour's window.
    /// </summary>
    internal static async Task<IReadOnlyList<Bar>> HistoryAsync(IBarReader bars, string symbol, BarInterval interval, DateTimeOffset first,
        DateTimeOffset last, int warmUp, CancellationToken ct)
    {
        var back = TimeSpan.FromTicks(interval.Length.Ticks * 2 * Math.Max(1, warmUp));
        DateTimeOffset? oldest = null;
        while (true)
        {
            var from = first - back;
            var history = await bars.GetBarsAsync(new BarQuery(symbol, interval, from, last.AddTicks(1)), ct);
            var before = 0;
            while (before < history.Count && history[before].Time < first) before++;
            if (before >= warmUp) return history;
            oldest ??= (await bars.CoverageOfAsync(symbol, interval, ct))?.First ?? first;
            if (from <= oldest) return history;
            back = TimeSpan.FromTicks(Math.Min(back.Ticks * 4L, (first - DateTimeOffset.MinValue).Ticks));
        }
    }

    /// <summary>The realised-target distribution over the version's training window, or null when its bars are not in the store.</summary>
    internal async Task<ReferenceProfile?> TargetReferenceAsync(ModelFacts facts, BarInterval interval, CancellationToken ct)
    {
        var key = (facts.Model, facts.Version, interval.Name);
        if (_targets.TryGetValue(key, out var cached)) return cached;
        var now = clock.GetUtcNow();
        if (_missingTargets.TryGetValue(key, out var askedAt) && now - askedAt < ModelCatalog.MissingReferenceRetry) return null;
        var spec = new TargetSpec(facts.Kind, facts.Horizon);
        var values = new List<double>();
        foreach (var symbol in facts.Symbols)
        {
            var series = await bars.GetBarsAsync(new BarQuery(symbol, interval, facts.TrainedFrom, facts.TrainedTo.AddTicks(1)), ct);
            if (series.Count > facts.Horizon) values.AddRange(Targets.Compute(series, spec).Where(double.IsFinite));
        }
        var profile = values.Count >= 5 * options.Drift.Bins ? ReferenceProfile.From(values, options.Drift.Bins) : null;
        if (profile is not null)
        {
            _targets[key] = profile;
            _missingTargets.TryRemove(key, out _);
        }
        else
        {
            if (!_missingTargets.ContainsKey(key))
                logger.LogWarning("No target drift reference for {Model} v{Version}: its training bars ({Symbols}, {From:o}..{To:o}) are not in the offline store",
                    facts.Model, facts.Version, string.Join(",", facts.Symbols), facts.TrainedFrom, facts.TrainedTo);
            _missingTargets[key] = now;
        }
        return profile;
    }
}
