namespace Platform.BuildingBlocks.Tests.Dapr;

/// <summary>
/// The state semantics suite on the Dapr adapter (DaprClient over gRPC) against the faithful sidecar, which stores JSON
/// as <c>jsonb</c> does (re-serialized) and applies the components' key prefixes; plus one test per sidecar rule.
/// </summary>
public sealed class DaprStateStoreTests : StateStoreSemantics, IAsyncLifetime
{
    private readonly SidecarCluster _cluster = new();
    private DaprTestApp? _app;

    protected override IStateStore Store => _app!.State();

    public async Task InitializeAsync() => _app = await DaprTestApp.StartAsync(_cluster, "app-a");

    public async Task DisposeAsync()
    {
        if (_app is not null) await _app.DisposeAsync();
        await _cluster.DisposeAsync();
    }

    private sealed record Reading(string Symbol, double Close, int[] Window);

    [Fact]
    public async Task GetAsync_StoreReserializesJson_ValueRoundTripsThoughBytesDiffer()
    {
        var written = "{ \"symbol\": \"ALPHA\",\n  \"close\": 101.5, \"window\": [1, 2] }"u8.ToArray();
        Assert.Equal(StateOutcome.Ok, await Store.SaveAsync("reading", written));

        var item = await Store.GetAsync("reading");
        Assert.NotNull(item);
        Assert.False(item.Value.Span.SequenceEqual(written));
        Assert.Equal("{\"close\":101.5,\"symbol\":\"ALPHA\",\"window\":[1,2]}", System.Text.Encoding.UTF8.GetString(item.Value.Span));
        var reading = StateStoreExtensions.Deserialize<Reading>(item.Value);
        Assert.Equal("ALPHA", reading.Symbol);
        Assert.Equal(101.5, reading.Close);
        Assert.Equal([1, 2], reading.Window);
    }

    [Fact]
    public async Task UpdateAsync_StoreReserializesJson_ETagStillFencesWrites()
    {
        await Store.SaveAsync("reading", new Reading("ALPHA", 1, [1]));
        var updated = await Store.UpdateAsync<Reading>("reading", r => r! with { Close = r.Close + 1 });
        Assert.Equal(2, updated.Close);
        var (_, etag) = await Store.GetWithETagAsync<Reading>("reading");
        await Store.SaveAsync("reading", new Reading("ALPHA", 3, [1]));
        Assert.Equal(StateOutcome.Conflict, await Store.SaveAsync("reading", new Reading("ALPHA", 4, [1]), etag));
    }

    [Fact]
    public async Task SaveAsync_AppIdPrefixedStore_StoredUnderAppIdAndInvisibleToOtherApps()
    {
        await Store.SaveAsync("k", "a's");
        await using var other = await DaprTestApp.StartAsync(_cluster, "app-b");
        Assert.Null(await other.State().GetAsync("k"));
        Assert.NotNull(_cluster.State.Raw(Components.StateStore, "app-a", "k"));
    }

    [Fact]
    public async Task SaveAsync_NamePrefixedStore_SharedAcrossApps()
    {
        await _app!.State(Components.ModelStore).SaveAsync("model", "v1");
        await using var other = await DaprTestApp.StartAsync(_cluster, "serving");
        Assert.Equal("v1", await other.State(Components.ModelStore).GetAsync<string>("model"));
    }

    [Fact]
    public async Task SaveAsync_NonNumericETag_ThrowsWithStatusName()
    {
        await Store.SaveAsync("k", 1);
        var ex = await Assert.ThrowsAsync<StateStoreException>(() => Store.SaveAsync("k", 2, "not-an-etag"));
        Assert.Equal("InvalidArgument", ex.ErrorCode);
    }

    [Fact]
    public async Task GetBulkAsync_StoreFailsOneKey_ThrowsNamingTheKeyInsteadOfReportingItAbsent()
    {
        await Store.SaveAsync("x", 1);
        _cluster.Options.BulkGetFailures.Add("y");
        var ex = await Assert.ThrowsAsync<StateStoreException>(() => Store.GetBulkAsync(["x", "y"]));
        Assert.Equal("ERR_STATE_BULK_GET", ex.ErrorCode);
        Assert.Contains("'y'", ex.Message);
    }

    [Fact]
    public async Task GetAsync_UnknownStore_ThrowsWithStatusName()
    {
        var ex = await Assert.ThrowsAsync<StateStoreException>(() => _app!.State("no-such-store").GetAsync("k"));
        Assert.Equal("InvalidArgument", ex.ErrorCode);
    }
}
