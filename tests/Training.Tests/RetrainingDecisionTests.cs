using Platform.Training.Retraining;

namespace Platform.Training.Tests;

public sealed class RetrainingDecisionTests
{
    private static readonly DateTimeOffset From = new(2022, 2, 15, 0, 0, 0, TimeSpan.Zero);

    private static HoldoutReport Report(double? challenger, double? champion, double harRv = 0.45, string metric = "qlike") =>
        new(metric, 60, From, From.AddDays(59), challenger, champion,
            new Dictionary<string, double?> { ["har-rv"] = harRv, ["mean"] = 4.2, ["last"] = 0.46 }, false);

    [Fact]
    public void Decide_BeatsChampionAndEveryBaseline_Wins()
    {
        var (wins, why) = RetrainingWorkflow.Decide(Report(0.40, 8.0));

        Assert.True(wins, why);
    }

    [Fact]
    public void Decide_BeatsChampionNotHarRv_LosesAndNamesTheBaseline()
    {
        var (wins, why) = RetrainingWorkflow.Decide(Report(1.58, 8.27));

        Assert.False(wins);
        Assert.Contains("does not beat har-rv 0.45, last 0.46", why);
    }

    [Fact]
    public void Decide_ChampionOnlyGate_IgnoresTheBaselinesButNotTheChampion()
    {
        Assert.True(RetrainingWorkflow.Decide(Report(1.58, 8.27), RetrainingOptions.ChampionOnly).Wins);
        Assert.False(RetrainingWorkflow.Decide(Report(9.0, 8.27), RetrainingOptions.ChampionOnly).Wins);
    }

    [Fact]
    public void Decide_HigherIsBetterMetric_ComparesUpwards()
    {
        var (wins, _) = RetrainingWorkflow.Decide(Report(0.08, 0.02, harRv: 0.01, metric: "rank_ic") with
        {
            Baselines = new Dictionary<string, double?> { ["zero"] = null, ["mean"] = 0.0, ["last"] = 0.03 },
        });

        Assert.True(wins);
    }

    [Fact]
    public void Decide_ChallengerWithoutScore_Loses()
    {
        Assert.False(RetrainingWorkflow.Decide(Report(null, 1.0)).Wins);
    }

    [Fact]
    public void Decide_ChampionWithoutScore_ChallengerLoses()
    {
        var (wins, why) = RetrainingWorkflow.Decide(Report(0.40, null));

        Assert.False(wins);
        Assert.Contains("could not be scored", why);
    }
}
