using Platform.Modeling.Datasets;
using Platform.Modeling.Targets;

namespace Platform.Modeling.Models;

/// <summary>An equal-weight average of its members' predictions. The payload is the list of member artifacts.</summary>
public sealed class EnsembleModel(IReadOnlyList<IModel> members, TargetSpec? target) : IModel
{
    public IReadOnlyList<IModel> Members { get; } = members.Count > 0 ? members : throw new ModelSpecException("An ensemble needs at least one member.");
    public string Kind => ModelKinds.Ensemble;
    public IReadOnlyList<string> FeatureNames => Members[0].FeatureNames;

    public double[] Predict(FeatureFrame frame)
    {
        var sum = new double[frame.Rows];
        foreach (var m in Members)
        {
            var p = m.Predict(frame);
            for (var i = 0; i < sum.Length; i++) sum[i] += p[i];
        }
        for (var i = 0; i < sum.Length; i++) sum[i] /= Members.Count;
        return sum;
    }

    public byte[] ToArtifact() => ModelArtifact.Write(Kind, "json", FeatureNames, target, new(StringComparer.Ordinal), null,
        ModelArtifact.JsonPayload(Members.Select(m => m.ToArtifact()).ToArray()));

    internal static EnsembleModel FromArtifact(ArtifactHeader header, byte[] payload) =>
        new(ModelArtifact.FromJsonPayload<byte[][]>(payload).Select(ModelFactory.Load).ToArray(), header.Target);

    public IReadOnlyDictionary<string, double> FeatureImportance()
    {
        var total = new Dictionary<string, double>();
        foreach (var m in Members)
            foreach (var (k, v) in m.FeatureImportance()) total[k] = total.GetValueOrDefault(k) + v / Members.Count;
        return total;
    }

    public void Dispose()
    {
        foreach (var m in Members) m.Dispose();
    }
}

/// <summary>Fits a <see cref="ModelSpec"/> and loads artifacts.</summary>
public static class ModelFactory
{
    public static IModel Fit(ModelSpec spec, TrainingData data) => spec.Kind switch
    {
        ModelKinds.Zero or ModelKinds.HistoricalMean or ModelKinds.LastValue => BaselineModel.Fit(spec, data),
        ModelKinds.HarRv => HarRvModel.Fit(data),
        ModelKinds.Ridge => RidgeModel.Fit(spec, data),
        ModelKinds.XGBoost => XGBoost.XGBoostModel.Fit(spec, data),
        ModelKinds.FastTree or ModelKinds.LightGbm => MlNet.MlNetTreeModel.Fit(spec, data),
        ModelKinds.Ensemble => FitEnsemble(spec, data),
        _ => throw new ModelSpecException(
            $"Unknown model kind '{spec.Kind}'. Known: zero, mean, last, har-rv, ridge, xgboost, fasttree, lightgbm, ensemble."),
    };

    private static EnsembleModel FitEnsemble(ModelSpec spec, TrainingData data)
    {
        if (spec.Members is not { Count: > 0 } members) throw new ModelSpecException("An ensemble spec needs members.");
        var fitted = new List<IModel>();
        try
        {
            for (var i = 0; i < members.Count; i++)
            {
                data.Cancellation.ThrowIfCancellationRequested();
                fitted.Add(Fit(members[i], data with { Seed = data.Seed + i }));
            }
            return new EnsembleModel(fitted, data.Target);
        }
        catch
        {
            foreach (var m in fitted) m.Dispose();
            throw;
        }
    }

    /// <summary>Loads a model from its artifact bytes (checks signature, format version and payload checksum).</summary>
    public static IModel Load(byte[] artifact)
    {
        var (header, payload) = ModelArtifact.Read(artifact);
        return header.Kind switch
        {
            ModelKinds.Zero or ModelKinds.HistoricalMean or ModelKinds.LastValue => BaselineModel.FromArtifact(header, payload),
            ModelKinds.HarRv => HarRvModel.FromArtifact(header, payload),
            ModelKinds.Ridge => RidgeModel.FromArtifact(header, payload),
            ModelKinds.XGBoost => XGBoost.XGBoostModel.FromArtifact(header, payload),
            ModelKinds.FastTree or ModelKinds.LightGbm => MlNet.MlNetTreeModel.FromArtifact(header, payload),
            ModelKinds.Ensemble => EnsembleModel.FromArtifact(header, payload),
            _ => throw new InvalidDataException($"Unknown model kind '{header.Kind}' in artifact."),
        };
    }
}
