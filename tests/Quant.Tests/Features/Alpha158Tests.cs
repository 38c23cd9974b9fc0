using Platform.Quant.Features;

namespace Platform.Quant.Tests.Features;

public sealed class Alpha158Tests
{
    private static readonly Bar[] Bars = SeededBars.Generate(1500, seed: 7);

    public static TheoryData<string> FactorNames => new(Alpha158Definition.Names);

    private static readonly Lazy<(double[][] Streaming, double[][] Batch)> Results = new(() =>
    {
        var streaming = new Alpha158();
        var s = Bars.Select(b => streaming.Update(b)).ToArray();
        return (s, Alpha158Reference.Compute(Bars));
    });

    [Theory]
    [MemberData(nameof(FactorNames))]
    public void Update_SeededRandomWalk_EqualsBatchRecomputation(string factor)
    {
        var index = Alpha158Definition.Names.IndexOf(factor);
        var (streaming, batch) = Results.Value;
        for (var t = 0; t < Bars.Length; t++)
            Approx.AssertEqual(batch[t][index], streaming[t][index], $"{factor} at bar {t}");
        Assert.All(streaming.Skip(Alpha158Definition.WarmUpPeriod), v => Assert.False(double.IsNaN(v[index]), $"{factor} is NaN after warm-up"));
    }

    [Fact]
    public void Definition_Default_Has158FactorsInQlibOrder()
    {
        var names = Alpha158Definition.Names;
        Assert.Equal(158, names.Length);
        Assert.Equal(["KMID", "KLEN", "KMID2", "KUP", "KUP2", "KLOW", "KLOW2", "KSFT", "KSFT2", "OPEN0", "HIGH0", "LOW0", "VWAP0"], names.Take(13));
        Assert.Equal(["ROC5", "ROC10", "ROC20", "ROC30", "ROC60", "MA5"], names.Skip(13).Take(6));
        Assert.Equal("VSUMD60", names[^1]);
        Assert.Equal(names.Length, names.Distinct().Count());
        Assert.Equal(Alpha158Definition.IndexOf("CORR", 60), names.IndexOf("CORR60"));
    }

    [Fact]
    public void Update_FirstBars_NaNExactlyWhereQlibGivesNaN()
    {
        var calc = new Alpha158();
        var first = calc.Update(Bars[0]);
        var second = calc.Update(Bars[1]);
        var third = calc.Update(Bars[2]);
        int I(string name) => Alpha158Definition.Names.IndexOf(name);

        // One bar: no previous close, one observation.
        string[] nanAtFirst = ["ROC5", "STD5", "BETA5", "RSQR5", "RESI5", "CORR5", "CORD5", "SUMP5", "SUMN5", "SUMD5", "VSTD5", "WVMA5", "VSUMP5", "VSUMN5", "VSUMD5"];
        foreach (var name in nanAtFirst) Assert.True(double.IsNaN(first[I(name)]), $"{name} should be NaN at the first bar");
        string[] definedAtFirst = ["KMID", "VWAP0", "MA5", "MAX60", "MIN60", "QTLU60", "QTLD60", "RANK60", "RSV60", "IMAX60", "IMIN60", "IMXD60", "CNTP60", "CNTN60", "CNTD60", "VMA60"];
        foreach (var name in definedAtFirst) Assert.False(double.IsNaN(first[I(name)]), $"{name} should be defined at the first bar (min_periods=1)");
        Assert.Equal(0.0, first[I("CNTP5")]);
        Assert.Equal(1.0, first[I("RANK5")]);
        Assert.Equal(1.0 / 5, first[I("IMAX5")]);

        // Two bars: one valid change; CORD and WVMA's std still have one observation.
        Assert.True(double.IsNaN(second[I("CORD5")]));
        Assert.True(double.IsNaN(second[I("WVMA5")]));
        Assert.False(double.IsNaN(second[I("SUMP5")]));
        Assert.False(double.IsNaN(second[I("STD5")]));
        Assert.False(double.IsNaN(third[I("CORD5")]));
        Assert.False(double.IsNaN(third[I("WVMA5")]));
        Assert.True(double.IsNaN(third[I("ROC5")]));
    }

    [Fact]
    public void Update_HandComputedBars_MatchesQlibFormulas()
    {
        // Closes 10, 11, 10.5, 12, 11.5 with highs = close + 1, lows = close - 1, opens = close - 0.5.
        double[] closes = [10, 11, 10.5, 12, 11.5];
        double[] volumes = [100, 200, 150, 300, 250];
        var calc = new Alpha158();
        double[] f = [];
        for (var i = 0; i < closes.Length; i++)
            f = calc.Update(new Bar(SeededBars.Start.AddDays(i), closes[i] - 0.5, closes[i] + 1, closes[i] - 1, closes[i], volumes[i]));
        int I(string name) => Alpha158Definition.Names.IndexOf(name);
        const double c = 11.5;

        Assert.Equal(0.5 / 11.0, f[I("KMID")], 12);
        Assert.Equal(11.0 / c, f[I("MA5")], 12);                     // mean 55/5
        // Sample std (ddof = 1): deviations -1, 0, -0.5, 1, 0.5 → Σd² = 2.5, /4.
        Assert.Equal(Math.Sqrt(2.5 / 4) / c, f[I("STD5")], 12);
        // Slope on 1..5: Σ(x - 3)(y - 11) = (-2)(-1) + 0 + 0 + 1·1 + 2·0.5 = 4, Σ(x - 3)² = 10.
        Assert.Equal(0.4 / c, f[I("BETA5")], 12);
        Assert.Equal(4.0 * 4.0 / (10 * 2.5), f[I("RSQR5")], 12);
        Assert.Equal((11.5 - (11 + 0.4 * 2)) / c, f[I("RESI5")], 12);
        // Sorted closes 10, 10.5, 11, 11.5, 12: 0.8 quantile at position 3.2 → 11.5 + 0.2·0.5.
        Assert.Equal(11.6 / c, f[I("QTLU5")], 12);
        Assert.Equal(10.4 / c, f[I("QTLD5")], 12);
        Assert.Equal(4.0 / 5, f[I("RANK5")], 12);                     // 11.5 is the 4th smallest
        Assert.Equal(4.0 / 5, f[I("IMAX5")], 12);                     // highest high (13) is the 4th bar
        Assert.Equal(1.0 / 5, f[I("IMIN5")], 12);                     // lowest low (9) is the 1st bar
        Assert.Equal((c - 9) / (13 - 9 + 1e-12), f[I("RSV5")], 12);
        Assert.Equal(2.0 / 5, f[I("CNTP5")], 12);                     // up on bars 2 and 4
        Assert.Equal(2.0 / 5, f[I("CNTN5")], 12);
        // Changes +1, -0.5, +1.5, -0.5: gains 2.5, losses 1, total 3.5.
        Assert.Equal(2.5 / (3.5 + 1e-12), f[I("SUMP5")], 12);
        Assert.Equal(1.5 / (3.5 + 1e-12), f[I("SUMD5")], 12);
        Assert.Equal(200.0 / (250 + 1e-12), f[I("VMA5")], 12);
        // Volume changes +100, -50, +150, -50.
        Assert.Equal(250.0 / (350 + 1e-12), f[I("VSUMP5")], 12);
        Assert.True(double.IsNaN(f[I("ROC5")]));                     // needs a sixth bar
        // No VWAP on the bar: VWAP0 uses the typical price (12.5 + 10.5 + 11.5) / 3.
        Assert.Equal(11.5 / c, f[I("VWAP0")], 12);
    }

    [Fact]
    public void Update_BarWithVwap_UsesIt()
    {
        var calc = new Alpha158();
        var f = calc.Update(new Bar(SeededBars.Start, 10, 11, 9, 10, 1000, Vwap: 10.4));
        Assert.Equal(1.04, f[Alpha158Definition.Names.IndexOf("VWAP0")], 12);
    }

    [Fact]
    public void Update_ConstantPrices_FlatFactorsAreNaNOrZeroAsInQlib()
    {
        var calc = new Alpha158();
        double[] f = [];
        for (var i = 0; i < 80; i++) f = calc.Update(new Bar(SeededBars.Start.AddDays(i), 10, 10, 10, 10, 500));
        int I(string name) => Alpha158Definition.Names.IndexOf(name);
        Assert.Equal(0.0, f[I("STD20")]);
        Assert.True(double.IsNaN(f[I("RSQR20")]));
        Assert.True(double.IsNaN(f[I("CORR20")]));
        Assert.Equal(0.0, f[I("SUMP20")]);
        Assert.Equal(0.0, f[I("VSTD60")]);
        Assert.Equal(0.0, f[I("BETA60")]);
    }

    [Fact]
    public void Update_EqualOrEarlierTime_Throws()
    {
        var calc = new Alpha158();
        calc.Update(Bars[1]);
        var ex = Assert.Throws<ArgumentException>(() => calc.Update(Bars[1]));
        Assert.Contains(Bars[1].Time.ToString("o"), ex.Message);
        Assert.Throws<ArgumentException>(() => calc.Update(Bars[0]));
    }

    [Fact]
    public void Reset_AfterHistory_ReproducesFreshResults()
    {
        var calc = new Alpha158();
        foreach (var bar in Bars.Take(200)) calc.Update(bar);
        calc.Reset();
        var fresh = new Alpha158();
        foreach (var bar in Bars.Skip(300).Take(100))
            Assert.Equal(fresh.Update(bar), calc.Update(bar));
    }

    [Fact]
    public void Update_PrefixOfHistory_ValuesDependOnlyOnPastBars()
    {
        var full = Alpha158Reference.Compute(Bars.Take(400).ToArray());
        var prefix = Alpha158Reference.Compute(Bars.Take(250).ToArray());
        for (var t = 0; t < 250; t++) Assert.Equal(prefix[t], full[t]);
    }
}
