using Microsoft.Extensions.Configuration;
using Platform.BuildingBlocks.State;
using Platform.Serving.Features;

namespace Platform.Serving.Tests;

/// <summary>The online store's latest vectors, read on every call and parsed only when their stored bytes changed.</summary>
public sealed class OnlineFeaturesTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Day = new(2024, 3, 1, 0, 0, 0, TimeSpan.Zero);
    private ServingHost _host = null!;

    public async Task InitializeAsync() => _host = await ServingHost.StartAsync();

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private OnlineFeatures Online(int cacheSize) => new(_host.Services.GetRequiredService<IStateStoreProvider>(), cacheSize);

    [Fact]
    public async Task GetAsync_StoredVectorUnchanged_ReturnsTheVectorParsedBefore()
    {
        await _host.PutFeaturesAsync("AAA", [1.0, 2.0, null], Day);
        var online = Online(OnlineFeatures.DefaultCacheSize);

        var first = await online.GetAsync(ServingHost.FeatureSet, "AAA", "1d", CancellationToken.None);
        var second = await online.GetAsync(ServingHost.FeatureSet, "AAA", "1d", CancellationToken.None);

        Assert.NotNull(first);
        Assert.Same(first, second);
    }

    [Fact]
    public async Task GetAsync_VectorRewritten_ReturnsTheNewValues()
    {
        await _host.PutFeaturesAsync("AAA", [1.0, 2.0, null], Day);
        var online = Online(OnlineFeatures.DefaultCacheSize);
        var before = await online.GetAsync(ServingHost.FeatureSet, "AAA", "1d", CancellationToken.None);

        await _host.PutFeaturesAsync("AAA", [4.0, 5.0, 6.0], Day.AddDays(1));
        var after = await online.GetAsync(ServingHost.FeatureSet, "AAA", "1d", CancellationToken.None);

        Assert.Equal([1.0, 2.0, null], before!.Values);
        Assert.Equal([4.0, 5.0, 6.0], after!.Values);
        Assert.Equal(Day.AddDays(1), after.Time);
    }

    [Fact]
    public async Task GetAsync_CacheOff_ParsesEveryRead()
    {
        await _host.PutFeaturesAsync("AAA", [1.0, 2.0, 3.0], Day);
        var online = Online(0);

        var first = await online.GetAsync(ServingHost.FeatureSet, "AAA", "1d", CancellationToken.None);
        var second = await online.GetAsync(ServingHost.FeatureSet, "AAA", "1d", CancellationToken.None);

        Assert.NotSame(first, second);
        Assert.Equal(first!.Values, second!.Values);
        Assert.Equal(0, online.ParsedCount);
    }

    [Fact]
    public async Task GetManyAsync_MoreSeriesThanTheBound_KeepsAtMostTheBoundAndAnswersEvery()
    {
        string[] symbols = ["AAA", "BBB", "CCC"];
        for (var i = 0; i < symbols.Length; i++) await _host.PutFeaturesAsync(symbols[i], [i, i, i], Day);
        var online = Online(2);

        var vectors = await online.GetManyAsync(ServingHost.FeatureSet, symbols, "1d", CancellationToken.None);

        Assert.Equal(symbols.Length, vectors.Count);
        for (var i = 0; i < symbols.Length; i++) Assert.Equal([i, i, i], vectors[symbols[i]].Values);
        Assert.InRange(online.ParsedCount, 1, 2);
    }

    [Theory]
    [InlineData(null, OnlineFeatures.DefaultCacheSize)]
    [InlineData("0", 0)]
    [InlineData("100", 100)]
    public void CacheSizeFrom_Configured_ReadsTheBound(string? value, int expected)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { [OnlineFeatures.CacheSizeKey] = value }).Build();

        Assert.Equal(expected, OnlineFeatures.CacheSizeFrom(configuration));
    }

    [Fact]
    public void CacheSizeFrom_Negative_RefusesNamingTheKey()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { [OnlineFeatures.CacheSizeKey] = "-1" }).Build();

        var error = Assert.Throws<InvalidOperationException>(() => OnlineFeatures.CacheSizeFrom(configuration));

        Assert.Contains(OnlineFeatures.CacheSizeKey, error.Message);
    }
}
