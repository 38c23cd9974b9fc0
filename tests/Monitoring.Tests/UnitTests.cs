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

public sealed class DriftStatisticsTests
{
    private static double[] Normal(int n, int seed, double scale = 1.0)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => scale * Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble())).ToArray();
    }

    [Fact]
    public void Psi_SameDistribution_StaysBelowTheUsualThreshold()
    {
        var reference = ReferenceProfile.From(Normal(2000, 1), 10);

        Assert.InRange(DriftStatistics.Psi(reference, Normal(500, 2)), 0, 0.1);
    }

    [Fact]
    public void Psi_ScaleTimesTwoAndAHalf_ExceedsTheUsualThreshold()
    {
        var reference = ReferenceProfile.From(Normal(2000, 1), 10);

        Assert.True(DriftStatistics.Psi(reference, Normal(500, 2, scale: 2.5)) > 0.25);
    }

    [Fact]
    public void Ks_ShiftedSample_ExceedsCriticalValueAndSameSampleDoesNot()
    {
        var reference = ReferenceProfile.From(Normal(2000, 1), 10);
        var same = Normal(200, 5);
        var shifted = same.Select(v => v + 1.0).ToArray();
        var critical = DriftStatistics.KsCritical(0.001, 2000, 200);

        Assert.True(DriftStatistics.Ks(reference.Sorted, same) < critical);
        Assert.True(DriftStatistics.Ks(reference.Sorted, shifted) > critical);
        Assert.Equal(0, DriftStatistics.Ks(reference.Sorted, reference.Sorted));
    }

    [Fact]
    public void ReferenceProfile_Frequencies_SumToOne()
    {
        var reference = ReferenceProfile.From(Normal(1000, 9), 10);

        Assert.Equal(1.0, reference.Frequencies.Sum(), 9);
        Assert.Equal(9, reference.Edges.Length);
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
