using System.Text.Json.Serialization;
using Platform.BuildingBlocks.PubSub;
using Platform.Serving.Streaming;
using Platform.TestSupport;

namespace Platform.Serving.Tests;

/// <summary>The champions score every computed feature vector when streaming is enabled, through the real subscription.</summary>
public sealed class StreamingPredictionsTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Time = new(2024, 3, 1, 0, 0, 0, TimeSpan.Zero);
    private ServingHost _host = null!;

    public async Task InitializeAsync()
    {
        _host = await ServingHost.StartAsync(async registry => await ServingHost.RegisterAndPromoteAsync(registry, "ret", ServingHost.ConstantModel(0.3)),
            new Dictionary<string, string?> { ["Serving:Streaming:Enabled"] = "true" });
        await _host.WaitForVersionAsync("ret", 1);
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private IEventPublisher Publisher => _host.Services.GetRequiredService<IEventPublisher>();

    /// <summary>
    /// A vector of a set that is not built in, so it carries its names; values in the schema-1 form (a JSON array, NaN as a
    /// named literal), which readers still accept.
    /// </summary>
    private static OutgoingEvent Vector(string symbol, string interval = "1d", string set = ServingHost.FeatureSet)
    {
        var vector = new FeaturesComputed(symbol, interval, Time, set, ServingHost.FeatureNames, [0.1, double.NaN, 0.3]);
        var json = JsonSerializer.SerializeToUtf8Bytes(vector, new JsonSerializerOptions(JsonSerializerDefaults.Web)
        {
            NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        });
        return new OutgoingEvent(vector.Topic, vector.EventId, nameof(FeaturesComputed), json, vector.PartitionKey);
    }

    private IReadOnlyList<string> Predictions() => EmbeddedEventLog.Ids(_host.DataDir, Topics.Predictions);

    [Fact]
    public async Task HandleAsync_VectorOfTheChampionsFeatureSet_PublishesOnePredictionWithAnIdOfModelVersionSymbolAndTime()
    {
        var scorer = _host.Services.GetRequiredService<StreamingPredictions>();

        await Publisher.PublishAsync(Vector("AAA"));
        await Eventually.UntilAsync(() => Task.FromResult(Predictions().Count == 1), "one prediction published", TimeSpan.FromSeconds(30));

        Assert.Equal([$"pred:stream:ret:1:AAA:1d:{EventIds.Time(Time)}"], Predictions());
        // The scorer counts a vector once its predictions are published, so the count may follow the event by a moment.
        await Eventually.UntilAsync(() => Task.FromResult(scorer.Scored >= 1), "the vector counted as scored", TimeSpan.FromSeconds(30));
        Assert.Equal(1, scorer.Scored);
    }

    [Fact]
    public async Task HandleAsync_OtherIntervalOrFeatureSet_PublishesNothing()
    {
        var scorer = _host.Services.GetRequiredService<StreamingPredictions>();

        await Publisher.PublishAsync(Vector("AAA", interval: "1h"));
        await Publisher.PublishAsync(Vector("BBB", set: "alpha158@1"));
        await Publisher.PublishAsync(Vector("CCC"));
        await Eventually.UntilAsync(() => Task.FromResult(Predictions().Count >= 1), "the last vector scored", TimeSpan.FromSeconds(30));

        // Delivered in order on one consumer group: the first two were handled before the third.
        Assert.Equal([$"pred:stream:ret:1:CCC:1d:{EventIds.Time(Time)}"], Predictions());
        // The scorer counts a vector once its predictions are published, so the count may follow the event by a moment.
        await Eventually.UntilAsync(() => Task.FromResult(scorer.Scored >= 1), "the vector counted as scored", TimeSpan.FromSeconds(30));
        Assert.Equal(1, scorer.Scored);
    }

    [Fact]
    public async Task HandleAsync_CompactVectorOfASetThisBuildDoesNotHave_IsDeadLetteredAndTheNextOneScored()
    {
        // Schema 2 without names: only a built-in set (with its hash) says what the values are.
        var compact = new FeaturesComputed("EEE", "1d", Time, ServingHost.FeatureSet, null, [0.1, 0.2, 0.3], "hash-test");
        await Publisher.PublishAsync(new OutgoingEvent(compact.Topic, compact.EventId, nameof(FeaturesComputed),
            JsonSerializer.SerializeToUtf8Bytes(compact, new JsonSerializerOptions(JsonSerializerDefaults.Web)), compact.PartitionKey));
        await Publisher.PublishAsync(Vector("FFF"));
        await Eventually.UntilAsync(() => Task.FromResult(Predictions().Count == 1), "the vector with names scored", TimeSpan.FromSeconds(30));

        Assert.Equal([compact.EventId], EmbeddedEventLog.Ids(_host.DataDir, Topics.DeadLetter(Topics.MarketFeatures)));
    }

    [Fact]
    public void NamesOf_CompactVectorOfABuiltInSet_TheSetsNamesWhenTheHashMatches()
    {
        var set = Platform.Quant.Features.FeatureSets.Alpha158V1;
        var compact = new FeaturesComputed("AAA", "1d", Time, set.Id, null, new double[set.Count], set.Hash);
        Assert.Equal(set.Features, StreamingPredictions.NamesOf(compact));
        Assert.Null(StreamingPredictions.NamesOf(compact with { SetHash = "other" }));
        Assert.Equal(ServingHost.FeatureNames, StreamingPredictions.NamesOf(compact with { Names = ServingHost.FeatureNames }));
    }

    [Fact]
    public async Task HandleAsync_MalformedVector_IsDeadLetteredAndTheNextOneScored()
    {
        await Publisher.PublishAsync(new OutgoingEvent(Topics.MarketFeatures, "feat:bad", nameof(FeaturesComputed),
            Encoding.UTF8.GetBytes("""{"symbol":"AAA","interval":"1d","time":"2024-03-01T00:00:00Z","featureSet":"test@1","names":["f1"],"values":[1,2]}"""), "AAA"));
        await Publisher.PublishAsync(Vector("DDD"));
        await Eventually.UntilAsync(() => Task.FromResult(Predictions().Count == 1), "the valid vector scored", TimeSpan.FromSeconds(30));

        Assert.Equal(["feat:bad"], EmbeddedEventLog.Ids(_host.DataDir, Topics.DeadLetter(Topics.MarketFeatures)));
    }
}
