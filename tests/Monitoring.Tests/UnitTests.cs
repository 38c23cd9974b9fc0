using Platform.Modeling.Drift;
using Platform.Modeling.Targets;
using Platform.Monitoring.Drift;
using Platform.Monitoring.Outcomes;
using Platform.Monitoring.Quality;
using Platform.OfflineStore.Monitoring;

namespace Platform.Monitoring.Tests;

public sealed class OutcomeMathTests
{
    private static readonly List<Platform.Quant.Bar> Bars = RegimeSeries.Generate(120, seed: 3);

    [Theory]
    [InlineData(TargetKind.Return, 5)]
    [InlineData(TargetKind.Direction, 3)]
    [InlineData(TargetKind.Volatility, 5)]
    public void Outcome_HorizonPassed_EqualsTheTrainingTarget(TargetKind kind, int horizon)
    {
        var spec = new TargetSpec(kind, horizon);
        var expected = Targets.Compute(Bars, spec);
        var math = new OutcomeMath(Bars, 22);

        for (var i = 0; i + horizon < Bars.Count; i += 7)
        {
            var o = math.Outcome(i, spec)!.Value;
            Assert.Equal(expected[i], o.Realised, 12);
            Assert.Equal(Bars[i + horizon].Time, o.KnownAt);
            if (i >= horizon) Assert.Equal(expected[i - horizon], o.Last, 12);
        }
    }

    [Fact]
    public void Outcome_HorizonNotPassed_IsNull()
    {
        var math = new OutcomeMath(Bars, 22);

        Assert.Null(math.Outcome(Bars.Count - 5, new TargetSpec(TargetKind.Return, 5)));
        Assert.NotNull(math.Outcome(Bars.Count - 6, new TargetSpec(TargetKind.Return, 5)));
    }

    [Fact]
    public void Outcome_Volatility_TrailingBaselineMatchesTrailingVolatility()
    {
        var math = new OutcomeMath(Bars, 22);
        var trailing = Targets.TrailingVolatility(Bars, 22, 5);

        Assert.Equal(trailing[60], math.Outcome(60, new TargetSpec(TargetKind.Volatility, 5))!.Value.Trailing, 12);
    }

    [Fact]
    public void DecisionBar_TimeBetweenBars_IsTheBarBefore()
    {
        var math = new OutcomeMath(Bars, 22);

        Assert.Equal(10, math.DecisionBar(Bars[10].Time));
        Assert.Equal(10, math.DecisionBar(Bars[10].Time.AddHours(5)));
        Assert.Equal(-1, math.DecisionBar(Bars[0].Time.AddHours(-1)));
    }
}

public sealed class DriftAssessmentTests
{
    private static readonly DriftOptions Options = new();

    private static List<double> Normal(int n, int seed, double scale = 1.0, double shift = 0.0)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => shift + scale * Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble())).ToList();
    }

    private static ModelReference Reference(int features) => new("alpha158@1", 10, default, default, 2000,
        Enumerable.Range(0, features).ToDictionary(j => $"F{j}", j => ReferenceProfile.From(Normal(2000, j), 10, ModelReference.FeatureSketchSize)),
        null, null, null);

    [Fact]
    public void AssessFeatures_SameDistributions_DoNotDrift()
    {
        var columns = Enumerable.Range(0, 8).ToDictionary(j => $"F{j}", j => Normal(200, 100 + j));

        var assessment = DriftMonitor.AssessFeatures(Reference(8), columns, Options);

        Assert.False(assessment.Drifts);
        Assert.Contains(assessment.Evidence, e => e is { Subject: "features", Statistic: "drifting_share", Value: < 0.25 });
    }

    [Fact]
    public void AssessFeatures_HalfTheFeaturesShifted_DriftNamingThemFirst()
    {
        var columns = Enumerable.Range(0, 8).ToDictionary(j => $"F{j}", j => Normal(200, 100 + j, shift: j < 4 ? 2.0 : 0.0));

        var assessment = DriftMonitor.AssessFeatures(Reference(8), columns, Options);

        Assert.True(assessment.Drifts);
        var named = assessment.Evidence.Where(e => e.Statistic == "psi").Select(e => e.Subject).Take(4).ToHashSet();
        Assert.Equal(new HashSet<string> { "F0", "F1", "F2", "F3" }, named);
        Assert.Equal(Options.TopFeatures * 2 + 1, assessment.Evidence.Count);
    }

    [Fact]
    public void AssessFeatures_FeatureWithoutProfile_IsLeftOut()
    {
        var columns = new Dictionary<string, List<double>> { ["F0"] = Normal(200, 1), ["unknown"] = Normal(200, 2, shift: 5) };

        var assessment = DriftMonitor.AssessFeatures(Reference(1), columns, Options);

        Assert.DoesNotContain(assessment.Evidence, e => e.Subject == "unknown");
    }

    [Theory]
    [InlineData(TargetKind.Return, 0.10, -0.05, true)]
    [InlineData(TargetKind.Return, 0.10, 0.05, false)]
    [InlineData(TargetKind.Volatility, 0.40, 0.55, true)]
    [InlineData(TargetKind.Volatility, 0.40, 0.30, false)]
    public void AssessQuality_LiveShortOfValidation_DecaysOnlyBeyondTheThreshold(TargetKind kind, double validated, double live, bool decays)
    {
        var metrics = kind == TargetKind.Volatility ? new QualityMetrics(null, null, null, null, live) : new QualityMetrics(null, live, null, null, null);

        var assessment = DriftMonitor.AssessQuality(kind, validated, metrics, Options)!;

        Assert.Equal(decays, assessment.Drifts);
        Assert.Equal(Math.Abs(validated - live), Math.Abs(assessment.Evidence[0].Value), 9);
    }
}

public sealed class LiveQualityTests
{
    private static readonly DateTimeOffset T0 = new(2024, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static PredictionWithOutcome Row(int i, double prediction, double realised, double last, double trailing) => new(
        new PredictionRecord($"r{i}", "m", 1, "AAA", "1d", T0.AddDays(i), 5, "volatility", prediction, T0),
        new OutcomeRecord($"r{i}", realised, last, trailing, T0.AddDays(i + 5), T0));

    [Fact]
    public void Compute_PerfectVolatilityForecasts_BeatBothBaselines()
    {
        var rows = Enumerable.Range(0, 50).Reverse()
            .Select(i => Row(i, 0.02 + 0.001 * (i % 7), 0.02 + 0.001 * (i % 7), 0.03, 0.025)).ToList();

        var q = LiveQuality.Compute(rows, 40, TargetKind.Volatility);

        Assert.Equal((40, "qlike"), (q.Count, q.Metric));
        Assert.Equal(0, q.Model.Qlike!.Value, 12);
        Assert.Equal(1, q.Model.Ic!.Value, 12);
        Assert.Equal(["last", "trailing"], q.Beats.Keys.Order());
        Assert.All(q.Beats.Values, b => Assert.True(b));
        Assert.Equal((T0.AddDays(10), T0.AddDays(49)), (q.From!.Value, q.To!.Value));
    }

    [Fact]
    public void Compute_ReturnModelWorseThanLast_DoesNotBeatLast()
    {
        // The realised value alternates; 'last' happens to equal it, the model predicts the opposite sign.
        var rows = Enumerable.Range(0, 30).Reverse()
            .Select(i => { var y = (i % 2 == 0 ? 1 : -1) * (0.01 + 0.001 * i); return Row(i, -y, y, y, 0.0); }).ToList();

        var q = LiveQuality.Compute(rows, 30, TargetKind.Return);

        Assert.False(q.Beats["last"]);
        Assert.Equal(0, q.Model.HitRate!.Value, 12);
    }
}
