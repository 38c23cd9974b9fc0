using Platform.BuildingBlocks.PubSub;
using Platform.Modeling.Drift;
using Platform.Monitoring.Apis;
using Platform.Quant.Features;

namespace Platform.Monitoring.Tests;

/// <summary>
/// Drift measured against the reference stored with the version (features over its training bars, its predictions), with
/// predictions as the only trigger: the served predictions leave the reference distribution at a known bar.
/// </summary>
public sealed class ReferenceDriftTests() : RegimeChangeTest(seed: 33, new Dictionary<string, string?>
{
    ["Monitoring:Drift:WindowSize"] = "60",
    ["Monitoring:Drift:Triggers:Target"] = "false",
    ["Monitoring:Drift:Triggers:Predictions"] = "true",
})
{
    protected override async Task AfterRegisterAsync(int version) =>
        await Host.Registry.SaveFilesAsync("vol", version, [Reference().ToFile()]);

    /// <summary>Predictions around 2 % (the reference draws 1,000 of them); after the change they are 2.5 times larger.</summary>
    private static double Prediction(Random random, bool changed) => (changed ? 2.5 : 1.0) * (0.02 + 0.004 * (random.NextDouble() - 0.5));

    private ModelReference Reference()
    {
        var random = new Random(1);
        var training = Bars.Take(TrainEnd + 1).ToList();
        var rows = FeatureBatch.Replay(() => FeatureSets.CreateCalculator("alpha158@1"), training);
        var names = FeatureSets.Alpha158V1.Features;
        var features = Enumerable.Range(0, names.Length)
            .Select(j => (Name: names[j], Values: rows.Select(r => r[j]).Where(double.IsFinite).ToList()))
            .Where(c => c.Values.Count > 0)
            .ToDictionary(c => c.Name, c => ReferenceProfile.From(c.Values, 10, ModelReference.FeatureSketchSize));
        var predictions = ReferenceProfile.From(Enumerable.Range(0, 1000).Select(_ => Prediction(random, changed: false)), 10);
        return new ModelReference("alpha158@1", 10, training[0].Time, training[^1].Time, training.Count, features, predictions, null, null);
    }

    [Fact]
    public async Task PredictionsLeaveTheReference_DetectedAfterTheChangeWithTargetAndFeatureEvidenceAlongside()
    {
        var random = new Random(2);
        for (var t = TrainEnd + 1; t < Bars.Count; t++)
            await Host.Publisher.PublishAsync(new PredictionMade($"p{t}", "vol", 1, "AAA", Bars[t].Time, 5, Prediction(random, t >= ChangeAt), "1d", "volatility"));
        await MonitoringHost.EventuallyAsync(async () => (await Host.Store.CountAsync("vol")).Predictions == Bars.Count - TrainEnd - 1, "stored");
        for (var t = TrainEnd + 1; t < Bars.Count; t++) await Host.PublishBarAsync("AAA", Bars[t]);
        await MonitoringHost.EventuallyAsync(async () => (await Host.Store.CountAsync("vol")).Outcomes == Bars.Count - TrainEnd - 1 - 5, "joined");

        var drift = await Host.GetAsync<DriftResponse>("/v1/monitoring/models/vol/drift");
        var first = drift.Detections.MinBy(d => d.WindowEnd)!;
        Assert.True(first.WindowEnd >= Bars[ChangeAt].Time, $"first detection at {first.WindowEnd:o}, the change is at {Bars[ChangeAt].Time:o}");
        Assert.True(first.WindowEnd <= Bars[ChangeAt + 60].Time, $"first detection at {first.WindowEnd:o}, more than a window after the change");
        Assert.Contains(first.Evidence, e => e is { Subject: "prediction", Statistic: "psi" } && e.Value > e.Threshold);
        Assert.Contains(first.Evidence, e => e is { Subject: "prediction", Statistic: "ks" } && e.Value > e.Threshold);
        // Measured alongside: the realised target, the features with the largest PSI, and the share of drifting features.
        Assert.Contains(first.Evidence, e => e is { Subject: "target", Statistic: "psi" });
        Assert.Contains(first.Evidence, e => e is { Subject: "features", Statistic: "drifting_share" });
        Assert.Equal(5, first.Evidence.Count(e => e.Statistic == "psi" && FeatureSets.Alpha158V1.Features.Contains(e.Subject)));
    }
}
