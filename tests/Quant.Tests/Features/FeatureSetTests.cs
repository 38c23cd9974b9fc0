using Platform.Quant.Features;

namespace Platform.Quant.Tests.Features;

public sealed class FeatureSetTests
{
    private static readonly Bar[] Bars = SeededBars.Generate(400, seed: 3, withVwap: true);

    [Theory]
    [InlineData("alpha158@1", 158)]
    [InlineData("indicators@1", 42)]
    public void Get_BuiltInId_ReturnsSetWithIdAndHash(string id, int count)
    {
        var set = FeatureSets.Get(id);
        Assert.Equal(id, set.Id);
        Assert.Equal(count, set.Count);
        Assert.Matches("^[0-9a-f]{64}$", set.Hash);
        Assert.Equal(set, FeatureSets.Get(set.Name, set.Version));
    }

    [Theory]
    [InlineData("alpha158@2")]
    [InlineData("alpha360@1")]
    [InlineData("alpha158")]
    public void Get_UnknownIdOrVersion_ThrowsWithKnownIds(string id)
    {
        var ex = Assert.Throws<UnknownFeatureSetException>(() => FeatureSets.Get(id));
        Assert.Equal(id, ex.Requested);
        Assert.Equal(["alpha158@1", "indicators@1"], ex.Known);
        Assert.Contains("alpha158@1", ex.Message);
        Assert.Throws<UnknownFeatureSetException>(() => FeatureSets.CreateCalculator(id));
    }

    [Fact]
    public void Hash_AnyDefinitionChange_ChangesHash()
    {
        var a = new FeatureSet("x", 1, ["f1", "f2"], "f1=a\nf2=b");
        Assert.Equal(a.Hash, new FeatureSet("x", 1, ["f1", "f2"], "f1=a\nf2=b").Hash);
        Assert.NotEqual(a.Hash, new FeatureSet("x", 1, ["f2", "f1"], "f1=a\nf2=b").Hash);
        Assert.NotEqual(a.Hash, new FeatureSet("x", 2, ["f1", "f2"], "f1=a\nf2=b").Hash);
        Assert.NotEqual(a.Hash, new FeatureSet("x", 1, ["f1", "f2"], "f1=a\nf2=c").Hash);
        Assert.Throws<ArgumentException>(() => new FeatureSet("x", 1, ["f1", "f1"], ""));
    }

    [Fact]
    public void Definition_Alpha158_StatesVwapFallback()
    {
        Assert.Contains("typical price (high+low+close)/3", FeatureSets.Alpha158V1.Definition);
        Assert.Contains("CORD60=Corr($close/Ref($close,1), Log($volume/Ref($volume, 1)+1), 60)", FeatureSets.Alpha158V1.Definition);
    }

    public static TheoryData<string> Ids => new(FeatureSets.Ids);

    [Theory]
    [MemberData(nameof(Ids))]
    public void Update_AfterWarmUp_EveryFeatureDefined(string id)
    {
        var calc = FeatureSets.CreateCalculator(id);
        double[] last = [];
        for (var t = 0; t < calc.WarmUpPeriod; t++)
        {
            Assert.False(calc.IsReady);
            last = calc.Update(Bars[t]);
        }
        Assert.True(calc.IsReady);
        for (var i = 0; i < last.Length; i++) Assert.False(double.IsNaN(last[i]), $"{calc.Set.Features[i]} is NaN at the end of warm-up");
    }

    [Theory]
    [MemberData(nameof(Ids))]
    public void Update_FutureBarsChanged_PastVectorsUnchanged(string id)
    {
        var altered = Bars.Select((b, i) => i >= 300 ? b with { Close = b.Close * 1.5, High = b.High * 1.5, Volume = 1 } : b).ToArray();
        var original = FeatureBatch.Replay(() => FeatureSets.CreateCalculator(id), Bars);
        var changed = FeatureBatch.Replay(() => FeatureSets.CreateCalculator(id), altered);
        for (var t = 0; t < 300; t++) Assert.Equal(original[t], changed[t]);
        Assert.NotEqual(original[300], changed[300]);
    }

    [Theory]
    [MemberData(nameof(Ids))]
    public void Update_SpanOverload_SameAsAllocatingOverload(string id)
    {
        var a = FeatureSets.CreateCalculator(id);
        var b = FeatureSets.CreateCalculator(id);
        var buffer = new double[a.Set.Count];
        foreach (var bar in Bars.Take(120))
        {
            b.Update(bar, buffer);
            Assert.Equal(a.Update(bar), buffer);
        }
    }
}
