using Platform.Modeling.Datasets;
using Platform.Modeling.Models;

namespace Platform.Modeling.Validation;

/// <summary>
/// A dataset split for nested evaluation: <see cref="Inner"/> rows (search and selection run walk-forward folds on
/// them) and <see cref="Final"/> rows, the last distinct decision times, which neither search nor selection ever
/// sees. Inner rows are purged: their labels are realised before <see cref="FinalStart"/>.
/// </summary>
public sealed record HoldoutSplit(int[] Inner, int[] Final, DateTimeOffset FinalStart, DateTimeOffset FinalEnd)
{
    /// <summary>The last <paramref name="fraction"/> of the distinct decision times (at least one) form the final period.</summary>
    public static HoldoutSplit Create(Dataset dataset, double fraction)
    {
        if (fraction is <= 0 or >= 1) throw new ArgumentException($"The final-period fraction must be in (0, 1), got {fraction}.", nameof(fraction));
        var distinct = dataset.DistinctTimes();
        if (distinct.Length < 2) throw new ArgumentException("Too little history for a final period.", nameof(dataset));
        var count = Math.Max(1, (int)(distinct.Length * fraction));
        var start = distinct[^count];
        var inner = new List<int>();
        var final = new List<int>();
        for (var r = 0; r < dataset.Rows; r++)
        {
            if (dataset.Times[r] >= start) final.Add(r);
            else if (dataset.LabelEnd[r] < start) inner.Add(r);
        }
        return new HoldoutSplit(inner.ToArray(), final.ToArray(), start, distinct[^1]);
    }

    /// <summary>Walk-forward folds over the inner rows only (row indices are the dataset's).</summary>
    public IReadOnlyList<Fold> InnerFolds(Dataset dataset, WalkForwardOptions options)
    {
        var times = Inner.Select(r => dataset.Times[r]).ToArray();
        var labelEnd = Inner.Select(r => dataset.LabelEnd[r]).ToArray();
        return WalkForward.Split(times, labelEnd, dataset.Target.Horizon, options)
            .Select(f => f with { TrainRows = f.TrainRows.Select(i => Inner[i]).ToArray(), TestRows = f.TestRows.Select(i => Inner[i]).ToArray() })
            .ToList();
    }
}

/// <summary>Scores on the untouched final period, and the refit rule.</summary>
public static class FinalPeriod
{
    /// <summary>
    /// The spec a model is refitted with once validation is over: for XGBoost, the median number of boosting rounds
    /// early stopping kept across the folds, with early stopping off, so the refit uses every row it is given (none
    /// held out). Other kinds refit as they are.
    /// </summary>
    public static ModelSpec RefitSpec(ModelSpec spec, IReadOnlyList<FoldResult> folds)
    {
        if (spec.Kind == ModelKinds.Ensemble && spec.Members is { Count: > 0 } members)
            return spec with { Members = members.Select(m => RefitSpec(m, folds)).ToList() };
        if (spec.Kind != ModelKinds.XGBoost) return spec;
        var best = folds.Where(f => f.BestIteration is > 0).Select(f => f.BestIteration!.Value).Order().ToArray();
        var refit = spec.With("early_stopping_rounds", "0");
        return best.Length == 0 ? refit : refit.With("num_boost_round", best[best.Length / 2].ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>Fits <paramref name="spec"/> on the inner rows and scores it on the final period.</summary>
    public static MetricSet Score(Dataset dataset, HoldoutSplit split, ModelSpec spec, int seed, CancellationToken ct = default)
    {
        using var model = Evaluator.Fit(dataset, split.Inner, spec, seed, ct);
        return Score(dataset, split, model);
    }

    /// <summary>Scores an already fitted model (a re-scored champion) on the final period.</summary>
    public static MetricSet Score(Dataset dataset, HoldoutSplit split, IModel model)
    {
        var (x, y) = dataset.Take(split.Final);
        return Evaluator.Score(dataset, split.Final, y, model.Predict(x), out _, out _);
    }
}

/// <summary>One model's score on the final period, as the gate sees it.</summary>
public sealed record GateEntry(string Model, double? Value);

/// <summary>The gate's verdict and why.</summary>
public sealed record GateDecision(bool Promote, string Reason);

/// <summary>
/// The promotion gate: the winner goes to Production only when, on the same untouched final period and by the
/// policy's metric, it beats the best baseline and the current champion (re-scored there, not its old numbers) by
/// more than <paramref name="minImprovement"/>. Otherwise it is registered and stays out of Production, with the reason.
/// For correlation metrics (IC, rank IC and their ratios) a constant baseline, whose correlation is undefined, counts
/// as 0 (no skill): a winner with a negative IC never passes because the last-value baseline did worse.
/// </summary>
public static class PromotionGate
{
    private static readonly HashSet<string> Correlations = new(StringComparer.OrdinalIgnoreCase) { "ic", "rank_ic", "rankic", "icir", "rank_icir" };

    /// <summary>
    /// Promote when the winner beats the best baseline and the re-scored champion by more than
    /// <paramref name="minImprovement"/>: absolute, or a fraction of the other side's |value| when <paramref name="relative"/>
    /// (as <see cref="Platform.Modeling.Registry.PromotionPolicy"/> reads it).
    /// </summary>
    public static GateDecision Decide(string metric, GateEntry winner, IReadOnlyList<GateEntry> baselines, GateEntry? champion,
        double minImprovement = 0.0, bool relative = false)
    {
        var higher = MetricSet.HigherIsBetter(metric);
        if (winner.Value is not { } w) return new(false, $"{winner.Model} has no {metric} on the final period.");
        bool Beats(double other) => (higher ? w - other : other - w) > (relative ? minImprovement * Math.Abs(other) : minImprovement);
        var scored = baselines.Select(b => b.Value is null && Correlations.Contains(metric) ? b with { Value = 0.0 } : b)
            .Where(b => b.Value.HasValue).ToList();
        if (scored.Count > 0)
        {
            var best = higher ? scored.MaxBy(b => b.Value!.Value)! : scored.MinBy(b => b.Value!.Value)!;
            if (!Beats(best.Value!.Value))
                return new(false, $"{winner.Model} {metric} {w:G4} does not beat the best baseline {best.Model} ({best.Value:G4}) on the final period.");
        }
        if (champion is not null)
        {
            if (champion.Value is not { } c)
                return new(false, $"The champion {champion.Model} could not be re-scored on the final period; promote by hand if intended.");
            if (!Beats(c))
                return new(false, $"{winner.Model} {metric} {w:G4} does not beat the champion {champion.Model} re-scored on the final period ({c:G4}).");
        }
        var against = scored.Count == 0 ? "no baseline has a value" : $"best baseline {(higher ? scored.Max(b => b.Value) : scored.Min(b => b.Value)):G4}";
        return new(true, $"{winner.Model} {metric} {w:G4} on the final period beats {against}"
            + (champion is null ? " (no champion yet)." : $" and the champion {champion.Model} ({champion.Value:G4})."));
    }
}
