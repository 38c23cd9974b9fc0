using Platform.Modeling.Datasets;
using Platform.Modeling.Models;
using Platform.Modeling.Models.XGBoost;
using Platform.Modeling.Search;
using Platform.Modeling.Targets;
using Platform.Modeling.Validation;

namespace Platform.Modeling.Tests;

public sealed class XGBoostTests
{
    private static ModelSpec Spec(params (string, string)[] p) =>
        new(ModelKinds.XGBoost, new SortedDictionary<string, string>(p.ToDictionary(x => x.Item1, x => x.Item2), StringComparer.Ordinal));

    [Fact]
    public void EnsureLoaded_Debian_Reports17()
    {
        var version = XGBoostLibrary.EnsureLoaded();
        Assert.Equal(1, version.Major);
        Assert.True(version.Minor >= 7);
    }

    [Fact]
    public void Fit_LinearSignal_PredictsHeldOutRowsWell()
    {
        using var model = ModelFactory.Fit(Spec(("num_boost_round", "150"), ("max_depth", "4"), ("eta", "0.1")), Synthetic.Training(3000, 1));
        var (x, y) = Synthetic.Regression(500, 99);
        var p = model.Predict(x);
        Assert.True(Metrics.Pearson(p, y) > 0.95, $"IC {Metrics.Pearson(p, y)}");
    }

    [Fact]
    public void Fit_WithValidation_StopsEarlyAndKeepsBestRounds()
    {
        // A tiny learning rate never overfits in 40 rounds, a huge one overfits at once: early stopping must stop the latter.
        using var model = (XGBoostModel)ModelFactory.Fit(
            Spec(("num_boost_round", "400"), ("eta", "1.0"), ("max_depth", "8"), ("early_stopping_rounds", "10")),
            Synthetic.Training(400, 2, withValidation: true));
        Assert.NotNull(model.BestIteration);
        Assert.True(model.BestIteration < 400);
        Assert.Equal(model.BestIteration, model.Booster.BoostedRounds);
    }

    [Fact]
    public void FeatureImportance_InformativeFeatureRanksFirst()
    {
        using var model = ModelFactory.Fit(Spec(("num_boost_round", "50")), Synthetic.Training(2000, 3));
        var importance = model.FeatureImportance();
        Assert.Equal("a", importance.MaxBy(kv => kv.Value).Key);
        Assert.True(importance["a"] > importance.GetValueOrDefault("c") * 10);
    }

    [Fact]
    public void Fit_BadParameter_ThrowsWithXGBoostMessage()
    {
        var ex = Assert.Throws<XGBoostException>(() => ModelFactory.Fit(Spec(("objective", "reg:nonsense"), ("num_boost_round", "2")), Synthetic.Training(100, 4)));
        Assert.Contains("reg:nonsense", ex.Message);
        Assert.StartsWith("XGBoost:", ex.Message);
    }

    [Fact]
    public void Fit_NegativeDepth_ThrowsWithXGBoostMessage()
    {
        var ex = Assert.Throws<XGBoostException>(() => ModelFactory.Fit(Spec(("max_depth", "-3"), ("num_boost_round", "2")), Synthetic.Training(100, 4)));
        Assert.Contains("max_depth", ex.Message);
    }

    [Fact]
    public void Load_MissingLibrary_ErrorNamesFileAndPackage()
    {
        var ex = Assert.Throws<ModelUnavailableException>(() => XGBoostLibrary.Load(["libxgboost-does-not-exist.so.0"]));
        Assert.Contains("libxgboost.so.0", ex.Message);
        Assert.Contains("apt-get install libxgboost0", ex.Message);
    }

    [Fact]
    public void ToArtifact_SameDataAndSeed_SameBytes_AndReloadPredictsIdentically()
    {
        var spec = Spec(("num_boost_round", "40"), ("subsample", "0.7"), ("colsample_bytree", "0.6"));
        using var a = ModelFactory.Fit(spec, Synthetic.Training(1500, 5));
        using var b = ModelFactory.Fit(spec, Synthetic.Training(1500, 5));
        var bytes = a.ToArtifact();
        Assert.Equal(bytes, b.ToArtifact());
        using var c = ModelFactory.Fit(spec, Synthetic.Training(1500, 5) with { Seed = 6 });
        Assert.NotEqual(bytes, c.ToArtifact());

        using var loaded = ModelFactory.Load(bytes);
        var (x, _) = Synthetic.Regression(200, 7);
        Assert.Equal(a.Predict(x), loaded.Predict(x));
        Assert.Equal(bytes, loaded.ToArtifact());
    }

    [Fact]
    public void PredictDense_MatchesDMatrixPrediction_AndTreatsNaNAsMissing()
    {
        using var model = (XGBoostModel)ModelFactory.Fit(Spec(("num_boost_round", "30")), Synthetic.Training(1000, 8));
        var (x, _) = Synthetic.Regression(100, 9);
        x.Values[0] = float.NaN;
        using var m = new DMatrix(x.Values, x.Rows, x.Columns);
        Assert.Equal(model.Booster.Predict(m), model.Booster.PredictDense(x.Values, x.Rows, x.Columns));
    }

    [Fact]
    public void PredictDense_SuccessiveBlocksOfOtherShapes_EachMatchesItsDMatrixPrediction()
    {
        using var model = (XGBoostModel)ModelFactory.Fit(Spec(("num_boost_round", "30")), Synthetic.Training(1000, 12));
        var (x, _) = Synthetic.Regression(50, 13);
        using var all = new DMatrix(x.Values, x.Rows, x.Columns);
        var expected = model.Booster.Predict(all);
        // One caller, so every call below reuses the same kept proxy: a block left over from the call before would show.
        for (var row = 0; row < x.Rows; row++)
        {
            Assert.Equal(expected[row], model.Booster.PredictDense(x.Values.AsSpan(row * x.Columns, x.Columns), 1, x.Columns)[0]);
            if (row % 10 == 0) Assert.Equal(expected, model.Booster.PredictDense(x.Values, x.Rows, x.Columns));
        }
    }

    [Fact]
    public void Predict_ConcurrentSingleRows_AfterWarmUp_AreConsistent()
    {
        using var model = (XGBoostModel)ModelFactory.Fit(Spec(("num_boost_round", "30")), Synthetic.Training(1000, 10));
        var (x, _) = Synthetic.Regression(64, 11);
        var expected = model.Booster.PredictDense(x.Values, x.Rows, x.Columns);
        Parallel.For(0, 256, i =>
        {
            var row = i % x.Rows;
            var p = model.Booster.PredictDense(x.Values.AsSpan(row * 3, 3), 1, 3);
            Assert.Equal(expected[row], p[0]);
        });
    }
}

public sealed class LinearAndBaselineTests
{
    [Fact]
    public void Ridge_SmallPenalty_RecoversCoefficients()
    {
        using var model = ModelFactory.Fit(new ModelSpec(ModelKinds.Ridge).With("alpha", "0.001"), Synthetic.Training(2000, 1));
        var frame = new FeatureFrame([1f, 0f, 0f, 0f, 1f, 0f, 0f, 0f, 0f], 3, ["a", "b", "c"]);
        var p = model.Predict(frame);
        Assert.Equal(2.0, p[0] - p[2], 1);
        Assert.Equal(-1.0, p[1] - p[2], 1);
    }

    [Fact]
    public void Ridge_Artifact_IsReproducibleAndRoundTrips()
    {
        var spec = new ModelSpec(ModelKinds.Ridge).With("alpha", "3");
        using var a = ModelFactory.Fit(spec, Synthetic.Training(500, 2));
        using var b = ModelFactory.Fit(spec, Synthetic.Training(500, 2));
        Assert.Equal(a.ToArtifact(), b.ToArtifact());
        using var loaded = ModelFactory.Load(a.ToArtifact());
        var (x, _) = Synthetic.Regression(20, 3);
        Assert.Equal(a.Predict(x), loaded.Predict(x));
    }

    [Fact]
    public void Ridge_MissingValues_AreImputedWithTheMean()
    {
        using var model = ModelFactory.Fit(new ModelSpec(ModelKinds.Ridge), Synthetic.Training(500, 4));
        var p = model.Predict(new FeatureFrame([float.NaN, float.NaN, float.NaN], 1, ["a", "b", "c"]));
        Assert.False(double.IsNaN(p[0]));
    }

    [Fact]
    public void Load_TamperedPayload_ThrowsChecksumMismatch()
    {
        using var model = ModelFactory.Fit(new ModelSpec(ModelKinds.Ridge), Synthetic.Training(100, 5));
        var bytes = model.ToArtifact();
        bytes[^3] ^= 0x20;
        var ex = Assert.Throws<InvalidDataException>(() => ModelFactory.Load(bytes));
        Assert.Contains("checksum", ex.Message);
    }

    [Fact]
    public void Baselines_PredictZeroMeanAndLastValue()
    {
        var data = Synthetic.Training(100, 6);
        var frame = new FeatureFrame(new float[6], 2, ["a", "b", "c"], new Dictionary<string, double[]> { [AuxColumns.LastTarget] = [0.25, double.NaN] });
        using var zero = ModelFactory.Fit(new ModelSpec(ModelKinds.Zero), data);
        using var mean = ModelFactory.Fit(new ModelSpec(ModelKinds.HistoricalMean), data);
        using var last = ModelFactory.Fit(new ModelSpec(ModelKinds.LastValue), data);
        Assert.Equal([0.0, 0.0], zero.Predict(frame));
        Assert.Equal(data.Y.Average(), mean.Predict(frame)[0], 12);
        Assert.Equal([0.25, data.Y.Average()], last.Predict(frame));
    }

    [Fact]
    public void HarRv_VolatilityDataset_BeatsHistoricalMeanOnQlike()
    {
        var inputs = Enumerable.Range(0, 3).Select(i => Synthetic.Input("S" + i, Synthetic.Bars(900, 20 + i))).ToList();
        var ds = DatasetBuilder.Build(Synthetic.Spec(["S0", "S1", "S2"], TargetKind.Volatility, 5, days: 880), inputs);
        var folds = WalkForward.Split(ds, new WalkForwardOptions { Folds = 3 });
        var har = Evaluator.Evaluate(ds, folds, new ModelSpec(ModelKinds.HarRv), 1);
        var mean = Evaluator.Evaluate(ds, folds, new ModelSpec(ModelKinds.HistoricalMean), 1);
        Assert.True(har.Aggregate.Qlike < mean.Aggregate.Qlike, $"HAR {har.Aggregate.Qlike} vs mean {mean.Aggregate.Qlike}");
        Assert.NotNull(har.Aggregate.RSquared);
    }

    [Fact]
    public void HarRv_ReturnTarget_IsRefused() =>
        Assert.Throws<ModelSpecException>(() => ModelFactory.Fit(new ModelSpec(ModelKinds.HarRv), Synthetic.Training(50, 1)));

    [Fact]
    public void Ensemble_AveragesMembers_AndRoundTrips()
    {
        var data = Synthetic.Training(300, 7);
        var spec = new ModelSpec(ModelKinds.Ensemble, Members: [new ModelSpec(ModelKinds.Ridge), new ModelSpec(ModelKinds.XGBoost).With("num_boost_round", "20")]);
        using var ensemble = (EnsembleModel)ModelFactory.Fit(spec, data);
        var (x, _) = Synthetic.Regression(10, 8);
        var a = ensemble.Members[0].Predict(x);
        var b = ensemble.Members[1].Predict(x);
        var p = ensemble.Predict(x);
        for (var i = 0; i < p.Length; i++) Assert.Equal((a[i] + b[i]) / 2, p[i], 12);
        using var loaded = ModelFactory.Load(ensemble.ToArtifact());
        Assert.Equal(p, loaded.Predict(x));
    }
}

public sealed class EvaluationAndSearchTests
{
    private static Dataset Data() =>
        DatasetBuilder.Build(Synthetic.Spec(["A", "B"], TargetKind.Return, 1, days: 600),
            [Synthetic.Input("A", Synthetic.Bars(620, 31)), Synthetic.Input("B", Synthetic.Bars(620, 32))]);

    [Fact]
    public void Evaluate_ReportsEveryFoldAndAggregate()
    {
        var ds = Data();
        var folds = WalkForward.Split(ds, new WalkForwardOptions { Folds = 3 });
        var report = Evaluator.Evaluate(ds, folds, new ModelSpec(ModelKinds.Ridge), 1);
        Assert.Equal(3, report.Folds.Count);
        Assert.Equal("time-series", report.Aggregate.IcMode);
        Assert.NotNull(report.Aggregate.Rmse);
        Assert.NotNull(report.Aggregate.HitRate);
        Assert.Null(report.Aggregate.Qlike);
        Assert.Equal(folds.Sum(f => f.TestRows.Length), report.Pooled.Count);
    }

    [Fact]
    public void Evaluate_TenSymbols_UsesCrossSectionalIc()
    {
        var symbols = Enumerable.Range(0, 10).Select(i => "S" + i).ToArray();
        var ds = DatasetBuilder.Build(Synthetic.Spec(symbols, TargetKind.Return, 1, days: 200),
            symbols.Select((s, i) => Synthetic.Input(s, Synthetic.Bars(220, 40 + i))).ToList());
        var report = Evaluator.Evaluate(ds, WalkForward.Split(ds, new WalkForwardOptions { Folds = 2 }), new ModelSpec(ModelKinds.Ridge), 1);
        Assert.Equal("cross-sectional", report.Aggregate.IcMode);
        Assert.NotNull(report.Icir);
    }

    [Fact]
    public void Search_RandomWithTrialBudget_RunsExactlyThatManyDeterministically()
    {
        var ds = Data();
        var folds = WalkForward.Split(ds, new WalkForwardOptions { Folds = 2 });
        var options = new SearchOptions(new ModelSpec(ModelKinds.Ridge),
            new Dictionary<string, ParameterDomain> { ["alpha"] = new LogUniform(0.01, 100) }, Metric: "rmse", MaxTrials: 3, Seed: 7);
        var a = HyperparameterSearch.Run(ds, folds, options);
        var b = HyperparameterSearch.Run(ds, folds, options);
        Assert.Equal(3, a.Trials.Count);
        Assert.Equal(a.Trials.Select(t => t.Spec.Describe()), b.Trials.Select(t => t.Spec.Describe()));
        Assert.Equal(a.Trials.Min(t => t.Score), a.Best.Score);
    }

    [Fact]
    public void Search_Grid_VisitsCartesianProduct()
    {
        var options = new SearchOptions(new ModelSpec(ModelKinds.XGBoost),
            new Dictionary<string, ParameterDomain> { ["max_depth"] = new IntRange(2, 4), ["eta"] = new Choice(["0.1", "0.3"]) },
            Strategy: SearchStrategy.Grid, MaxTrials: 100);
        Assert.Equal(6, HyperparameterSearch.Candidates(options).Count());
    }

    [Fact]
    public void Search_TimeBudgetSpent_StopsAfterFirstTrial()
    {
        var ds = Data();
        var folds = WalkForward.Split(ds, new WalkForwardOptions { Folds = 2 });
        var result = HyperparameterSearch.Run(ds, folds, new SearchOptions(new ModelSpec(ModelKinds.Ridge),
            new Dictionary<string, ParameterDomain> { ["alpha"] = new Uniform(0.1, 10) }, MaxTrials: 50, TimeBudget: TimeSpan.Zero));
        Assert.Single(result.Trials);
        Assert.True(result.BudgetExhausted);
    }
}
