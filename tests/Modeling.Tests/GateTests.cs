using Platform.Modeling.Datasets;
using Platform.Modeling.Models;
using Platform.Modeling.Targets;
using Platform.Modeling.Validation;

namespace Platform.Modeling.Tests;

public sealed class HoldoutTests
{
    [Fact]
    public void Create_FinalPeriod_InnerLabelsEndBeforeItAndInnerFoldsNeverTouchIt()
    {
        var ds = Synthetic.TwoSymbolReturns(5);
        var split = HoldoutSplit.Create(ds, 0.2);
        var distinct = ds.DistinctTimes();
        Assert.Equal(distinct[^(int)(distinct.Length * 0.2)], split.FinalStart);
        Assert.All(split.Final, r => Assert.True(ds.Times[r] >= split.FinalStart));
        Assert.All(split.Inner, r => Assert.True(ds.LabelEnd[r] < split.FinalStart));
        var folds = split.InnerFolds(ds, new WalkForwardOptions { Folds = 3 });
        var final = split.Final.ToHashSet();
        Assert.All(folds, f =>
        {
            Assert.DoesNotContain(f.TrainRows, final.Contains);
            Assert.DoesNotContain(f.TestRows, final.Contains);
            Assert.All(f.TestRows, r => Assert.True(ds.LabelEnd[r] < split.FinalStart));
        });
    }

    [Fact]
    public void RefitSpec_XGBoostWithEarlyStopping_FitsOnEveryRowWithTheMedianRounds()
    {
        var ds = Synthetic.TwoSymbolReturns(1);
        var spec = new ModelSpec(ModelKinds.XGBoost).With("num_boost_round", "300");
        FoldResult Fold(int? best) => new(0, default, default, default, default, 1, 1, best, new MetricSet(1, null, null, null, null, null, null, null, "x"));
        var refit = FinalPeriod.RefitSpec(spec, [Fold(40), Fold(90), Fold(60)]);
        Assert.Equal("60", refit.Parameters["num_boost_round"]);
        var all = Enumerable.Range(0, ds.Rows).ToArray();
        // Validation holds out the newest rows for early stopping; the refit uses them all.
        Assert.NotEmpty(Evaluator.FittingRows(ds, all, spec).Valid);
        var (fit, valid) = Evaluator.FittingRows(ds, all, refit);
        Assert.Empty(valid);
        Assert.Equal(all, fit);
    }
}

public sealed class PromotionGateTests
{
    private static readonly GateEntry[] Baselines = [new("zero", null), new("mean", null), new("last", 0.03)];

    [Fact]
    public void Decide_RelativeImprovement_RequiresAFractionOfTheChampionsValue()
    {
        // 0.11 vs 0.10 improves by 0.01: more than an absolute 0.05? no; more than 5 % of 0.10 (0.005)? yes.
        var champion = new GateEntry("v1", 0.10);
        var absolute = PromotionGate.Decide("rank_ic", new GateEntry("fasttree", 0.11), [], champion, minImprovement: 0.05);
        var relative = PromotionGate.Decide("rank_ic", new GateEntry("fasttree", 0.11), [], champion, minImprovement: 0.05, relative: true);
        var tooSmall = PromotionGate.Decide("rank_ic", new GateEntry("fasttree", 0.104), [], champion, minImprovement: 0.05, relative: true);

        Assert.False(absolute.Promote);
        Assert.True(relative.Promote);
        Assert.False(tooSmall.Promote);
    }

    [Fact]
    public void Decide_WinnerLosesToBaselineOnFinalPeriod_Refuses()
    {
        var decision = PromotionGate.Decide("rank_ic", new GateEntry("fasttree", 0.02), Baselines, null);
        Assert.False(decision.Promote);
        Assert.Contains("best baseline last", decision.Reason);
    }

    [Fact]
    public void Decide_NegativeIcAboveWorseLastValue_RefusedBecauseConstantBaselinesCountAsZero()
    {
        var decision = PromotionGate.Decide("rank_ic", new GateEntry("ridge", -0.01), [new("zero", null), new("last", -0.13)], null);
        Assert.False(decision.Promote);
        Assert.Contains("best baseline zero", decision.Reason);
    }

    [Fact]
    public void Decide_WinnerBeatsBaselinesAndNoChampion_Promotes()
    {
        var decision = PromotionGate.Decide("rank_ic", new GateEntry("fasttree", 0.10), Baselines, null);
        Assert.True(decision.Promote, decision.Reason);
    }

    [Fact]
    public void Decide_WinnerBeatsBaselinesButNotRescoredChampion_Refuses()
    {
        var decision = PromotionGate.Decide("rank_ic", new GateEntry("fasttree", 0.10), Baselines, new GateEntry("v1", 0.12));
        Assert.False(decision.Promote);
        Assert.Contains("champion v1", decision.Reason);
    }

    [Fact]
    public void Decide_LowerIsBetterMetric_ComparesTheOtherWay()
    {
        GateEntry[] baselines = [new("har-rv", 0.50), new("mean", 0.70)];
        Assert.True(PromotionGate.Decide("qlike", new GateEntry("ridge", 0.45), baselines, new GateEntry("v2", 0.48)).Promote);
        Assert.False(PromotionGate.Decide("qlike", new GateEntry("ridge", 0.55), baselines, null).Promote);
    }

    [Fact]
    public void Decide_ChampionCannotBeRescored_Refuses()
    {
        var decision = PromotionGate.Decide("rank_ic", new GateEntry("fasttree", 0.10), Baselines, new GateEntry("v1", null));
        Assert.False(decision.Promote);
    }

    [Fact]
    public void Decide_RidgeVsMeanOnHandSplitData_PromotesOnlyTheBetter()
    {
        // A learnable signal: y = 2a - b + noise. Ridge fitted on inner rows beats the mean baseline on the final period.
        var (x, y) = Synthetic.Regression(600, 21);
        var target = new TargetSpec(TargetKind.Return, 1);
        using var ridge = ModelFactory.Fit(new ModelSpec(ModelKinds.Ridge), new TrainingData(
            new FeatureFrame(x.Values[..(400 * 3)], 400, x.Names), y[..400], target, 1));
        using var mean = ModelFactory.Fit(new ModelSpec(ModelKinds.HistoricalMean), new TrainingData(
            new FeatureFrame(x.Values[..(400 * 3)], 400, x.Names), y[..400], target, 1));
        var final = new FeatureFrame(x.Values[(400 * 3)..], 200, x.Names);
        var rmse = (IModel m) => Metrics.Rmse(y[400..], m.Predict(final));
        var decision = PromotionGate.Decide("rmse", new GateEntry("ridge", rmse(ridge)), [new GateEntry("mean", rmse(mean))], null);
        Assert.True(decision.Promote, decision.Reason);
        var reversed = PromotionGate.Decide("rmse", new GateEntry("mean", rmse(mean)), [new GateEntry("ridge-as-baseline", rmse(ridge))], null);
        Assert.False(reversed.Promote);
    }
}

public sealed class BootstrapTests
{
    [Fact]
    public void BlockInterval_MeanOfNoisyValues_CoversTheMeanAndIsSeeded()
    {
        var random = new Random(3);
        var times = Enumerable.Range(0, 400).Select(i => Synthetic.Start.AddDays(i / 2)).ToArray(); // two rows per date
        var values = times.Select(_ => 1.0 + Synthetic.Normal(random)).ToArray();
        double? Mean(int[] rows) => rows.Average(r => values[r]);
        var a = Bootstrap.BlockInterval(times, Mean, blockLength: 10, resamples: 300)!;
        var b = Bootstrap.BlockInterval(times, Mean, blockLength: 10, resamples: 300)!;
        Assert.Equal(a, b);
        Assert.InRange(values.Average(), a.Low, a.High);
        Assert.True(a.High - a.Low is > 0.05 and < 0.5, $"[{a.Low}, {a.High}]");
    }

    [Fact]
    public void BlockInterval_UndefinedStatistic_ReturnsNull()
    {
        var times = Enumerable.Range(0, 50).Select(i => Synthetic.Start.AddDays(i)).ToArray();
        Assert.Null(Bootstrap.BlockInterval(times, _ => null));
    }
}

public sealed class ModelReportTests
{
    [Fact]
    public void Build_Card_AndPlotsArePngs()
    {
        var metrics = new MetricSet(10, 0.1, 0.1, 0.0, 0.05, 0.06, 0.55, null, "time-series");
        var fold = new FoldResult(0, default, default, default, default, 10, 10, null, metrics);
        var input = new Platform.Modeling.Reports.ModelCardInput("ret-h5", 3, "fasttree", "return", 5, ["A"], Synthetic.Start, Synthetic.Start.AddDays(100),
            "store", new string('a', 64), "alpha158@1", new string('b', 64), Synthetic.Start.AddDays(80), Synthetic.Start.AddDays(100), "rank_ic",
            "promoted", [new("last", true, metrics, metrics, 0.01), new("fasttree", false, metrics, metrics, 0.06)], [fold, fold with { Fold = 1 }],
            new Dictionary<string, double> { ["KMID"] = 3, ["VMA5"] = 5 }, [0.1, -0.2, 0.05], [0.05, -0.1, 0.0], "test");
        var files = Platform.Modeling.Reports.ModelReport.Build(input);
        Assert.Equal(["card.md", "predicted-vs-actual.png", "importance.png", "metric-per-fold.png"], files.Select(f => f.Name));
        var card = System.Text.Encoding.UTF8.GetString(files[0].Content);
        Assert.Contains("| fasttree | candidate | 0.0600 | 0.0600 |", card);
        Assert.Contains("## Limitations", card);
        Assert.All(files.Skip(1), f => Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, f.Content[..4]));
    }
}
