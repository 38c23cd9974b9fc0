using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Calibrators;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers.FastTree;
using Microsoft.ML.Trainers.LightGbm;
using Platform.Modeling.Datasets;
using Platform.Modeling.Targets;

namespace Platform.Modeling.Models.MlNet;

/// <summary>
/// ML.NET gradient-boosted trees: FastTree (managed) and LightGBM (its native library ships inside the NuGet package).
/// Regression for return and volatility targets, binary classification (a probability) for direction. Parameters:
/// <c>trees</c> (default 100), <c>leaves</c> (20), <c>min_leaf</c> (20), <c>learning_rate</c> (0.05), <c>threads</c> (1).
/// FastTree gets missing features as 0; LightGBM handles missing values itself. Volatility forecasts are floored at
/// <see cref="Targets.Targets.VolatilityFloor"/> so they are positive by construction. The payload is JSON: the ML.NET
/// model zip and the feature importance computed at fit time (split gain per feature).
/// </summary>
public sealed class MlNetTreeModel : IModel
{
    private readonly MLContext _ml;
    private readonly ITransformer _transformer;
    private readonly TargetSpec? _target;
    private readonly SortedDictionary<string, string> _parameters;
    private readonly Dictionary<string, double> _importance;
    private readonly Lock _engineLock = new();
    private PredictionEngine<Row, Output>? _engine;
    private PredictionEngine<Row, ProbabilityOutput>? _probabilityEngine;

    private sealed class Row
    {
        public float Label { get; set; }
        public bool Flag { get; set; }
        public float[] Features { get; set; } = [];
    }

    private sealed class Output
    {
        public float Score { get; set; }
    }

    private sealed class ProbabilityOutput
    {
        public float Probability { get; set; }
    }

    private sealed record Payload(string Model, Dictionary<string, double> Importance);

    private MlNetTreeModel(string kind, MLContext ml, ITransformer transformer, IReadOnlyList<string> names, TargetSpec? target,
        SortedDictionary<string, string> parameters, Dictionary<string, double> importance)
    {
        Kind = kind;
        _ml = ml;
        _transformer = transformer;
        FeatureNames = names;
        _target = target;
        _parameters = parameters;
        _importance = importance;
    }

    public string Kind { get; }
    public IReadOnlyList<string> FeatureNames { get; }
    public int? BestIteration => null;

    private bool Binary => _target?.Kind == TargetKind.Direction;
    private bool ImputeZero => Kind == ModelKinds.FastTree;

    public static SortedDictionary<string, string> EffectiveParameters(ModelSpec spec, int seed)
    {
        var p = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["trees"] = "100",
            ["leaves"] = "20",
            ["min_leaf"] = "20",
            ["learning_rate"] = "0.05",
            ["threads"] = "1",
            ["seed"] = seed.ToString(CultureInfo.InvariantCulture),
        };
        foreach (var (k, v) in spec.Parameters)
        {
            if (!p.ContainsKey(k)) throw new ModelSpecException($"{spec.Kind}: unknown parameter '{k}'. Known: {string.Join(", ", p.Keys)}.");
            p[k] = v;
        }
        return p;
    }

    public static MlNetTreeModel Fit(ModelSpec spec, TrainingData data)
    {
        if (data.X.Rows == 0) throw new ModelSpecException($"{spec.Kind}: no training rows.");
        var parameters = EffectiveParameters(spec, data.Seed);
        var effective = new ModelSpec(spec.Kind, parameters);
        int trees = effective.Int("trees", 100), leaves = effective.Int("leaves", 20), minLeaf = effective.Int("min_leaf", 20);
        int threads = effective.Int("threads", 1), seed = effective.Int("seed", data.Seed);
        var rate = effective.Double("learning_rate", 0.05);
        if (trees < 1 || leaves < 2 || minLeaf < 1 || threads < 1 || rate is <= 0 or > 1)
            throw new ModelSpecException($"{spec.Kind}: trees >= 1, leaves >= 2, min_leaf >= 1, threads >= 1 and 0 < learning_rate <= 1 are required.");
        var binary = data.Target.Kind == TargetKind.Direction;
        var impute = spec.Kind == ModelKinds.FastTree;
        if (binary && (data.Y.All(v => v > 0.5) || data.Y.All(v => v <= 0.5)))
            throw new ModelSpecException($"{spec.Kind}: a direction target needs both up and down rows to train on.");
        var ml = new MLContext(seed);
        var view = ml.Data.LoadFromEnumerable(Rows(data.X, data.Y, binary, impute), Schema(data.X.Columns));
        IEstimator<ITransformer> trainer = (spec.Kind, binary) switch
        {
            (ModelKinds.FastTree, false) => ml.Regression.Trainers.FastTree(new FastTreeRegressionTrainer.Options
            {
                NumberOfTrees = trees, NumberOfLeaves = leaves, MinimumExampleCountPerLeaf = minLeaf, LearningRate = rate,
                NumberOfThreads = threads, Seed = seed, LabelColumnName = "Label", FeatureColumnName = "Features",
            }),
            (ModelKinds.FastTree, true) => ml.BinaryClassification.Trainers.FastTree(new FastTreeBinaryTrainer.Options
            {
                NumberOfTrees = trees, NumberOfLeaves = leaves, MinimumExampleCountPerLeaf = minLeaf, LearningRate = rate,
                NumberOfThreads = threads, Seed = seed, LabelColumnName = "Flag", FeatureColumnName = "Features",
            }),
            (ModelKinds.LightGbm, false) => ml.Regression.Trainers.LightGbm(new LightGbmRegressionTrainer.Options
            {
                NumberOfIterations = trees, NumberOfLeaves = leaves, MinimumExampleCountPerLeaf = minLeaf, LearningRate = rate,
                NumberOfThreads = threads, Seed = seed, Silent = true, Verbose = false, LabelColumnName = "Label", FeatureColumnName = "Features",
            }),
            (ModelKinds.LightGbm, true) => ml.BinaryClassification.Trainers.LightGbm(new LightGbmBinaryTrainer.Options
            {
                NumberOfIterations = trees, NumberOfLeaves = leaves, MinimumExampleCountPerLeaf = minLeaf, LearningRate = rate,
                NumberOfThreads = threads, Seed = seed, Silent = true, Verbose = false, LabelColumnName = "Flag", FeatureColumnName = "Features",
            }),
            _ => throw new ModelSpecException($"'{spec.Kind}' is not an ML.NET tree model."),
        };
        ITransformer transformer;
        using var cancel = data.Cancellation.Register(() => CancelExecution(ml));
        try
        {
            data.Cancellation.ThrowIfCancellationRequested();
            transformer = trainer.Fit(view);
        }
        catch (Exception) when (data.Cancellation.IsCancellationRequested)
        {
            throw new OperationCanceledException($"{spec.Kind}: the fit was cancelled.", data.Cancellation);
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException or TypeInitializationException or BadImageFormatException)
        {
            throw new ModelUnavailableException(spec.Kind, $"{spec.Kind}: its native library could not be loaded: {ex.Message}", ex);
        }
        return new MlNetTreeModel(spec.Kind, ml, transformer, data.X.Names, data.Target, parameters, Importance(transformer, data.X.Names));
    }

    /// <summary>
    /// Stops the context's running trainers: they check it between iterations and throw. ML.NET has no public way to cancel
    /// a fit; <see cref="MLContext"/> has a non-public <c>CancelExecution</c> (what its AutoML uses), called here by
    /// reflection, resolved once. If a later ML.NET drops it, cancelling a fit throws <see cref="MissingMethodException"/>
    /// naming it, and FitCancellationTests fail.
    /// </summary>
    private static void CancelExecution(MLContext ml) => CancelExecutionMethod.Value.Invoke(ml, null);

    private static readonly Lazy<System.Reflection.MethodInfo> CancelExecutionMethod = new(() =>
        typeof(MLContext).GetMethod("CancelExecution", System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Public, [])
        ?? throw new MissingMethodException(nameof(MLContext), "CancelExecution"));

    /// <summary>The input schema: a fixed-size feature vector; Label (float) is the regression label, Flag (bool) the binary one.</summary>
    private static SchemaDefinition Schema(int columns)
    {
        var schema = SchemaDefinition.Create(typeof(Row));
        schema[nameof(Row.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, columns);
        return schema;
    }

    private static IEnumerable<Row> Rows(FeatureFrame x, double[]? y, bool binary, bool impute)
    {
        for (var i = 0; i < x.Rows; i++)
        {
            var f = x.Row(i).ToArray();
            if (impute)
                for (var c = 0; c < f.Length; c++) if (!float.IsFinite(f[c])) f[c] = 0;
            var label = y is null ? 0 : y[i];
            yield return new Row { Features = f, Label = (float)label, Flag = binary && label > 0.5 };
        }
    }

    private static Dictionary<string, double> Importance(ITransformer transformer, IReadOnlyList<string> names)
    {
        VBuffer<float> weights = default;
        switch (transformer)
        {
            case RegressionPredictionTransformer<FastTreeRegressionModelParameters> t: t.Model.GetFeatureWeights(ref weights); break;
            case RegressionPredictionTransformer<LightGbmRegressionModelParameters> t: t.Model.GetFeatureWeights(ref weights); break;
            case BinaryPredictionTransformer<CalibratedModelParametersBase<FastTreeBinaryModelParameters, PlattCalibrator>> t:
                t.Model.SubModel.GetFeatureWeights(ref weights); break;
            case BinaryPredictionTransformer<CalibratedModelParametersBase<LightGbmBinaryModelParameters, PlattCalibrator>> t:
                t.Model.SubModel.GetFeatureWeights(ref weights); break;
            default: return [];
        }
        var result = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var (index, value) in weights.Items())
            if (value > 0 && index < names.Count) result[names[index]] = value;
        return result;
    }

    public double[] Predict(FeatureFrame frame)
    {
        if (frame.Columns != FeatureNames.Count)
            throw new ArgumentException($"{Kind}: the model has {FeatureNames.Count} features, the frame {frame.Columns}.", nameof(frame));
        if (frame.Rows == 0) return [];
        double[] p;
        if (frame.Rows == 1) p = [PredictOne(frame)];
        else
        {
            var view = _ml.Data.LoadFromEnumerable(Rows(frame, null, Binary, ImputeZero), Schema(frame.Columns));
            var scored = _transformer.Transform(view);
            p = scored.GetColumn<float>(Binary ? "Probability" : "Score").Select(v => (double)v).ToArray();
        }
        Targets.Targets.FloorVolatility(_target, p);
        return p;
    }

    private double PredictOne(FeatureFrame frame)
    {
        var row = Rows(frame, null, Binary, ImputeZero).First();
        lock (_engineLock)
        {
            if (Binary)
            {
                _probabilityEngine ??= _ml.Model.CreatePredictionEngine<Row, ProbabilityOutput>(_transformer, inputSchemaDefinition: Schema(frame.Columns));
                return _probabilityEngine.Predict(row).Probability;
            }
            _engine ??= _ml.Model.CreatePredictionEngine<Row, Output>(_transformer, inputSchemaDefinition: Schema(frame.Columns));
            return _engine.Predict(row).Score;
        }
    }

    public byte[] ToArtifact()
    {
        using var zip = new MemoryStream();
        _ml.Model.Save(_transformer, _ml.Data.LoadFromEnumerable(Array.Empty<Row>(), Schema(FeatureNames.Count)).Schema, zip);
        var payload = new Payload(Convert.ToBase64String(zip.ToArray()), _importance);
        return ModelArtifact.Write(Kind, "mlnet-zip+json", FeatureNames, _target, _parameters, null, ModelArtifact.JsonPayload(payload));
    }

    internal static MlNetTreeModel FromArtifact(ArtifactHeader header, byte[] payload)
    {
        var p = ModelArtifact.FromJsonPayload<Payload>(payload);
        var seed = header.Parameters.TryGetValue("seed", out var s) ? int.Parse(s, CultureInfo.InvariantCulture) : 0;
        var ml = new MLContext(seed);
        using var zip = new MemoryStream(Convert.FromBase64String(p.Model));
        var transformer = ml.Model.Load(zip, out _);
        return new MlNetTreeModel(header.Kind, ml, transformer, header.FeatureNames, header.Target, header.Parameters, p.Importance);
    }

    public IReadOnlyDictionary<string, double> FeatureImportance() => _importance;

    public void Dispose()
    {
        lock (_engineLock)
        {
            _engine?.Dispose();
            _probabilityEngine?.Dispose();
            _engine = null;
            _probabilityEngine = null;
        }
    }
}
