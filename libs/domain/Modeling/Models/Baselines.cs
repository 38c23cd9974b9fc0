using Platform.Modeling.Datasets;
using Platform.Modeling.Targets;

namespace Platform.Modeling.Models;

/// <summary>
/// Baselines every model must beat. <c>zero</c>: 0 (0.5 for direction: no view). <c>mean</c>: the training mean of
/// the target. <c>last</c>: the most recent realised target at decision time (the dataset's
/// <see cref="AuxColumns.LastTarget"/>), the training mean where that is unknown.
/// </summary>
public sealed class BaselineModel : IModel
{
    private readonly State _state;

    private sealed record State(string Kind, double Constant, TargetSpec? Target, IReadOnlyList<string> FeatureNames);

    private BaselineModel(State state) => _state = state;

    public static BaselineModel Fit(ModelSpec spec, TrainingData data)
    {
        var mean = data.Y.Length == 0 ? 0 : data.Y.Average();
        var constant = spec.Kind switch
        {
            ModelKinds.Zero => data.Target.Kind == TargetKind.Direction ? 0.5 : 0.0,
            ModelKinds.HistoricalMean or ModelKinds.LastValue => mean,
            _ => throw new ModelSpecException($"'{spec.Kind}' is not a baseline."),
        };
        return new BaselineModel(new State(spec.Kind, constant, data.Target, data.X.Names));
    }

    public string Kind => _state.Kind;
    public IReadOnlyList<string> FeatureNames => _state.FeatureNames;

    public double[] Predict(FeatureFrame frame)
    {
        var p = new double[frame.Rows];
        if (Kind == ModelKinds.LastValue)
        {
            var last = frame.AuxOrNaN(AuxColumns.LastTarget);
            for (var i = 0; i < p.Length; i++) p[i] = double.IsNaN(last[i]) ? _state.Constant : last[i];
        }
        else Array.Fill(p, _state.Constant);
        Targets.Targets.FloorVolatility(_state.Target, p);
        return p;
    }

    public byte[] ToArtifact() =>
        ModelArtifact.Write(Kind, "json", FeatureNames, _state.Target, new(StringComparer.Ordinal), null, ModelArtifact.JsonPayload(new { constant = _state.Constant }));

    internal static BaselineModel FromArtifact(ArtifactHeader header, byte[] payload)
    {
        var constant = System.Text.Json.JsonDocument.Parse(payload).RootElement.GetProperty("constant").GetDouble();
        return new BaselineModel(new State(header.Kind, constant, header.Target, header.FeatureNames));
    }

    public IReadOnlyDictionary<string, double> FeatureImportance() => new Dictionary<string, double>();

    public void Dispose() { }
}
