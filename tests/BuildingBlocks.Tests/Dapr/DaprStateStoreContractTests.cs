using System.Text;
using System.Text.Json.Nodes;
using Platform.BuildingBlocks.Dapr;
using Platform.BuildingBlocks.State;
using Platform.BuildingBlocks.Tests.Semantics;

namespace Platform.BuildingBlocks.Tests.Dapr;

/// <summary>The generic state semantics, run through the Dapr adapter against the fake sidecar.</summary>
public sealed class DaprStateStoreSemanticsTests : StateStoreSemantics, IAsyncLifetime
{
    private readonly FakeSidecar _fake = new();
    private readonly DaprAdapter _adapter;

    public DaprStateStoreSemanticsTests()
    {
        _adapter = new DaprAdapter(_fake.Port);
        Store = _adapter.State();
    }

    protected override IStateStore Store { get; }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        _adapter.Dispose();
        await _fake.DisposeAsync();
        _fake.AssertNoViolations();
    }
}

public sealed class DaprStateStoreContractTests : IAsyncLifetime
{
    private readonly FakeSidecar _fake = new();
    private readonly DaprAdapter _adapter;
    private readonly IStateStore _store;

    public DaprStateStoreContractTests()
    {
        _adapter = new DaprAdapter(_fake.Port);
        _store = _adapter.State();
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        _adapter.Dispose();
        await _fake.DisposeAsync();
    }

    private static ReadOnlyMemory<byte> Json(string json) => Encoding.UTF8.GetBytes(json);

    [Fact]
    public async Task GetAsync_Absent_SendsGetAndReturnsNullOn204()
    {
        Assert.Null(await _store.GetAsync("nothing"));
        var request = Assert.Single(_fake.Requests);
        Assert.Equal("GET", request.Method);
        Assert.Equal("/v1.0/state/statestore/nothing", request.RawTarget);
        _fake.AssertNoViolations();
    }

    [Fact]
    public async Task GetAsync_Stored_ReturnsBodyAndETagHeader()
    {
        var etag = _fake.Seed("statestore", "k", """{"n":1}""");
        var item = await _store.GetAsync("k");
        Assert.NotNull(item);
        Assert.Equal("""{"n":1}""", Encoding.UTF8.GetString(item.Value.Span));
        Assert.Equal(etag, item.ETag);
        _fake.AssertNoViolations();
    }

    [Fact]
    public async Task SaveAsync_WithoutETag_PostsOneItemArrayWithPlainKey()
    {
        Assert.Equal(StateOutcome.Ok, await _store.SaveAsync("order-1", Json("""{"total":9.5}""")));
        var request = Assert.Single(_fake.Requests);
        Assert.Equal("POST", request.Method);
        Assert.Equal("/v1.0/state/statestore", request.RawTarget);
        Assert.StartsWith("application/json", request.ContentType);
        Assert.Equal("""[{"key":"order-1","value":{"total":9.5}}]""", request.BodyText);
        Assert.Equal("""{"total":9.5}""", _fake.Stored("statestore", "order-1"));
        _fake.AssertNoViolations();
    }

    [Fact]
    public async Task SaveAsync_WithETag_SendsETagAndFirstWriteConcurrency()
    {
        var etag = _fake.Seed("statestore", "k", "1");
        Assert.Equal(StateOutcome.Ok, await _store.SaveAsync("k", Json("2"), etag));
        var item = _fake.Requests.Single().Json![0]!;
        Assert.Equal(etag, item["etag"]!.GetValue<string>());
        Assert.Equal("first-write", item["options"]!["concurrency"]!.GetValue<string>());
        _fake.AssertNoViolations();
    }

    [Fact]
    public async Task SaveAsync_409_ReturnsConflict()
    {
        _fake.Seed("statestore", "k", "1");
        Assert.Equal(StateOutcome.Conflict, await _store.SaveAsync("k", Json("2"), "99999"));
        Assert.Equal("1", _fake.Stored("statestore", "k"));
        _fake.AssertNoViolations();
    }

    [Fact]
    public async Task SaveAsync_NonNumericETag_Throws400WithDaprCode()
    {
        _fake.Seed("statestore", "k", "1");
        var ex = await Assert.ThrowsAsync<StateStoreException>(() => _store.SaveAsync("k", Json("2"), "not-a-number"));
        Assert.Equal("ERR_STATE_SAVE", ex.ErrorCode);
        Assert.Contains("HTTP 400", ex.Message);
        _fake.AssertNoViolations();
    }

    [Fact]
    public async Task SaveAsync_ValueNotJson_ThrowsBeforeAnyCall()
    {
        var ex = await Assert.ThrowsAsync<StateStoreException>(() => _store.SaveAsync("k", Json("{not json")));
        Assert.Equal("ERR_MALFORMED_REQUEST", ex.ErrorCode);
        Assert.Empty(_fake.Requests);
    }

    [Theory]
    [InlineData("")]
    [InlineData("a||b")]
    public async Task SaveAsync_BadKey_Throws400Malformed(string key)
    {
        var ex = await Assert.ThrowsAsync<StateStoreException>(() => _store.SaveAsync(key, Json("1")));
        Assert.Equal("ERR_MALFORMED_REQUEST", ex.ErrorCode);
        _fake.AssertNoViolations();
    }

    [Fact]
    public async Task Keys_WithReservedCharacters_AreEscapedInPaths()
    {
        const string key = "processed/bar:AAPL:1m:2024-01-02T00:00:00.0000000Z?x=1#y %";
        await _store.SaveAsync(key, Json("true"));
        Assert.NotNull(await _store.GetAsync(key));
        Assert.Equal(StateOutcome.Ok, await _store.DeleteAsync(key));
        var get = _fake.Requests.Single(r => r.Method == "GET");
        Assert.Equal(["v1.0", "state", "statestore", key], get.Segments);
        Assert.Equal("/v1.0/state/statestore/" + Uri.EscapeDataString(key), get.RawTarget);
        Assert.Equal(["v1.0", "state", "statestore", key], _fake.Requests.Single(r => r.Method == "DELETE").Segments);
        Assert.Null(_fake.Stored("statestore", key));
        _fake.AssertNoViolations();
    }

    [Fact]
    public async Task DeleteAsync_WithETag_SendsIfMatchAndFirstWrite()
    {
        var etag = _fake.Seed("statestore", "k", "1");
        Assert.Equal(StateOutcome.Ok, await _store.DeleteAsync("k", etag));
        var request = _fake.Requests.Single();
        Assert.Equal("DELETE", request.Method);
        Assert.Equal(etag, request.Header("If-Match"));
        Assert.Equal("first-write", request.Query["concurrency"]);
        Assert.Empty(request.Body);
        _fake.AssertNoViolations();
    }

    [Fact]
    public async Task DeleteAsync_WithoutETag_SendsNoIfMatch()
    {
        Assert.Equal(StateOutcome.Ok, await _store.DeleteAsync("absent"));
        var request = _fake.Requests.Single();
        Assert.Null(request.Header("If-Match"));
        Assert.Empty(request.Query);
        _fake.AssertNoViolations();
    }

    [Fact]
    public async Task DeleteAsync_409_ReturnsConflict()
    {
        _fake.Seed("statestore", "k", "1");
        Assert.Equal(StateOutcome.Conflict, await _store.DeleteAsync("k", "12"));
        Assert.NotNull(_fake.Stored("statestore", "k"));
        _fake.AssertNoViolations();
    }

    [Fact]
    public async Task GetBulkAsync_Keys_PostsKeysAndReadsDataProperty()
    {
        var etag = _fake.Seed("statestore", "a", """{"v":"a"}""");
        var items = await _store.GetBulkAsync(["a", "missing", "a"]);
        var item = Assert.Single(items);
        Assert.Equal(("a", """{"v":"a"}""", etag), (item.Key, Encoding.UTF8.GetString(item.Value.Span), item.ETag));
        var request = _fake.Requests.Single();
        Assert.Equal("/v1.0/state/statestore/bulk", request.RawTarget);
        Assert.Equal(["a", "missing"], request.Json!["keys"]!.AsArray().Select(k => k!.GetValue<string>()));
        _fake.AssertNoViolations();
    }

    [Fact]
    public async Task GetBulkAsync_NoKeys_ReturnsEmptyWithoutCall()
    {
        Assert.Empty(await _store.GetBulkAsync([]));
        Assert.Empty(_fake.Requests);
    }

    [Fact]
    public async Task GetBulkAsync_PerKeyError_ThrowsNamingTheKey()
    {
        _fake.Override = r => r.Path.EndsWith("/bulk") ? new SidecarResponse(200, """[{"key":"a","error":"connection reset"}]""") : null;
        var ex = await Assert.ThrowsAsync<StateStoreException>(() => _store.GetBulkAsync(["a"]));
        Assert.Contains("'a'", ex.Message);
        _fake.AssertNoViolations();
    }

    [Fact]
    public async Task TransactAsync_UpsertAndDelete_SendsDocumentedOperations()
    {
        var etag = _fake.Seed("statestore", "b", "2");
        var outcome = await _store.TransactAsync([
            new StateOperation.Upsert("a", Json("""{"n":1}""")),
            new StateOperation.Upsert("c", Json("3"), null),
            new StateOperation.Delete("b", etag),
        ]);
        Assert.Equal(StateOutcome.Ok, outcome);
        var request = _fake.Requests.Single();
        Assert.Equal("/v1.0/state/statestore/transaction", request.RawTarget);
        var expected = JsonNode.Parse("""
            {"operations":[
              {"operation":"upsert","request":{"key":"a","value":{"n":1}}},
              {"operation":"upsert","request":{"key":"c","value":3}},
              {"operation":"delete","request":{"key":"b","etag":"ETAG","options":{"concurrency":"first-write"}}}]}
            """.Replace("ETAG", etag));
        Assert.True(JsonNode.DeepEquals(expected, request.Json), request.BodyText);
        Assert.Null(_fake.Stored("statestore", "b"));
        _fake.AssertNoViolations();
    }

    [Fact]
    public async Task TransactAsync_ETagConflictInside_ReturnsTransactionFailed()
    {
        _fake.Seed("statestore", "guarded", "1");
        var outcome = await _store.TransactAsync([new StateOperation.Upsert("a", Json("1")), new StateOperation.Upsert("guarded", Json("2"), "1")]);
        Assert.Equal(StateOutcome.TransactionFailed, outcome);
        Assert.Null(_fake.Stored("statestore", "a"));
        _fake.AssertNoViolations();
    }

    [Fact]
    public async Task TransactAsync_StoreWithoutTransactions_ThrowsNotSupported()
    {
        _fake.Components.Add(new FakeComponent("cache", "state.memcached"));
        var ex = await Assert.ThrowsAsync<StateStoreException>(() => _adapter.State("cache").TransactAsync([new StateOperation.Delete("a")]));
        Assert.Equal("ERR_STATE_STORE_NOT_SUPPORTED", ex.ErrorCode);
        _fake.AssertNoViolations();
    }

    [Fact]
    public async Task TransactAsync_NoOperations_ReturnsOkWithoutCall()
    {
        Assert.Equal(StateOutcome.Ok, await _store.TransactAsync([]));
        Assert.Empty(_fake.Requests);
    }

    [Fact]
    public async Task AnyCall_UnknownStore_Throws400StoreNotFound()
    {
        var store = _adapter.State("nostore");
        Assert.Equal("ERR_STATE_STORE_NOT_FOUND", (await Assert.ThrowsAsync<StateStoreException>(() => store.GetAsync("k"))).ErrorCode);
        Assert.Equal("ERR_STATE_STORE_NOT_FOUND", (await Assert.ThrowsAsync<StateStoreException>(() => store.SaveAsync("k", Json("1")))).ErrorCode);
        Assert.Equal("ERR_STATE_STORE_NOT_FOUND", (await Assert.ThrowsAsync<StateStoreException>(() => store.DeleteAsync("k"))).ErrorCode);
        Assert.Equal("ERR_STATE_STORE_NOT_FOUND", (await Assert.ThrowsAsync<StateStoreException>(() => store.GetBulkAsync(["k"]))).ErrorCode);
        Assert.Equal("ERR_STATE_STORE_NOT_FOUND",
            (await Assert.ThrowsAsync<StateStoreException>(() => store.TransactAsync([new StateOperation.Delete("k")]))).ErrorCode);
        _fake.AssertNoViolations();
    }

    public enum Op { Get, Save, SaveWithETag, Delete, Bulk, Transaction }

    /// <summary>Every documented error answer of §2, injected, and what the port must turn it into.</summary>
    [Theory]
    [InlineData(Op.Get, 400, "ERR_MALFORMED_REQUEST")]
    [InlineData(Op.Get, 500, "ERR_STATE_GET")]
    [InlineData(Op.Save, 400, "ERR_MALFORMED_REQUEST")]
    [InlineData(Op.Save, 500, "ERR_STATE_SAVE")]
    [InlineData(Op.Delete, 400, "ERR_MALFORMED_REQUEST")]
    [InlineData(Op.Delete, 500, "ERR_STATE_DELETE")]
    [InlineData(Op.Bulk, 400, "ERR_STATE_STORE_NOT_FOUND")]
    [InlineData(Op.Bulk, 500, "ERR_STATE_BULK_GET")]
    [InlineData(Op.Transaction, 400, "ERR_MALFORMED_REQUEST")]
    [InlineData(Op.Transaction, 400, "ERR_STATE_STORE_TOO_MANY_TRANSACTIONS")]
    [InlineData(Op.Transaction, 400, "ERR_NOT_SUPPORTED_STATE_OPERATION")]
    [InlineData(Op.Transaction, 500, "ERR_STATE_STORE_NOT_SUPPORTED")]
    public async Task AnyCall_DocumentedError_ThrowsCarryingErrorCode(Op op, int status, string code)
    {
        _fake.Override = _ => SidecarResponse.Error(status, code);
        var ex = await Assert.ThrowsAsync<StateStoreException>(() => Run(op));
        Assert.Equal(code, ex.ErrorCode);
        Assert.Contains($"HTTP {status}", ex.Message);
        _fake.AssertNoViolations();
    }

    [Theory]
    [InlineData(Op.Save, 409, StateOutcome.Conflict)]
    [InlineData(Op.SaveWithETag, 409, StateOutcome.Conflict)]
    [InlineData(Op.Delete, 409, StateOutcome.Conflict)]
    [InlineData(Op.Transaction, 500, StateOutcome.TransactionFailed)]
    public async Task Write_DocumentedConflictAnswer_MapsToOutcome(Op op, int status, StateOutcome expected)
    {
        var code = op == Op.Transaction ? "ERR_STATE_TRANSACTION" : op == Op.Delete ? "ERR_STATE_DELETE" : "ERR_STATE_SAVE";
        _fake.Override = _ => SidecarResponse.Error(status, code);
        Assert.Equal(expected, await RunOutcome(op));
        _fake.AssertNoViolations();
    }

    [Fact]
    public async Task TransactAsync_500WithoutErrorCode_ThrowsInsteadOfGuessing()
    {
        _fake.Override = _ => new SidecarResponse(500, "upstream exploded", "text/plain");
        var ex = await Assert.ThrowsAsync<StateStoreException>(() => RunOutcome(Op.Transaction));
        Assert.Equal("500", ex.ErrorCode);
    }

    [Fact]
    public async Task TransactAsync_409_IsNotAConflictOutcome_Throws()
    {
        // §2.2: inside a transaction an ETag failure is 500 ERR_STATE_TRANSACTION; a 409 there is not documented.
        _fake.Override = _ => SidecarResponse.Error(409, "ERR_STATE_SAVE");
        Assert.Equal("ERR_STATE_SAVE", (await Assert.ThrowsAsync<StateStoreException>(() => RunOutcome(Op.Transaction))).ErrorCode);
    }

    [Fact]
    public async Task SaveAsync_500MessageMentionsETag_StillAnExceptionNotAConflict()
    {
        _fake.Override = _ => new SidecarResponse(500, """{"errorCode":"ERR_STATE_SAVE","message":"possible etag mismatch"}""");
        Assert.Equal("ERR_STATE_SAVE", (await Assert.ThrowsAsync<StateStoreException>(() => RunOutcome(Op.Save))).ErrorCode);
    }

    [Theory]
    [InlineData("not json at all")]
    [InlineData("")]
    public async Task GetAsync_200WithGarbageBody_ThrowsMalformedResponse(string body)
    {
        _fake.Override = _ => new SidecarResponse(200, body, "application/json", new Dictionary<string, string> { ["ETag"] = "1" });
        Assert.Equal(DaprErrorCodes.MalformedResponse, (await Assert.ThrowsAsync<StateStoreException>(() => _store.GetAsync("k"))).ErrorCode);
    }

    [Theory]
    [InlineData("{\"key\":\"a\"}")]
    [InlineData("[{\"nokey\":1}]")]
    [InlineData("<html>")]
    public async Task GetBulkAsync_200WithGarbageBody_ThrowsMalformedResponse(string body)
    {
        _fake.Override = _ => new SidecarResponse(200, body);
        Assert.Equal(DaprErrorCodes.MalformedResponse, (await Assert.ThrowsAsync<StateStoreException>(() => _store.GetBulkAsync(["a"]))).ErrorCode);
    }

    [Fact]
    public async Task GetAsync_ErrorWithGarbageBody_CarriesHttpStatus()
    {
        _fake.Override = _ => new SidecarResponse(503, "<html>bad gateway</html>", "text/html");
        Assert.Equal("503", (await Assert.ThrowsAsync<StateStoreException>(() => _store.GetAsync("k"))).ErrorCode);
    }

    [Fact]
    public async Task GetAsync_SidecarSlow_RetriedThenThrowsTimeout()
    {
        using var adapter = new DaprAdapter(_fake.Port, new Dictionary<string, string?> { ["Dapr:RequestTimeout"] = "0.2", ["Dapr:MaxAttempts"] = "3" });
        _fake.Delay = _ => TimeSpan.FromSeconds(5);
        var ex = await Assert.ThrowsAsync<StateStoreException>(() => adapter.State().GetAsync("k"));
        Assert.Equal(DaprErrorCodes.Timeout, ex.ErrorCode);
        Assert.Equal(3, _fake.Requests.Count);
    }

    [Fact]
    public async Task Writes_SidecarSlow_NotRetriedAndThrowTimeout()
    {
        using var adapter = new DaprAdapter(_fake.Port, new Dictionary<string, string?> { ["Dapr:RequestTimeout"] = "0.2", ["Dapr:MaxAttempts"] = "3" });
        _fake.Delay = _ => TimeSpan.FromSeconds(5);
        var store = adapter.State();
        Assert.Equal(DaprErrorCodes.Timeout, (await Assert.ThrowsAsync<StateStoreException>(() => store.SaveAsync("k", Json("1")))).ErrorCode);
        Assert.Equal(DaprErrorCodes.Timeout, (await Assert.ThrowsAsync<StateStoreException>(() => store.DeleteAsync("k"))).ErrorCode);
        Assert.Equal(DaprErrorCodes.Timeout,
            (await Assert.ThrowsAsync<StateStoreException>(() => store.TransactAsync([new StateOperation.Delete("k")]))).ErrorCode);
        Assert.Equal(3, _fake.Requests.Count);
    }

    [Fact]
    public async Task GetAsync_CallerCancels_ThrowsOperationCanceled()
    {
        _fake.Delay = _ => TimeSpan.FromSeconds(5);
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => _store.GetAsync("k", cts.Token));
        Assert.Single(_fake.Requests);
    }

    [Fact]
    public async Task AnyCall_SidecarDown_ThrowsUnavailable()
    {
        using var adapter = new DaprAdapter(DaprAdapter.ClosedPort());
        var store = adapter.State();
        Assert.Equal(DaprErrorCodes.Unavailable, (await Assert.ThrowsAsync<StateStoreException>(() => store.GetAsync("k"))).ErrorCode);
        Assert.Equal(DaprErrorCodes.Unavailable, (await Assert.ThrowsAsync<StateStoreException>(() => store.SaveAsync("k", Json("1")))).ErrorCode);
    }

    [Fact]
    public async Task AnyCall_ApiTokenConfigured_SendsItOnEveryRequest()
    {
        _fake.ApiToken = "s3cret";
        using var adapter = new DaprAdapter(_fake.Port, new Dictionary<string, string?> { ["DAPR_API_TOKEN"] = "s3cret" });
        var store = adapter.State();
        await store.SaveAsync("k", Json("1"));
        await store.GetAsync("k");
        await store.GetBulkAsync(["k"]);
        await store.DeleteAsync("k");
        await store.TransactAsync([new StateOperation.Delete("k")]);
        await adapter.Publisher.PublishAsync(new PubSub.OutgoingEvent("market-bars", "id-1", "BarClosed", Json("{}")));
        await adapter.Secrets.GetSecretAsync("absent");
        await adapter.Readiness.StartAsync(CancellationToken.None);
        Assert.All(_fake.Requests, r => Assert.Equal("s3cret", r.Header("dapr-api-token")));
        _fake.AssertNoViolations();
    }

    [Fact]
    public async Task AnyCall_WrongApiToken_Throws401()
    {
        _fake.ApiToken = "s3cret";
        using var adapter = new DaprAdapter(_fake.Port, new Dictionary<string, string?> { ["DAPR_API_TOKEN"] = "wrong" });
        Assert.Equal("401", (await Assert.ThrowsAsync<StateStoreException>(() => adapter.State().GetAsync("k"))).ErrorCode);
    }

    private Task Run(Op op) => op switch
    {
        Op.Get => _store.GetAsync("k"),
        Op.Bulk => _store.GetBulkAsync(["k"]),
        _ => RunOutcome(op),
    };

    private Task<StateOutcome> RunOutcome(Op op) => op switch
    {
        Op.Save => _store.SaveAsync("k", Json("1")),
        Op.SaveWithETag => _store.SaveAsync("k", Json("1"), "7"),
        Op.Delete => _store.DeleteAsync("k", "7"),
        Op.Transaction => _store.TransactAsync([new StateOperation.Upsert("k", Json("1"), "7")]),
        _ => throw new ArgumentOutOfRangeException(nameof(op)),
    };
}
