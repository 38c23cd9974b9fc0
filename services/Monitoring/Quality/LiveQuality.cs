using Platform.Modeling.Targets;
using Platform.Modeling.Validation;
using Platform.OfflineStore.Monitoring;

namespace Platform.Monitoring.Quality;

/// <summary>Point metrics of one predictor on a window; NaN (null in JSON) where undefined.</summary>
public sealed record QualityMetrics(double? Ic, double? RankIc, double? Rmse, double? HitRate, double? Qlike);

/// <summary>
/// The model and its live baselines on the same joined predictions: <c>zero</c> (no view: 0, or 0.5 for direction; not
/// for volatility), <c>last</c> (the target realised over the h bars ending at the decision bar) and <c>trailing</c>
/// (the 22-bar trailing estimate). <see cref="Beats"/> says, per baseline, whether the model is better on the target's
/// ranking metric (QLIKE for volatility, hit rate for direction, rank IC for returns).
/// </summary>
public sealed record QualityWindow(int Size, int Count, DateTimeOffset? From, DateTimeOffset? To, string Metric, QualityMetrics Model,
    IReadOnlyDictionary<string, QualityMetrics> Baselines, IReadOnlyDictionary<string, bool?> Beats);

public static class LiveQuality
{
    public static string RankingMetric(TargetKind kind) => kind switch
    {
        TargetKind.Volatility => "qlike",
        TargetKind.Direction => "hit_rate",
        _ => "rank_ic",
    };

    /// <summary>Quality of the newest <paramref name="size"/> rows of <paramref name="joined"/> (newest first, all with outcomes).</summary>
    public static QualityWindow Compute(IReadOnlyList<PredictionWithOutcome> joined, int size, TargetKind kind)
    {
        var rows = joined.Take(size).ToList();
        var y = rows.Select(r => r.Outcome!.Realised).ToArray();
        var model = Metrics(y, rows.Select(r => r.Prediction.Value).ToArray(), kind);
        var baselines = new Dictionary<string, QualityMetrics>(StringComparer.Ordinal);
        if (kind != TargetKind.Volatility)
            baselines["zero"] = Metrics(y, Enumerable.Repeat(kind == TargetKind.Direction ? 0.5 : 0.0, rows.Count).ToArray(), kind);
        baselines["last"] = Metrics(y, rows.Select(r => r.Outcome!.Last).ToArray(), kind);
        baselines["trailing"] = Metrics(y, rows.Select(r => r.Outcome!.Trailing).ToArray(), kind);
        var metric = RankingMetric(kind);
        var beats = baselines.ToDictionary(b => b.Key, b => Better(model, b.Value, metric), StringComparer.Ordinal);
        return new QualityWindow(size, rows.Count, rows.Count > 0 ? rows[^1].Prediction.Time : null, rows.Count > 0 ? rows[0].Prediction.Time : null,
            metric, model, baselines, beats);
    }

    public static QualityMetrics Metrics(double[] y, double[] p, TargetKind kind)
    {
        var hit = kind == TargetKind.Direction
            ? Modeling.Validation.Metrics.HitRate(y.Select(v => v - 0.5).ToArray(), p.Select(v => v - 0.5).ToArray())
            : Modeling.Validation.Metrics.HitRate(y, p);
        return new QualityMetrics(
            N(Modeling.Validation.Metrics.Pearson(p, y)), N(Modeling.Validation.Metrics.Spearman(p, y)), N(Modeling.Validation.Metrics.Rmse(y, p)),
            kind == TargetKind.Volatility ? null : N(hit),
            kind == TargetKind.Volatility ? N(Modeling.Validation.Metrics.Qlike(y, p)) : null);
    }

    private static bool? Better(QualityMetrics model, QualityMetrics baseline, string metric)
    {
        var (m, b) = metric switch
        {
            "qlike" => (model.Qlike, baseline.Qlike),
            "hit_rate" => (model.HitRate, baseline.HitRate),
            _ => (model.RankIc, baseline.RankIc),
        };
        // A baseline whose metric is undefined (the constant zero has no rank IC) is beaten by any defined positive value.
        if (m is null) return null;
        if (b is null) return metric == "qlike" ? null : m > 0;
        return MetricSet.HigherIsBetter(metric) ? m > b : m < b;
    }

    private static double? N(double v) => double.IsFinite(v) ? v : null;
}
