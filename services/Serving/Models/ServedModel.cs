using Platform.Modeling.Datasets;
using Platform.Modeling.Models;
using Platform.Modeling.Models.XGBoost;

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
    // One reference held by the snapshot that publishes this model, plus one per in-flight request.
    private int _references = 1;

    public ServedModel(ModelArtifactBytes source, TimeProvider clock)
    {
        var sha = ModelArtifact.Sha256(source.Artifact);
        if (!string.Equals(sha, source.ArtifactSha256, StringComparison.OrdinalIgnoreCase))
            throw new InvalidDataException($"Artifact of {source.Model} v{source.Version} has SHA-256 {sha}, the registry says {source.ArtifactSha256}.");
        _model = ModelFactory.Load(source.Artifact);
        _xgboost = _model as XGBoostModel;
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
        if (_xgboost is not null) return _xgboost.Booster.PredictDense(row, 1, row.Length)[0];
        return _model.Predict(new FeatureFrame(row.ToArray(), 1, FeatureNames))[0];
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

/// <summary>A request's hold on one model version; dispose it when the prediction is done.</summary>
public readonly struct Lease(ServedModel model) : IDisposable
{
    public ServedModel Model { get; } = model;
    public void Dispose() => Model.Release();
}
