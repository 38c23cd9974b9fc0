using Platform.BuildingBlocks.PubSub;
using Platform.BuildingBlocks.State;

namespace Platform.Features.Tests;

public sealed class FeatureJsonTests
{
    private static readonly FeaturesComputed Event = new("AAA", "1d", new DateTimeOffset(2024, 1, 2, 0, 0, 0, TimeSpan.Zero), "indicators@1",
        ["a", "b", "c"], [1.5, double.NaN, double.PositiveInfinity]);

    [Fact]
    public void ToOutgoing_VectorWithNaN_RoundTripsThroughFeatureJson()
    {
        var outgoing = FeatureJson.ToOutgoing(Event);
        Assert.Equal("feat:indicators@1:AAA:1d:2024-01-02T00:00:00.0000000Z", outgoing.Id);
        Assert.Equal(Topics.MarketFeatures, outgoing.Topic);
        var delivered = new CloudEvent(outgoing.Id, "features", outgoing.Type, outgoing.Topic, "pubsub", DateTimeOffset.UtcNow, "application/json", outgoing.Data);
        var read = FeatureJson.ReadFeaturesComputed(delivered);
        TestBars.Identical(Event.Values, read.Values, "round trip");
    }

    [Fact]
    public void SharedStateJson_VectorWithNaN_ReadsButCannotWriteIt()
    {
        // Consumers using AddEventHandler<FeaturesComputed> (shared options, numbers readable from strings) get NaN back;
        // writing needs FeatureJson, because the shared options refuse to write NaN.
        var read = JsonSerializer.Deserialize<FeaturesComputed>(FeatureJson.ToOutgoing(Event).Data.Span, StateStoreExtensions.Json)!;
        TestBars.Identical(Event.Values, read.Values, "shared options");
        Assert.Throws<ArgumentException>(() => StateStoreExtensions.Serialize(Event));
    }

    [Fact]
    public void Nullable_NonFiniteValues_BecomeNullAndBackToNaN()
    {
        var nullable = FeatureJson.Nullable(Event.Values);
        Assert.Equal([1.5, null, null], nullable);
        TestBars.Identical([1.5, double.NaN, double.NaN], FeatureJson.FromNullable(nullable), "back");
    }
}

public sealed class FeatureJsonWriterTests
{
    private static readonly Platform.Quant.Features.FeatureSet Set = Platform.Quant.Features.FeatureSets.IndicatorsV1;

    private static double[] Values()
    {
        var values = Enumerable.Range(0, Set.Count).Select(i => Math.Sin(i) * 1e3 / (i + 1)).ToArray();
        values[0] = double.NaN;
        values[1] = double.PositiveInfinity;
        values[2] = double.NegativeInfinity;
        values[3] = 1e-300;
        return values;
    }

    [Fact]
    public void ToOutgoing_FromTheSet_SameBytesAsTheSerializedEvent()
    {
        var time = new DateTimeOffset(2024, 3, 4, 0, 0, 0, TimeSpan.Zero);
        var values = Values();
        var expected = FeatureJson.ToOutgoing(new FeaturesComputed("A\"B", "1d", time, Set.Id, Set.Features, values));
        var actual = FeatureJson.ToOutgoing(Set, "A\"B", "1d", time, values);
        Assert.Equal(expected with { Data = default }, actual with { Data = default });
        Assert.Equal(System.Text.Encoding.UTF8.GetString(expected.Data.Span), System.Text.Encoding.UTF8.GetString(actual.Data.Span));
    }

    [Fact]
    public void SerializeOnlineVector_AnyVector_SameBytesAsTheStateJson()
    {
        var time = new DateTimeOffset(2024, 3, 4, 0, 0, 0, TimeSpan.Zero);
        var values = Values();
        var expected = StateStoreExtensions.Serialize(new Platform.Features.Pipeline.OnlineFeatureVector(
            Set.Id, Set.Hash, "AAA", "1d", time, Set.Features, FeatureJson.Nullable(values)));
        var actual = FeatureJson.SerializeOnlineVector(Set, "AAA", "1d", time, values);
        Assert.Equal(System.Text.Encoding.UTF8.GetString(expected), System.Text.Encoding.UTF8.GetString(actual));
    }
}
