using System.Text;
using Platform.BuildingBlocks.Dapr;
using Platform.BuildingBlocks.PubSub;
using Platform.Contracts;

namespace Platform.BuildingBlocks.Tests.Dapr;

public sealed class DaprPublisherContractTests : IAsyncLifetime
{
    private readonly FakeSidecar _fake = new();
    private readonly DaprAdapter _adapter;

    public DaprPublisherContractTests() => _adapter = new DaprAdapter(_fake.Port);

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        _adapter.Dispose();
        await _fake.DisposeAsync();
    }

    private static readonly BarClosed Bar = new("AAPL", "1m", new DateTimeOffset(2024, 1, 2, 14, 30, 0, TimeSpan.Zero), 1, 2, 0.5, 1.5, 100);

    [Fact]
    public async Task PublishAsync_ContractEvent_SendsJsonWithCloudEventIdTypeAndPartitionKey()
    {
        await _adapter.Publisher.PublishAsync(Bar);
        var request = Assert.Single(_fake.Requests);
        Assert.Equal("POST", request.Method);
        Assert.Equal(["v1.0", "publish", "pubsub", "market-bars"], request.Segments);
        Assert.Equal(Bar.EventId, request.Query["metadata.cloudevent.id"]);
        Assert.Equal("BarClosed", request.Query["metadata.cloudevent.type"]);
        Assert.Equal("AAPL", request.Query["metadata.partitionKey"]);
        Assert.Equal(3, request.Query.Count);
        Assert.StartsWith("application/json", request.ContentType);
        Assert.Equal(Encoding.UTF8.GetString(EventPublisherExtensions.ToOutgoing(Bar).Data.Span), request.BodyText);

        var envelope = Assert.Single(_fake.PublishedMessages).Envelope;
        Assert.Equal(Bar.EventId, envelope["id"]!.GetValue<string>());
        Assert.Equal("BarClosed", envelope["type"]!.GetValue<string>());
        Assert.Equal("AAPL", envelope["data"]!["symbol"]!.GetValue<string>());
        _fake.AssertNoViolations();
    }

    [Fact]
    public async Task PublishAsync_NoPartitionKey_OmitsIt()
    {
        await _adapter.Publisher.PublishAsync(new OutgoingEvent(Topics.Predictions, "pred:1", "PredictionMade", Encoding.UTF8.GetBytes("{}")));
        Assert.False(_fake.Requests.Single().Query.ContainsKey("metadata.partitionKey"));
        _fake.AssertNoViolations();
    }

    [Fact]
    public async Task PublishAsync_IdWithReservedCharacters_EscapedInQuery()
    {
        const string id = "bar:A&B=C:1m:2024-01-02T00:00:00.0000000+00:00 x";
        await _adapter.Publisher.PublishAsync(new OutgoingEvent(Topics.MarketBars, id, "BarClosed", Encoding.UTF8.GetBytes("{}"), "A&B"));
        var request = _fake.Requests.Single();
        Assert.Equal(id, request.Query["metadata.cloudevent.id"]);
        Assert.Equal("A&B", request.Query["metadata.partitionKey"]);
        _fake.AssertNoViolations();
    }

    [Fact]
    public async Task PublishAsync_PayloadOverLimit_RefusedBeforeAnyCall()
    {
        using var adapter = new DaprAdapter(_fake.Port, pubSub: o => o.MaxPayloadBytes = 10);
        await Assert.ThrowsAsync<PublishRefusedException>(() => adapter.Publisher.PublishAsync(Bar));
        Assert.Empty(_fake.Requests);
    }

    [Theory]
    [InlineData("not-a-platform-topic", "id", "T", "{}")]
    [InlineData("market-bars", "", "T", "{}")]
    [InlineData("market-bars", "id", "", "{}")]
    [InlineData("market-bars", "id", "T", "{broken")]
    public async Task PublishAsync_InvalidEvent_RefusedBeforeAnyCall(string topic, string id, string type, string data)
    {
        await Assert.ThrowsAsync<PublishRefusedException>(() =>
            _adapter.Publisher.PublishAsync(new OutgoingEvent(topic, id, type, Encoding.UTF8.GetBytes(data))));
        Assert.Empty(_fake.Requests);
    }

    [Fact]
    public async Task PublishAsync_403TopicNotAllowed_ThrowsPublishRefused()
    {
        _fake.PublishableTopics = ["predictions"];
        var ex = await Assert.ThrowsAsync<PublishRefusedException>(() => _adapter.Publisher.PublishAsync(Bar));
        Assert.Contains("ERR_PUBSUB_FORBIDDEN", ex.Message);
        _fake.AssertNoViolations();
    }

    [Fact]
    public async Task PublishAsync_404UnknownPubSub_ThrowsNamingIt()
    {
        using var adapter = new DaprAdapter(_fake.Port, new Dictionary<string, string?> { ["Dapr:PubSub"] = "kafka-pubsub" });
        var ex = await Assert.ThrowsAsync<DaprApiException>(() => adapter.Publisher.PublishAsync(Bar));
        Assert.Equal((404, "ERR_PUBSUB_NOT_FOUND"), (ex.StatusCode, ex.ErrorCode));
        Assert.Contains("kafka-pubsub", ex.Message);
        _fake.AssertNoViolations();
    }

    [Theory]
    [InlineData(400, "ERR_PUBSUB_NOT_CONFIGURED")]
    [InlineData(400, "ERR_PUBSUB_EVENTS_SER")]
    [InlineData(404, "ERR_TOPIC_NAME_EMPTY")]
    [InlineData(500, "ERR_PUBSUB_PUBLISH_MESSAGE")]
    public async Task PublishAsync_DocumentedError_ThrowsWithStatusAndCode(int status, string code)
    {
        _fake.Override = _ => SidecarResponse.Error(status, code);
        var ex = await Assert.ThrowsAsync<DaprApiException>(() => _adapter.Publisher.PublishAsync(Bar));
        Assert.Equal((status, code), (ex.StatusCode, ex.ErrorCode));
        _fake.AssertNoViolations();
    }

    [Fact]
    public async Task PublishAsync_SidecarSlow_NotRetried()
    {
        using var adapter = new DaprAdapter(_fake.Port, new Dictionary<string, string?> { ["Dapr:RequestTimeout"] = "0.2" });
        _fake.Delay = _ => TimeSpan.FromSeconds(5);
        var ex = await Assert.ThrowsAsync<DaprApiException>(() => adapter.Publisher.PublishAsync(Bar));
        Assert.Equal(DaprErrorCodes.Timeout, ex.ErrorCode);
        Assert.Single(_fake.Requests);
    }

    [Fact]
    public async Task PublishAsync_SidecarDown_ThrowsUnavailable()
    {
        using var adapter = new DaprAdapter(DaprAdapter.ClosedPort());
        var ex = await Assert.ThrowsAsync<DaprApiException>(() => adapter.Publisher.PublishAsync(Bar));
        Assert.Equal(DaprErrorCodes.Unavailable, ex.ErrorCode);
        Assert.Null(ex.StatusCode);
    }
}

public sealed class DaprSecretStoreContractTests : IAsyncLifetime
{
    private readonly FakeSidecar _fake = new();
    private readonly DaprAdapter _adapter;

    public DaprSecretStoreContractTests() => _adapter = new DaprAdapter(_fake.Port);

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        _adapter.Dispose();
        await _fake.DisposeAsync();
    }

    [Fact]
    public async Task GetSecretAsync_Exists_ReturnsTheValueForTheKey()
    {
        _fake.Secrets["secretstore"] = new() { ["ConnectionStrings:Offline"] = "Host=db" };
        Assert.Equal("Host=db", await _adapter.Secrets.GetSecretAsync("ConnectionStrings:Offline"));
        var request = _fake.Requests.Single();
        Assert.Equal("GET", request.Method);
        Assert.Equal("/v1.0/secrets/secretstore/ConnectionStrings%3AOffline", request.RawTarget);
        _fake.AssertNoViolations();
    }

    [Fact]
    public async Task GetSecretAsync_204NotFound_ReturnsNull()
    {
        Assert.Null(await _adapter.Secrets.GetSecretAsync("absent"));
        _fake.AssertNoViolations();
    }

    [Fact]
    public async Task GetSecretAsync_MapWithoutTheKey_ReturnsNull()
    {
        _fake.Override = _ => new SidecarResponse(200, """{"other":"x"}""");
        Assert.Null(await _adapter.Secrets.GetSecretAsync("absent"));
    }

    [Fact]
    public async Task GetSecretAsync_ConfiguredStoreName_IsUsed()
    {
        _fake.Components.Add(new FakeComponent("vault", "secretstores.hashicorp.vault"));
        _fake.Secrets["vault"] = new() { ["k"] = "v" };
        using var adapter = new DaprAdapter(_fake.Port, new Dictionary<string, string?> { ["Dapr:SecretStore"] = "vault" });
        Assert.Equal("v", await adapter.Secrets.GetSecretAsync("k"));
        _fake.AssertNoViolations();
    }

    [Theory]
    [InlineData(400, "ERR_SECRET_STORE_NOT_FOUND")]
    [InlineData(403, "ERR_PERMISSION_DENIED")]
    [InlineData(500, "ERR_SECRET_GET")]
    public async Task GetSecretAsync_DocumentedError_Throws(int status, string code)
    {
        _fake.Override = _ => SidecarResponse.Error(status, code);
        var ex = await Assert.ThrowsAsync<DaprApiException>(() => _adapter.Secrets.GetSecretAsync("k"));
        Assert.Equal((status, code), (ex.StatusCode, ex.ErrorCode));
    }

    [Theory]
    [InlineData("[\"v\"]")]
    [InlineData("{\"k\":42}")]
    [InlineData("garbage")]
    public async Task GetSecretAsync_200WithGarbageBody_ThrowsMalformedResponse(string body)
    {
        _fake.Override = _ => new SidecarResponse(200, body);
        Assert.Equal(DaprErrorCodes.MalformedResponse, (await Assert.ThrowsAsync<DaprApiException>(() => _adapter.Secrets.GetSecretAsync("k"))).ErrorCode);
    }

    [Fact]
    public async Task GetSecretAsync_UnknownStore_Throws400()
    {
        using var adapter = new DaprAdapter(_fake.Port, new Dictionary<string, string?> { ["Dapr:SecretStore"] = "missing" });
        Assert.Equal(400, (await Assert.ThrowsAsync<DaprApiException>(() => adapter.Secrets.GetSecretAsync("k"))).StatusCode);
        _fake.AssertNoViolations();
    }
}
