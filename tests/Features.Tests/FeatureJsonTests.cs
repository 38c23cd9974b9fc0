using Platform.BuildingBlocks.PubSub;
using Platform.BuildingBlocks.State;
using System.Text;

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
    public void SharedStateJson_VectorWithNaN_WritesAndReadsItPacked()
    {
        // The values are packed doubles whatever the options, so the shared options (AddEventHandler<FeaturesComputed>) read
        // and write NaN and infinities exactly.
        var json = StateStoreExtensions.Serialize(Event);
        var read = JsonSerializer.Deserialize<FeaturesComputed>(json, StateStoreExtensions.Json)!;
        TestBars.Identical(Event.Values, read.Values, "shared options");
        Assert.Equal(Event.Names, read.Names);
        Assert.Contains("\"values\":\"", Encoding.UTF8.GetString(json));
    }

    [Fact]
    public void Read_SchemaOneEvent_NamesAndNumberArrayWithNaNStrings()
    {
        // What the service published before schema 2: names in every event, values a JSON array with "NaN" strings.
        const string v1 = """
            {"symbol":"AAA","interval":"1d","time":"2024-01-02T00:00:00+00:00","featureSet":"indicators@1","names":["a","b","c","d"],
             "values":[1.5,"NaN","Infinity",-2e-300],"eventId":"x","topic":"market-features","partitionKey":"AAA"}
            """;
        foreach (var options in new[] { FeatureJson.Options, StateStoreExtensions.Json, new JsonSerializerOptions(JsonSerializerDefaults.Web) })
        {
            var read = JsonSerializer.Deserialize<FeaturesComputed>(v1, options)!;
            Assert.Equal(["a", "b", "c", "d"], read.Names);
            Assert.Null(read.SetHash);
            TestBars.Identical([1.5, double.NaN, double.PositiveInfinity, -2e-300], read.Values.ToArray(), "schema 1");
            Assert.Equal(["a", "b", "c", "d"], FeatureJson.ResolveNames(read));
        }
    }

    [Fact]
    public void ResolveNames_CompactEvent_FromTheBuiltInSetOnlyWhenItsHashMatches()
    {
        var set = Platform.Quant.Features.FeatureSets.IndicatorsV1;
        var compact = new FeaturesComputed("AAA", "1d", DateTimeOffset.UnixEpoch, set.Id, null, new double[set.Count], set.Hash);
        Assert.Equal(set.Features, FeatureJson.ResolveNames(compact));
        Assert.Null(FeatureJson.ResolveNames(compact with { SetHash = "another-definition" }));
        Assert.Null(FeatureJson.ResolveNames(compact with { FeatureSet = "custom@1" }));
    }

    [Fact]
    public void Read_PackedValuesNotWholeDoubles_Refused()
    {
        const string bad = """{"symbol":"AAA","interval":"1d","time":"2024-01-02T00:00:00+00:00","featureSet":"indicators@1","values":"AAEC"}""";
        Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<FeaturesComputed>(bad, FeatureJson.Options));
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
    public void ToOutgoing_FromTheSet_SameBytesAsTheSerializedEventAndCheckedJson()
    {
        var time = new DateTimeOffset(2024, 3, 4, 0, 0, 0, TimeSpan.Zero);
        var values = Values();
        var expected = FeatureJson.ToOutgoing(new FeaturesComputed("A\"B", "1d", time, Set.Id, null, values, Set.Hash));
        var actual = FeatureJson.ToOutgoing(Set, "A\"B", "1d", time, values);
        Assert.Equal(expected with { Data = default }, actual with { Data = default });
        Assert.Equal(System.Text.Encoding.UTF8.GetString(expected.Data.Span), System.Text.Encoding.UTF8.GetString(actual.Data.Span));
        Assert.True(Platform.BuildingBlocks.PubSub.JsonPayload.IsCheckedJson(actual.Data));
        var read = JsonSerializer.Deserialize<FeaturesComputed>(actual.Data.Span, FeatureJson.Options)!;
        TestBars.Identical(values, read.Values.ToArray(), "compact round trip");
        // Packed: about 11 bytes a value, where the names and formatted numbers took several times that.
        Assert.True(actual.Data.Length < Set.Count * 11 + 400, $"{actual.Data.Length} bytes for {Set.Count} values");
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
