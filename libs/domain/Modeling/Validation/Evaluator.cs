using Platform.Modeling.Datasets;
using Platform.Modeling.Models;
using Platform.Modeling.Targets;

namespace Platform.Modeling.Validation;

/// <summary>
/// Metrics of one set of out-of-sample predictions. Undefined values (a constant forecast has no IC) are null.
/// <see cref="Ic"/> and <see cref="RankIc"/> are cross-sectional (per date, averaged) when at least
/// <see cref="Evaluator.CrossSectionMinSymbols"/> symbols are pooled, time-series per symbol (averaged over symbols)
/// otherwise; <see cref="IcMode"/> says which.
/// </summary>
public sealed record MetricSet(
    int Count, double? Rmse, double? Mae, double? RSquared, double? Ic, double? RankIc, double? HitRate, double? Qlike,
    string IcMode)
{
    public double? Get(string metric) => metric.ToLowerInvariant() switch
    {
        "rmse" => Rmse,
        "mae" => Mae,
        "r2" or "rsquared" or "r_squared" => RSquared,
        "ic" => Ic,
        "rank_ic" or "rankic" => RankIc,
        "hit_rate" or "hitrate" => HitRate,
        "qlike" => Qlike,
        _ => throw new ArgumentException($"Unknown metric '{metric}'. Known: rmse, mae, r2, ic, rank_ic, hit_rate, qlike."),
    };

    /// <summary>True when a larger value of <paramref name="metric"/> is better.</summary>
    public static bool HigherIsBetter(string metric) => metric.ToLowerInvariant() switch
    {
        "rmse" or "mae" or "qlike" => false,
        _ => true,
    };
}

public sealed record FoldResult(int Fold, DateTimeOffset TrainStart, DateTimeOffset TrainEnd, DateTimeOffset TestStart, DateTimeOffset TestEnd,
    int TrainRows, int TestRows, int? BestIteration, MetricSet Metrics);

/// <summary>
/// A walk-forward report: per-fold metrics, their mean (<see cref="Aggregate"/>), the information ratios of the IC
/// series (per date when cross-sectional, per fold otherwise) and the metrics of all out-of-sample predictions pooled.
/// <see cref="Unavailable"/> is set (and there are no folds) when the model kind cannot run on this machine.
/// <see cref="Final"/> is the score on the untouched final period (fitted on all inner rows with <see cref="Refit"/>),
/// <see cref="Seconds"/> the wall time the candidate took, <see cref="SearchTrials"/> every trial of a search around it.
/// </summary>
public sealed record ValidationReport(string Model, ModelSpec Spec, string Target, IReadOnlyList<FoldResult> Folds,
    MetricSet Aggregate, MetricSet Pooled, double? Icir, double? RankIcir, string? Unavailable = null,
    MetricSet? Final = null, ModelSpec? Refit = null, double? Seconds = null, IReadOnlyList<ValidationReport>? SearchTrials = null)
{
    /// <summary>A report for a candidate that could not run: no folds, no metrics, the reason.</summary>
    public static ValidationReport ForUnavailable(ModelSpec spec, string target, string reason)
    {
        var empty = new MetricSet(0, null, null, null, null, null, null, null, "none");
        return new ValidationReport(spec.Describe(), spec, target, [], empty, empty, null, null, reason);
    }

    public double? Score(string metric) => metric.ToLowerInvariant() switch
    {
        "icir" => Icir,
        "rank_icir" => RankIcir,
        _ => Aggregate.Get(metric),
    };
}

public static class Evaluator
{
    public const int CrossSectionMinSymbols = 10;
    /// <summary>Share of each training window held out (after a purge gap) to early-stop models that support it.</summary>
    public const double EarlyStoppingFraction = 0.2;

    public sealed record Progress(int Fold, int Folds, string Model);

    /// <summary>Fits <paramref name="spec"/> on every fold's training rows and scores it on the test rows.</summary>
    public static ValidationReport Evaluate(Dataset dataset, IReadOnlyList<Fold> folds, ModelSpec spec, int seed,
        IProgress<Progress>? progress = null, CancellationToken ct = default)
    {
        var results = new List<FoldResult>();
        var oosY = new List<double>();
        var oosP = new List<double>();
        var oosRows = new List<int>();
        var icSeries = new List<double>();
        var rankIcSeries = new List<double>();
        foreach (var fold in folds)
        {
            ct.ThrowIfCancellationRequested();
            progress?.Report(new Progress(fold.Index, folds.Count, spec.Describe()));
            using var model = Fit(dataset, fold.TrainRows, spec, seed, ct);
            var (testX, testY) = dataset.Take(fold.TestRows);
            var p = model.Predict(testX);
            var metrics = Score(dataset, fold.TestRows, testY, p, out var dateIcs, out var dateRankIcs);
            results.Add(new FoldResult(fold.Index, fold.TrainStart, fold.TrainEnd, fold.TestStart, fold.TestEnd,
                fold.TrainRows.Length, fold.TestRows.Length, model.BestIteration, metrics));
            oosY.AddRange(testY);
            oosP.AddRange(p);
            oosRows.AddRange(fold.TestRows);
            if (dateIcs is not null) { icSeries.AddRange(dateIcs); rankIcSeries.AddRange(dateRankIcs!); }
            else { icSeries.Add(metrics.Ic ?? double.NaN); rankIcSeries.Add(metrics.RankIc ?? double.NaN); }
        }
        var pooled = Score(dataset, oosRows, oosY.ToArray(), oosP.ToArray(), out _, out _);
        var aggregate = Mean(results.Select(r => r.Metrics).ToList(), pooled.IcMode);
        return new ValidationReport(spec.Describe(), spec, dataset.Target.Id, results, aggregate, pooled,
            Clean(Metrics.InformationRatio(icSeries)), Clean(Metrics.InformationRatio(rankIcSeries)));
    }

    /// <summary>
    /// Fits on <paramref name="trainRows"/>, holding out the last part for early stopping when the model supports it.
    /// <paramref name="ct"/> stops the fit itself (between boosting rounds), not only between folds.
    /// </summary>
    public static IModel Fit(Dataset dataset, IReadOnlyList<int> trainRows, ModelSpec spec, int seed, CancellationToken ct = default)
    {
        var (fit, valid) = FittingRows(dataset, trainRows, spec);
        var (fx, fy) = dataset.Take(fit);
        if (valid.Length == 0) return ModelFactory.Fit(spec, new TrainingData(fx, fy, dataset.Target, seed, Cancellation: ct));
        var (vx, vy) = dataset.Take(valid);
        return ModelFactory.Fit(spec, new TrainingData(fx, fy, dataset.Target, seed, vx, vy, ct));
    }

    /// <summary>The rows <see cref="Fit"/> trains on and the rows it holds out for early stopping (none unless the spec early-stops).</summary>
    public static (int[] Fit, int[] Valid) FittingRows(Dataset dataset, IReadOnlyList<int> trainRows, ModelSpec spec)
    {
        if (UsesEarlyStopping(spec))
        {
            var (fit, valid) = WalkForward.EarlyStoppingSplit(dataset.Times, trainRows, EarlyStoppingFraction, dataset.Target.Horizon);
            if (valid.Length > 0) return (fit, valid);
        }
        return (trainRows.ToArray(), []);
    }

    private static bool UsesEarlyStopping(ModelSpec spec) =>
        spec.Kind == ModelKinds.XGBoost && spec.Int("early_stopping_rounds", 30) > 0
        || spec.Kind == ModelKinds.Ensemble && spec.Members?.Any(UsesEarlyStopping) == true;

    /// <summary>Metrics of predictions <paramref name="p"/> for dataset rows <paramref name="rows"/> with labels <paramref name="y"/>.</summary>
    public static MetricSet Score(Dataset dataset, IReadOnlyList<int> rows, double[] y, double[] p,
        out List<double>? dateIcs, out List<double>? dateRankIcs)
    {
        var kind = dataset.Target.Kind;
        var crossSection = dataset.Symbols.Count >= CrossSectionMinSymbols;
        double ic, rankIc;
        dateIcs = dateRankIcs = null;
        if (crossSection)
        {
            dateIcs = [];
            dateRankIcs = [];
            foreach (var group in Enumerable.Range(0, rows.Count).GroupBy(k => dataset.Times[rows[k]]))
            {
                var idx = group.ToArray();
                if (idx.Length < 3) continue;
                var gy = idx.Select(k => y[k]).ToArray();
                var gp = idx.Select(k => p[k]).ToArray();
                dateIcs.Add(Metrics.Pearson(gp, gy));
                dateRankIcs.Add(Metrics.Spearman(gp, gy));
            }
            ic = Metrics.Mean(dateIcs);
            rankIc = Metrics.Mean(dateRankIcs);
        }
        else
        {
            var ics = new List<double>();
            var rankIcs = new List<double>();
            foreach (var group in Enumerable.Range(0, rows.Count).GroupBy(k => dataset.SymbolIndex[rows[k]]))
            {
                var idx = group.ToArray();
                var gy = idx.Select(k => y[k]).ToArray();
                var gp = idx.Select(k => p[k]).ToArray();
                ics.Add(Metrics.Pearson(gp, gy));
                rankIcs.Add(Metrics.Spearman(gp, gy));
            }
            ic = Metrics.Mean(ics);
            rankIc = Metrics.Mean(rankIcs);
        }
        double hit = kind switch
        {
            TargetKind.Return => Metrics.HitRate(y, p),
            TargetKind.Direction => Metrics.HitRate(y.Select(v => v - 0.5).ToArray(), p.Select(v => v - 0.5).ToArray()),
            _ => double.NaN,
        };
        return new MetricSet(y.Length, Clean(Metrics.Rmse(y, p)), Clean(Metrics.Mae(y, p)), Clean(Metrics.RSquared(y, p)),
            Clean(ic), Clean(rankIc), Clean(hit), kind == TargetKind.Volatility ? Clean(Metrics.Qlike(y, p)) : null,
            crossSection ? "cross-sectional" : "time-series");
    }

    private static MetricSet Mean(IReadOnlyList<MetricSet> sets, string icMode)
    {
        double? M(Func<MetricSet, double?> f)
        {
            var v = sets.Select(f).Where(x => x.HasValue).Select(x => x!.Value).ToList();
            return v.Count == 0 ? null : v.Average();
        }
        return new MetricSet(sets.Sum(s => s.Count), M(s => s.Rmse), M(s => s.Mae), M(s => s.RSquared), M(s => s.Ic),
            M(s => s.RankIc), M(s => s.HitRate), M(s => s.Qlike), icMode);
    }

    internal static double? Clean(double v) => double.IsNaN(v) || double.IsInfinity(v) ? null : v;
}
