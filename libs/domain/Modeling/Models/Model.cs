using System.Globalization;
using System.Text.Json.Serialization;
using Platform.Modeling.Datasets;
using Platform.Modeling.Targets;

namespace Platform.Modeling.Models;

/// <summary>Model kinds the factory knows.</summary>
public static class ModelKinds
{
    public const string Zero = "zero";
    public const string HistoricalMean = "mean";
    public const string LastValue = "last";
    public const string HarRv = "har-rv";
    public const string Ridge = "ridge";
    public const string XGBoost = "xgboost";
    public const string FastTree = "fasttree";
    public const string LightGbm = "lightgbm";
    public const string Ensemble = "ensemble";

    public static readonly IReadOnlyList<string> Baselines = [Zero, HistoricalMean, LastValue, HarRv];
}

/// <summary>
/// A model to fit: its kind, its parameters (strings, sorted, so a spec serializes the same way every time) and,
/// for an ensemble, its members.
/// </summary>
public sealed record ModelSpec(string Kind, SortedDictionary<string, string>? Parameters = null, IReadOnlyList<ModelSpec>? Members = null)
{
    public SortedDictionary<string, string> Parameters { get; init; } = Parameters ?? new(StringComparer.Ordinal);

    public string Describe() => Kind == ModelKinds.Ensemble && Members is { Count: > 0 }
        ? $"ensemble({string.Join(", ", Members.Select(m => m.Describe()))})"
        : Parameters.Count == 0 ? Kind : $"{Kind}({string.Join(", ", Parameters.Select(p => p.Key + "=" + p.Value))})";

    public double Double(string name, double fallback) =>
        Parameters.TryGetValue(name, out var v) ? double.Parse(v, CultureInfo.InvariantCulture) : fallback;

    public int Int(string name, int fallback) =>
        Parameters.TryGetValue(name, out var v) ? (int)Math.Round(double.Parse(v, CultureInfo.InvariantCulture)) : fallback;

    public ModelSpec With(string name, string value)
    {
        var p = new SortedDictionary<string, string>(Parameters, StringComparer.Ordinal) { [name] = value };
        return this with { Parameters = p };
    }
}

/// <summary>Training input: the fitting rows, optional later validation rows (early stopping), the target, a seed.</summary>
public sealed record TrainingData(FeatureFrame X, double[] Y, TargetSpec Target, int Seed,
    FeatureFrame? ValidX = null, double[]? ValidY = null, CancellationToken Cancellation = default);

/// <summary>A fitted model. Predictions are on the target's scale (a probability for direction).</summary>
public interface IModel : IDisposable
{
    string Kind { get; }
    IReadOnlyList<string> FeatureNames { get; }
    double[] Predict(FeatureFrame frame);
    /// <summary>The versioned artifact (header + payload): same data and seed give the same bytes.</summary>
    byte[] ToArtifact();
    /// <summary>Per-feature importance (name → score), empty when the model has none.</summary>
    IReadOnlyDictionary<string, double> FeatureImportance();
    /// <summary>The number of boosting rounds kept after early stopping, when that applies.</summary>
    int? BestIteration => null;
}

/// <summary>
/// A model kind cannot run on this machine (its native library is missing or does not load). A training run records
/// the candidate as unavailable with this message and carries on with the others.
/// </summary>
public sealed class ModelUnavailableException(string kind, string message, Exception? inner = null) : Exception(message, inner)
{
    public string Kind { get; } = kind;
}

/// <summary>A model specification could not be fitted as asked (unknown kind, bad parameter, wrong target).</summary>
public sealed class ModelSpecException(string message) : Exception(message);
