using Platform.Modeling.Datasets;
using Platform.Modeling.Targets;
using Platform.Quant;

namespace Platform.Modeling.Tests;

public sealed class TargetsAndDatasetTests
{
    private static List<Bar> Prices(params double[] closes) =>
        closes.Select((c, i) => new Bar(Synthetic.Start.AddDays(i), c, c, c, c, 1)).ToList();

    [Fact]
    public void Compute_ForwardReturn_UsesBarsAfterT()
    {
        var y = Targets.Targets.Compute(Prices(100, 110, 99, 99), new TargetSpec(TargetKind.Return, 2));
        Assert.Equal(Math.Log(99 / 100.0), y[0], 12);
        Assert.Equal(Math.Log(99 / 110.0), y[1], 12);
        Assert.True(double.IsNaN(y[2]) && double.IsNaN(y[3]));
    }

    [Fact]
    public void Compute_Direction_IsOneOnlyForPositiveReturns()
    {
        var y = Targets.Targets.Compute(Prices(100, 110, 99, 99), new TargetSpec(TargetKind.Direction, 1));
        Assert.Equal([1.0, 0.0, 0.0], y[..3]);
    }

    [Fact]
    public void Compute_Volatility_IsRootSumOfSquaredForwardReturns()
    {
        var y = Targets.Targets.Compute(Prices(100, 110, 99, 99), new TargetSpec(TargetKind.Volatility, 2));
        var r1 = Math.Log(1.1); var r2 = Math.Log(0.9);
        Assert.Equal(Math.Sqrt(r1 * r1 + r2 * r2), y[0], 12);
        Assert.Equal(Math.Abs(r2), y[1], 12);
    }

    [Fact]
    public void Compute_AdjustedClose_IsPreferred()
    {
        var bars = new List<Bar> { new(Synthetic.Start, 1, 1, 1, 100, 1, AdjClose: 50), new(Synthetic.Start.AddDays(1), 1, 1, 1, 60, 1, AdjClose: 55) };
        Assert.Equal(Math.Log(55 / 50.0), Targets.Targets.Compute(bars, new TargetSpec(TargetKind.Return, 1))[0], 12);
    }

    [Fact]
    public void Build_Rows_HaveLabelsRealisedStrictlyAfterDecisionAndInsideRange()
    {
        var bars = Synthetic.Bars(300, 1);
        var spec = Synthetic.Spec(["A"], TargetKind.Return, 5, days: 200);
        var ds = DatasetBuilder.Build(spec, [Synthetic.Input("A", bars)]);
        Assert.True(ds.Rows > 0);
        for (var i = 0; i < ds.Rows; i++)
        {
            Assert.True(ds.LabelEnd[i] > ds.Times[i]);
            Assert.True(ds.LabelEnd[i] <= spec.To);
            Assert.Equal(ds.Times[i].AddDays(5), ds.LabelEnd[i]);
        }
    }

    [Fact]
    public void Build_FutureBarsChanged_DatasetUnchanged()
    {
        // A dataset cut at To must not depend on any price after To (no look-ahead through labels or features).
        var bars = Synthetic.Bars(300, 2);
        var spec = Synthetic.Spec(["A"], TargetKind.Volatility, 3, days: 200);
        var before = DatasetBuilder.Build(spec, [Synthetic.Input("A", bars)]);
        var shocked = bars.Select((b, i) => b.Time > spec.To ? b with { Close = b.Close * 3, AdjClose = null } : b).ToList();
        var after = DatasetBuilder.Build(spec, [Synthetic.Input("A", shocked)]);
        Assert.Equal(before.Labels, after.Labels);
        Assert.Equal(before.Frame.Values, after.Frame.Values);
    }

    [Fact]
    public void Build_WarmUpRows_AreDropped()
    {
        var bars = Synthetic.Bars(100, 3);
        var ds = DatasetBuilder.Build(Synthetic.Spec(["A"], TargetKind.Return, 1), [Synthetic.Input("A", bars)]);
        Assert.Equal(bars[Synthetic.Features.WarmUpPeriod - 1].Time, ds.Times[0]);
    }

    [Fact]
    public void Build_LastTarget_IsTheLabelRealisedAtDecisionTime()
    {
        var bars = Synthetic.Bars(100, 4);
        var ds = DatasetBuilder.Build(Synthetic.Spec(["A"], TargetKind.Return, 3), [Synthetic.Input("A", bars)]);
        var last = ds.Frame.Aux[AuxColumns.LastTarget];
        // Row k's last target is the label of the row 3 bars earlier, which ends exactly at row k's decision time.
        for (var k = 3; k < ds.Rows; k++)
        {
            Assert.Equal(ds.Labels[k - 3], last[k], 12);
            Assert.Equal(ds.Times[k], ds.LabelEnd[k - 3]);
        }
    }

    [Fact]
    public void Build_Pooled_OrdersByTimeThenSymbol()
    {
        var ds = DatasetBuilder.Build(Synthetic.Spec(["B", "A"], TargetKind.Return, 1),
            [Synthetic.Input("A", Synthetic.Bars(80, 5)), Synthetic.Input("B", Synthetic.Bars(80, 6))]);
        for (var i = 1; i < ds.Rows; i++)
            Assert.True(ds.Times[i] > ds.Times[i - 1] || (ds.Times[i] == ds.Times[i - 1] && ds.SymbolIndex[i] > ds.SymbolIndex[i - 1]));
        Assert.Equal(2, DatasetBuilder.BuildPerSymbol(ds.Spec, [Synthetic.Input("A", Synthetic.Bars(80, 5)), Synthetic.Input("B", Synthetic.Bars(80, 6))]).Count);
    }

    [Fact]
    public void Fingerprint_SymbolOrderIgnored_HorizonAndFeatureHashMatter()
    {
        var a = Synthetic.Spec(["A", "B"], TargetKind.Return, 5);
        Assert.Equal(DatasetBuilder.Fingerprint(a), DatasetBuilder.Fingerprint(a with { Symbols = ["B", "A"] }));
        Assert.NotEqual(DatasetBuilder.Fingerprint(a), DatasetBuilder.Fingerprint(a with { Target = new TargetSpec(TargetKind.Return, 6) }));
        Assert.NotEqual(DatasetBuilder.Fingerprint(a), DatasetBuilder.Fingerprint(a with { Features = a.Features with { Hash = "other" } }));
        Assert.Equal(64, DatasetBuilder.Fingerprint(a).Length);
    }
}
