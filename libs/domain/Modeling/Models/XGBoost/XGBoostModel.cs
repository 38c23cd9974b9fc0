using System.Globalization;
using Platform.Modeling.Datasets;
using Platform.Modeling.Targets;

namespace Platform.Modeling.Models.XGBoost;

/// <summary>
/// Gradient-boosted trees (XGBoost). Spec parameters are XGBoost's own (eta, max_depth, subsample, ...) plus
/// <c>num_boost_round</c> (default 300) and <c>early_stopping_rounds</c> (default 30; used when validation rows are
/// given: training stops when the validation metric has not improved for that many rounds and the model keeps the
/// best rounds only). The payload is XGBoost's UBJSON model.
/// </summary>
public sealed class XGBoostModel : IModel
{
    private static readonly HashSet<string> ControlParameters = ["num_boost_round", "early_stopping_rounds", "nthread"];
    private readonly Booster _booster;
    private readonly TargetSpec? _target;
    private readonly SortedDictionary<string, string> _parameters;

    private XGBoostModel(Booster booster, IReadOnlyList<string> names, TargetSpec? target, SortedDictionary<string, string> parameters, int? best)
    {
        _booster = booster;
        FeatureNames = names;
        _target = target;
        _parameters = parameters;
        BestIteration = best;
    }

    public string Kind => ModelKinds.XGBoost;
    public IReadOnlyList<string> FeatureNames { get; }
    public int? BestIteration { get; }
    public Booster Booster => _booster;

    /// <summary>The XGBoost parameters used for <paramref name="target"/>: defaults, then the spec's, then the seed.</summary>
    public static SortedDictionary<string, string> EffectiveParameters(ModelSpec spec, TargetSpec target, int seed)
    {
        var p = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["objective"] = target.Kind == TargetKind.Direction ? "binary:logistic" : "reg:squarederror",
            ["tree_method"] = "hist",
            ["eta"] = "0.05",
            ["max_depth"] = "6",
            ["min_child_weight"] = "1",
            ["subsample"] = "0.8",
            ["colsample_bytree"] = "0.8",
            ["lambda"] = "1",
            ["max_bin"] = "256",
            ["seed"] = seed.ToString(CultureInfo.InvariantCulture),
            ["num_boost_round"] = "300",
            ["early_stopping_rounds"] = "30",
        };
        foreach (var (k, v) in spec.Parameters) p[k] = v;
        return p;
    }

    public static XGBoostModel Fit(ModelSpec spec, TrainingData data, Action<int, double?>? onRound = null)
    {
        var parameters = EffectiveParameters(spec, data.Target, data.Seed);
        var rounds = int.Parse(parameters["num_boost_round"], CultureInfo.InvariantCulture);
        var patience = int.Parse(parameters["early_stopping_rounds"], CultureInfo.InvariantCulture);
        var nthread = parameters.TryGetValue("nthread", out var nt) ? nt : Environment.ProcessorCount.ToString(CultureInfo.InvariantCulture);
        if (rounds < 1) throw new ModelSpecException($"xgboost: num_boost_round must be >= 1, got {rounds}.");

        using var train = new DMatrix(data.X.Values, data.X.Rows, data.X.Columns, data.Y);
        using var valid = data.ValidX is { Rows: > 0 } vx && data.ValidY is { } vy ? new DMatrix(vx.Values, vx.Rows, vx.Columns, vy) : null;
        var booster = valid is null ? Booster.Create(train) : Booster.Create(train, valid);
        try
        {
            booster.SetParameter("nthread", nthread);
            booster.SetParameters(parameters.Where(p => !ControlParameters.Contains(p.Key)));
            var best = -1;
            var bestScore = double.PositiveInfinity;
            var higherIsBetter = false;
            for (var i = 0; i < rounds; i++)
            {
                data.Cancellation.ThrowIfCancellationRequested();
                booster.UpdateOneIteration(i, train);
                double? score = null;
                if (valid is not null)
                {
                    var (metric, value) = booster.Evaluate(i, valid);
                    higherIsBetter = metric.StartsWith("auc", StringComparison.Ordinal) || metric.StartsWith("map", StringComparison.Ordinal) || metric.StartsWith("ndcg", StringComparison.Ordinal);
                    var s = higherIsBetter ? -value : value;
                    if (s < bestScore) { bestScore = s; best = i; }
                    score = value;
                }
                onRound?.Invoke(i, score);
                if (valid is not null && i - best >= patience) break;
            }
            int? bestIteration = null;
            if (valid is not null && best >= 0)
            {
                booster.Truncate(best + 1);
                bestIteration = best + 1;
            }
            var stored = new SortedDictionary<string, string>(parameters.Where(p => p.Key != "nthread").ToDictionary(), StringComparer.Ordinal);
            return new XGBoostModel(booster, data.X.Names, data.Target, stored, bestIteration);
        }
        catch
        {
            booster.Dispose();
            throw;
        }
    }

    public double[] Predict(FeatureFrame frame)
    {
        if (frame.Columns != FeatureNames.Count)
            throw new ArgumentException($"xgboost: the model has {FeatureNames.Count} features, the frame {frame.Columns}.", nameof(frame));
        if (frame.Rows == 0) return [];
        var p = frame.Rows <= 64
            ? _booster.PredictDense(frame.Values, frame.Rows, frame.Columns)
            : PredictBatch(frame);
        var result = Array.ConvertAll(p, v => (double)v);
        Targets.Targets.FloorVolatility(_target, result);
        return result;
    }

    private float[] PredictBatch(FeatureFrame frame)
    {
        using var m = new DMatrix(frame.Values, frame.Rows, frame.Columns);
        return _booster.Predict(m);
    }

    public byte[] ToArtifact() => ModelArtifact.Write(Kind, "ubj", FeatureNames, _target, _parameters, BestIteration, _booster.Save("ubj"));

    internal static XGBoostModel FromArtifact(ArtifactHeader header, byte[] payload) =>
        new(Booster.Load(payload), header.FeatureNames, header.Target, header.Parameters, header.BestIteration);

    /// <summary>Total gain per feature (features never split on are absent).</summary>
    public IReadOnlyDictionary<string, double> FeatureImportance() =>
        _booster.FeatureImportance("total_gain").Where(kv => kv.Key < FeatureNames.Count).ToDictionary(kv => FeatureNames[kv.Key], kv => kv.Value);

    public void Dispose() => _booster.Dispose();
}
