using Platform.Modeling.Datasets;
using Platform.Modeling.Models;
using Platform.Modeling.Targets;
using Platform.Modeling.Validation;

namespace Platform.Modeling.Tests;

public sealed class MlNetModelTests
{
    private static ModelSpec Spec(string kind, int trees = 60) => new ModelSpec(kind).With("trees", trees.ToString(System.Globalization.CultureInfo.InvariantCulture));

    [Theory]
    [InlineData(ModelKinds.FastTree)]
    [InlineData(ModelKinds.LightGbm)]
    public void Fit_LinearSignal_PredictsHeldOutRowsWell(string kind)
    {
        using var model = ModelFactory.Fit(Spec(kind, 150).With("learning_rate", "0.1"), Synthetic.Training(3000, 1));
        var (x, y) = Synthetic.Regression(500, 99);
        var ic = Metrics.Pearson(model.Predict(x), y);
        Assert.True(ic > 0.9, $"{kind} IC {ic}");
        Assert.Equal(kind, model.Kind);
        Assert.True(model.FeatureImportance()["a"] > model.FeatureImportance().GetValueOrDefault("c"));
    }

    [Theory]
    [InlineData(ModelKinds.FastTree)]
    [InlineData(ModelKinds.LightGbm)]
    public void ToArtifact_Reload_PredictsIdenticallyInBatchAndOneRow(string kind)
    {
        using var model = ModelFactory.Fit(Spec(kind), Synthetic.Training(800, 3));
        var (x, _) = Synthetic.Regression(50, 7);
        var expected = model.Predict(x);
        using var loaded = ModelFactory.Load(model.ToArtifact());
        Assert.Equal(kind, loaded.Kind);
        Assert.Equal(expected, loaded.Predict(x));
        var one = new FeatureFrame(x.Row(3).ToArray(), 1, x.Names);
        Assert.Equal(expected[3], loaded.Predict(one)[0], 6);
    }

    [Theory]
    [InlineData(ModelKinds.FastTree)]
    [InlineData(ModelKinds.LightGbm)]
    public void Fit_DirectionTarget_PredictsProbabilitiesThatRankTheSign(string kind)
    {
        var (x, y) = Synthetic.Regression(2000, 5);
        var up = Array.ConvertAll(y, v => v > 0 ? 1.0 : 0.0);
        using var model = ModelFactory.Fit(Spec(kind), new TrainingData(x, up, new TargetSpec(TargetKind.Direction, 1), 5));
        var (tx, ty) = Synthetic.Regression(400, 6);
        var p = model.Predict(tx);
        Assert.All(p, v => Assert.InRange(v, 0.0, 1.0));
        Assert.True(Metrics.HitRate(ty, p.Select(v => v - 0.5).ToArray()) > 0.8);
    }

    [Fact]
    public void Fit_UnknownParameter_ThrowsNamingIt()
    {
        var ex = Assert.Throws<ModelSpecException>(() => ModelFactory.Fit(new ModelSpec(ModelKinds.FastTree).With("depth", "3"), Synthetic.Training(100, 1)));
        Assert.Contains("depth", ex.Message);
    }

    /// <summary>A volatility target whose linear fit goes negative for part of the rows: every model must stay positive.</summary>
    [Theory]
    [InlineData(ModelKinds.Ridge)]
    [InlineData(ModelKinds.HarRv)]
    [InlineData(ModelKinds.XGBoost)]
    [InlineData(ModelKinds.FastTree)]
    [InlineData(ModelKinds.LightGbm)]
    [InlineData(ModelKinds.HistoricalMean)]
    [InlineData(ModelKinds.LastValue)]
    public void Predict_VolatilityTarget_ForecastsArePositive(string kind)
    {
        var (x, raw) = Synthetic.Regression(1500, 11);
        // Tiny volatilities, some exactly zero, and features far outside the training range at prediction time.
        var y = Array.ConvertAll(raw, v => Math.Max(0, 0.001 * v));
        var aux = new Dictionary<string, double[]>
        {
            [AuxColumns.Rv1] = raw.Select(v => 0.01 - 0.01 * v).ToArray(),
            [AuxColumns.Rv5] = raw.Select(v => 0.01 * v).ToArray(),
            [AuxColumns.Rv22] = raw.Select(_ => 0.01).ToArray(),
            [AuxColumns.LastTarget] = raw.Select(v => Math.Max(0, v * 0.001)).ToArray(),
        };
        var frame = new FeatureFrame(x.Values, x.Rows, x.Names, aux);
        var spec = kind is ModelKinds.XGBoost ? new ModelSpec(kind).With("num_boost_round", "30") : kind is ModelKinds.FastTree or ModelKinds.LightGbm ? Spec(kind, 30) : new ModelSpec(kind);
        using var model = ModelFactory.Fit(spec, new TrainingData(frame, y, new TargetSpec(TargetKind.Volatility, 5), 1));
        var shifted = new FeatureFrame(x.Values.Select(v => v * 5).ToArray(), x.Rows, x.Names,
            aux.ToDictionary(kv => kv.Key, kv => kv.Value.Select(v => v * 5 - 0.05).ToArray()));
        Assert.All(model.Predict(shifted), p => Assert.True(p > 0, $"{kind} forecast {p}"));
    }
}
