using Platform.Modeling.Datasets;
using Platform.Modeling.Targets;
using Platform.Modeling.Validation;

namespace Platform.Modeling.Tests;

public sealed class WalkForwardTests
{
    [Theory]
    [InlineData(WindowMode.Expanding, 1)]
    [InlineData(WindowMode.Expanding, 5)]
    [InlineData(WindowMode.Rolling, 10)]
    public void Split_EveryFold_TrainLabelsEndBeforeTestAndPurgeGapHolds(WindowMode mode, int horizon)
    {
        var ds = Synthetic.TwoSymbolReturns(horizon);
        var distinct = ds.DistinctTimes();
        var folds = WalkForward.Split(ds, new WalkForwardOptions { Folds = 4, Mode = mode });
        Assert.Equal(4, folds.Count);
        foreach (var fold in folds)
        {
            Assert.NotEmpty(fold.TrainRows);
            Assert.NotEmpty(fold.TestRows);
            var testStart = fold.TestRows.Min(r => ds.Times[r]);
            Assert.All(fold.TrainRows, r => Assert.True(ds.LabelEnd[r] < testStart));
            var lastTrain = Array.IndexOf(distinct, fold.TrainRows.Max(r => ds.Times[r]));
            Assert.True(Array.IndexOf(distinct, testStart) - lastTrain > horizon, "purge gap of at least the horizon");
        }
        for (var k = 1; k < folds.Count; k++) Assert.True(folds[k].TestStart > folds[k - 1].TestEnd);
    }

    [Fact]
    public void Split_Embargo_ExcludesTimesRightAfterEarlierTestBlocks()
    {
        var ds = Synthetic.TwoSymbolReturns(3);
        var distinct = ds.DistinctTimes();
        var folds = WalkForward.Split(ds, new WalkForwardOptions { Folds = 3, EmbargoPeriods = 7 });
        var firstTestEnd = Array.IndexOf(distinct, folds[0].TestEnd);
        var embargoed = distinct.Skip(firstTestEnd + 1).Take(7).ToHashSet();
        Assert.DoesNotContain(folds[1].TrainRows, r => embargoed.Contains(ds.Times[r]));
        Assert.DoesNotContain(folds[2].TrainRows, r => embargoed.Contains(ds.Times[r]));
        Assert.Contains(folds[2].TrainRows, r => ds.Times[r] == distinct[firstTestEnd + 8]);
    }

    [Fact]
    public void Split_Rolling_KeepsWindowLength()
    {
        var ds = Synthetic.TwoSymbolReturns(1);
        var folds = WalkForward.Split(ds, new WalkForwardOptions { Folds = 3, Mode = WindowMode.Rolling, TrainPeriods = 100 });
        Assert.All(folds, f => Assert.True(f.TrainRows.Select(r => ds.Times[r]).Distinct().Count() <= 100));
        Assert.True(folds[2].TrainStart > folds[0].TrainStart);
    }

    [Theory]
    [InlineData(2, null)]
    [InlineData(null, 2)]
    public void Split_PurgeOrEmbargoShorterThanHorizon_Throws(int? purge, int? embargo)
    {
        var ex = Assert.Throws<ArgumentException>(() => WalkForward.Split(Synthetic.TwoSymbolReturns(5), new WalkForwardOptions { PurgePeriods = purge, EmbargoPeriods = embargo }));
        Assert.Contains("at least the horizon", ex.Message);
    }

    [Fact]
    public void EarlyStoppingSplit_ValidationIsLaterWithGap()
    {
        var ds = Synthetic.TwoSymbolReturns(5);
        var rows = Enumerable.Range(0, ds.Rows).ToArray();
        var (fit, valid) = WalkForward.EarlyStoppingSplit(ds.Times, rows, 0.2, 5);
        Assert.True(fit.Max(r => ds.LabelEnd[r]) < valid.Min(r => ds.Times[r]));
    }
}
