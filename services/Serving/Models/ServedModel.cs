using Platform.Modeling.Datasets;
using Platform.Modeling.Models;
using Platform.Modeling.Models.XGBoost;
using Platform.Modeling.Targets;

namespace Platform.Serving.Models;

/// <summary>
/// A loaded model version. Requests hold it through a <see cref="Lease"/>; when a newer version replaces it, the
/// snapshot's own reference is dropped and the native model is freed only once the last in-flight request has released
/// its lease, so a swap never pulls a model out from under a running prediction.
/// </summary>
public sealed class ServedModel
{
    private readonly IModel _model;
    private readonly XGBoostModel? _xgboost;
    // The XGBoost fast path below bypasses the model's own Predict, so it applies the model's volatility floor itself.
    private readonly bool _floorAtVolatilityMinimum;
    // One reference held by the snapshot that publishes this model, plus one per in-flight request.
    private int _references = 1;

    public ServedModel(ModelArtifactBytes source, TimeProvider clock)
    {
        var sha = ModelArtifact.Sha256(source.Artifact);
        if (!string.Equals(sha, source.ArtifactSha256, StringComparison.OrdinalIgnoreCase))
            throw new InvalidDataException($"Artifact of {source.Model} v{source.Version} has SHA-256 {sha}, the registry says {source.ArtifactSha256}.");
        _model = ModelFactory.Load(source.Artifact);
        _xgboost = _model as XGBoostModel;
        _floorAtVolatilityMinimum = TargetSpec.ParseKind(source.Target) == TargetKind.Volatility;
        Name = source.Model;
        Version = source.Version;
        ArtifactSha256 = sha;
        FeatureSet = source.FeatureSet;
        FeatureSetHash = source.FeatureSetHash;
        Target = source.Target;
        Horizon = source.Horizon;
        FeatureNames = _model.FeatureNames;
        LoadedAt = clock.GetUtcNow();
        // XGBoost configures a booster lazily on its first prediction: do it now, not on a user's request.
        if (FeatureNames.Count > 0) Predict(new float[FeatureNames.Count]);
    }

    public string Name { get; }
    public int Version { get; }
    public string ArtifactSha256 { get; }
    public string Kind => _model.Kind;
    public string FeatureSet { get; }
    public string FeatureSetHash { get; }
    public string Target { get; }
    public int Horizon { get; }
    public IReadOnlyList<string> FeatureNames { get; }
    public DateTimeOffset LoadedAt { get; }
    public bool IsRetired => Volatile.Read(ref _references) == 0;
    /// <summary>Requests holding a lease right now (the snapshot's own reference excluded).</summary>
    public int InFlight => Math.Max(0, Volatile.Read(ref _references) - 1);

    /// <summary>One row, in <see cref="FeatureNames"/> order (NaN = missing). Call only while holding a lease.</summary>
    public double Predict(ReadOnlySpan<float> row)
    {
        if (_xgboost is not null)
        {
            double value = _xgboost.Booster.PredictDense(row, 1, row.Length)[0];
            return _floorAtVolatilityMinimum ? Math.Max(value, Targets.VolatilityFloor) : value;
        }
        return _model.Predict(new FeatureFrame(row.ToArray(), 1, FeatureNames))[0];
    }

    /// <summary>
    /// The row this model takes from a named vector of <paramref name="count"/> values (<paramref name="value"/>(i), NaN
    /// where undefined), or null with the first feature the vector lacks. A vector in the model's own order (the usual
    /// case) is copied without a lookup.
    /// </summary>
    public float[]? MapRow(IReadOnlyList<string> names, int count, Func<int, double> value, out string? missing)
    {
        missing = null;
        var row = new float[FeatureNames.Count];
        if (names.Count == row.Length && count == row.Length && names.SequenceEqual(FeatureNames, StringComparer.Ordinal))
        {
            for (var i = 0; i < row.Length; i++) row[i] = (float)value(i);
            return row;
        }
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < names.Count && i < count; i++) index[names[i]] = i;
        for (var i = 0; i < row.Length; i++)
        {
            if (!index.TryGetValue(FeatureNames[i], out var at))
            {
                missing = FeatureNames[i];
                return null;
            }
            row[i] = (float)value(at);
        }
        return row;
    }

    internal bool TryAcquire()
    {
        while (true)
        {
            var current = Volatile.Read(ref _references);
            if (current == 0) return false;
            if (Interlocked.CompareExchange(ref _references, current + 1, current) == current) return true;
        }
    }

    internal void Release()
    {
        if (Interlocked.Decrement(ref _references) == 0) _model.Dispose();
    }

    /// <summary>Drops the snapshot's reference: the model is freed when the last lease is released.</summary>
    internal void Retire() => Release();
}

/// <summary>
/// A request's hold on one model version; dispose it when the prediction is done. Each lease counts as one answer of
/// that version (<c>serving_predictions_total{model,version}</c>, a batch once) and its duration as the request's time on
/// the model (<c>serving_prediction_duration_seconds</c>: features, inference and answer).
/// </summary>
public readonly struct Lease(ServedModel model) : IDisposable
{
    private readonly long _started = System.Diagnostics.Stopwatch.GetTimestamp();

    public ServedModel Model { get; } = model;

    public void Dispose()
    {
        ServingMetrics.Answered(Model, System.Diagnostics.Stopwatch.GetElapsedTime(_started));
        Model.Release();
    }
}

/// <summary>The predictions this process answered, by model and version (meter <c>Platform.Serving</c>).</summary>
public static class ServingMetrics
{
    private static readonly System.Diagnostics.Metrics.Meter Meter = new(ModelReconciler.MeterName);

    private static readonly System.Diagnostics.Metrics.Counter<long> Predictions = Meter.CreateCounter<long>("serving.predictions", "{request}",
        "Prediction requests answered, by model and version (a batch counts once).");

    private static readonly System.Diagnostics.Metrics.Histogram<double> Duration = Meter.CreateHistogram<double>("serving.prediction.duration", "s",
        "Time a prediction request holds its model version: features, inference and answer.");

    internal static void Answered(ServedModel model, TimeSpan elapsed)
    {
        var tags = new System.Diagnostics.TagList { { "model", model.Name }, { "version", model.Version } };
        Predictions.Add(1, tags);
        Duration.Record(elapsed.TotalSeconds, new KeyValuePair<string, object?>("model", model.Name));
    }
}
