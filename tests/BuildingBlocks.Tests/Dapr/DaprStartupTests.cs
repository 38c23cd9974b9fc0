using System.Net;
using System.Text;
using Microsoft.Extensions.Configuration;
using Platform.BuildingBlocks.Dapr;

namespace Platform.BuildingBlocks.Tests.Dapr;

public sealed class DaprStartupTests : IAsyncLifetime
{
    private readonly FakeSidecar _fake = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _fake.DisposeAsync();

    private DaprAdapter Adapter(IDictionary<string, string?>? settings = null) => new(_fake.Port, settings);

    [Fact]
    public async Task StartAsync_SidecarNotReadyYet_PollsOutboundHealthUntilReadyAndNeverPlainHealthz()
    {
        _fake.NotReadyProbes = 3;
        using var adapter = Adapter();
        await adapter.Readiness.StartAsync(CancellationToken.None);
        Assert.Equal(4, _fake.RequestsTo("/v1.0/healthz/outbound").Count);
        Assert.DoesNotContain(_fake.Requests, r => r.Path == "/v1.0/healthz");
        Assert.Equal("/v1.0/metadata", _fake.Requests.Last().Path);
        _fake.AssertNoViolations();
    }

    [Fact]
    public async Task StartAsync_PubSubMissing_FailsNamingTheComponent()
    {
        _fake.Components.RemoveAll(c => c.Name == "pubsub");
        using var adapter = Adapter();
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => adapter.Readiness.StartAsync(CancellationToken.None));
        Assert.Contains("'pubsub' is not loaded", ex.Message);
    }

    [Fact]
    public async Task StartAsync_RequirePubSubOff_PassesWithoutPubSub()
    {
        _fake.Components.RemoveAll(c => c.Name == "pubsub");
        using var adapter = Adapter(new Dictionary<string, string?> { ["Dapr:RequirePubSub"] = "false" });
        await adapter.Readiness.StartAsync(CancellationToken.None);
    }

    [Theory]
    [InlineData("ETAG", "TRANSACTIONAL")]
    [InlineData("TRANSACTIONAL", "ETAG")]
    public async Task StartAsync_StateStoreLacksCapability_FailsNamingIt(string present, string missing)
    {
        _fake.Components.RemoveAll(c => c.Name == "statestore");
        _fake.Components.Add(new FakeComponent("statestore", "state.cassandra", present));
        using var adapter = Adapter();
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => adapter.Readiness.StartAsync(CancellationToken.None));
        Assert.Contains($"'statestore' (state.cassandra) lacks capability {missing}", ex.Message);
    }

    [Fact]
    public async Task StartAsync_ConfiguredRequiredComponents_AreCheckedToo()
    {
        using var adapter = Adapter(new Dictionary<string, string?> { ["Dapr:RequiredComponents"] = "modelstore, featurestore" });
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => adapter.Readiness.StartAsync(CancellationToken.None));
        Assert.Contains("'modelstore' is not loaded", ex.Message);
        Assert.Contains("'featurestore' is not loaded", ex.Message);

        _fake.Components.Add(new FakeComponent("modelstore", "state.postgresql", "ETAG", "TRANSACTIONAL"));
        _fake.Components.Add(new FakeComponent("featurestore", "state.redis", "ETAG", "TRANSACTIONAL"));
        await adapter.Readiness.StartAsync(CancellationToken.None);
    }

    [Fact]
    public async Task StartAsync_SidecarDown_FailsAfterHealthTimeoutNamingTheEndpoint()
    {
        var port = DaprAdapter.ClosedPort();
        using var adapter = new DaprAdapter(port, new Dictionary<string, string?> { ["DAPR_HEALTH_TIMEOUT"] = "0.5" });
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => adapter.Readiness.StartAsync(CancellationToken.None));
        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(300), TimeSpan.FromSeconds(5));
        Assert.Contains($"127.0.0.1:{port}", ex.Message);
        Assert.Contains("DAPR_HEALTH_TIMEOUT", ex.Message);
    }

    [Fact]
    public async Task StartAsync_NeverReady_FailsWithTheLastAnswer()
    {
        _fake.NotReadyProbes = int.MaxValue;
        using var adapter = Adapter(new Dictionary<string, string?> { ["DAPR_HEALTH_TIMEOUT"] = "0.3" });
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => adapter.Readiness.StartAsync(CancellationToken.None));
        Assert.Contains("ERR_HEALTH_NOT_READY", ex.Message);
        _fake.AssertNoViolations();
    }

    [Fact]
    public async Task StartAsync_WrongApiToken_FailsWithTokenHint()
    {
        _fake.ApiToken = "right";
        using var adapter = Adapter(new Dictionary<string, string?> { ["DAPR_API_TOKEN"] = "wrong" });
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => adapter.Readiness.StartAsync(CancellationToken.None));
        Assert.Contains("HTTP 401", ex.Message);
        Assert.Contains("DAPR_API_TOKEN", ex.Message);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("""{"components":{"name":"x"}}""")]
    [InlineData("""{"components":[{"type":"state.redis"}]}""")]
    public async Task StartAsync_GarbageMetadata_Fails(string body)
    {
        _fake.Override = r => r.Path == "/v1.0/metadata" ? new SidecarResponse(200, body) : null;
        using var adapter = Adapter();
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => adapter.Readiness.StartAsync(CancellationToken.None));
        Assert.Contains("/v1.0/metadata", ex.Message);
    }

    [Theory]
    [InlineData("http://sidecar:3600", "3700", "http://sidecar:3600/")]
    [InlineData("https://dapr.example/api/", null, "https://dapr.example/api/")]
    [InlineData(null, "3700", "http://127.0.0.1:3700/")]
    [InlineData(null, null, "http://127.0.0.1:3500/")]
    [InlineData("", "", "http://127.0.0.1:3500/")]
    public void ResolveEndpoint_EnvironmentVariables_FollowSdkOrder(string? endpoint, string? port, string expected)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["DAPR_HTTP_ENDPOINT"] = endpoint, ["DAPR_HTTP_PORT"] = port,
        }).Build();
        Assert.Equal(new Uri(expected), DaprOptions.ResolveEndpoint(configuration));
    }

    [Theory]
    [InlineData("DAPR_HTTP_PORT", "eighty")]
    [InlineData("DAPR_HTTP_ENDPOINT", "127.0.0.1:3500")]
    [InlineData("DAPR_HEALTH_TIMEOUT", "soon")]
    public void From_InvalidSetting_FailsNamingIt(string key, string value)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { [key] = value }).Build();
        var ex = Assert.Throws<InvalidOperationException>(() => DaprOptions.From(configuration));
        Assert.Contains(key, ex.Message);
    }

    [Fact]
    public void From_Defaults_MatchTheReference()
    {
        var options = DaprOptions.From(new ConfigurationBuilder().Build());
        Assert.Equal(TimeSpan.FromSeconds(60), options.HealthTimeout);
        Assert.Equal(["statestore", "pubsub"], options.RequiredComponents);
        Assert.Equal(("pubsub", "secretstore"), (options.PubSubName, options.SecretStoreName));
        Assert.Null(options.ApiToken);
    }
}

/// <summary>The fake must refuse what the reference does not document, or the contract suite proves nothing.</summary>
public sealed class FakeSidecarTests : IAsyncLifetime
{
    private readonly FakeSidecar _fake = new();
    private readonly HttpClient _http = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _fake.DisposeAsync();
    }

    private Task<HttpResponseMessage> Send(HttpMethod method, string path, string? json = null, string contentType = "application/json") =>
        _http.SendAsync(new HttpRequestMessage(method, new Uri(_fake.Endpoint, path))
        {
            Content = json is null ? null : new StringContent(json, Encoding.UTF8, contentType),
        });

    [Theory]
    [InlineData("PATCH", "v1.0/state/statestore", "[]")]
    [InlineData("GET", "v1.0/state/statestore", null)]
    [InlineData("GET", "v1.0/state/statestore/k?ttl=5", null)]
    [InlineData("POST", "v1.0/state/statestore", """{"key":"k","value":1}""")]
    [InlineData("POST", "v1.0/state/statestore", """[{"key":"k","value":1,"etag":7}]""")]
    [InlineData("POST", "v1.0/state/statestore", """[{"key":"k","value":1,"options":{"concurrency":"first-writer"}}]""")]
    [InlineData("POST", "v1.0/state/statestore", """[{"key":"k","value":1,"ttl":5}]""")]
    [InlineData("POST", "v1.0/state/statestore/bulk", """{"keys":"a"}""")]
    [InlineData("POST", "v1.0/state/statestore/transaction", """{"operations":[{"operation":"upsert","request":{"key":"a"}}]}""")]
    [InlineData("POST", "v1.0/publish/pubsub/market-bars?metadata.bogus=1", "{}")]
    [InlineData("POST", "v1.0/publish/pubsub/market-bars", "{broken")]
    [InlineData("GET", "v1.0/healthz/inbound", null)]
    [InlineData("GET", "v1.0-alpha1/state/statestore/k", null)]
    [InlineData("GET", "v1.0/state/statestore/k?consistency=linearizable", null)]
    public async Task Fake_UndocumentedRequest_RecordsViolationAndFailsLoudly(string method, string path, string? body)
    {
        using var response = await Send(new HttpMethod(method), path, body);
        Assert.NotEqual(HttpStatusCode.NoContent, response.StatusCode);
        Assert.NotEmpty(_fake.Violations);
        Assert.Throws<Xunit.Sdk.XunitException>(() => _fake.AssertNoViolations());
    }

    [Fact]
    public async Task Fake_SaveWithPlainTextContentType_RecordsViolation()
    {
        using var response = await Send(HttpMethod.Post, "v1.0/state/statestore", """[{"key":"k","value":1}]""", "text/plain");
        Assert.NotEmpty(_fake.Violations);
    }

    [Fact]
    public async Task Fake_DocumentedRequest_RecordsNoViolation()
    {
        using var save = await Send(HttpMethod.Post, "v1.0/state/statestore", """[{"key":"k","value":{"a":1},"options":{"concurrency":"last-write","consistency":"strong"}}]""");
        using var get = await Send(HttpMethod.Get, "v1.0/state/statestore/k?consistency=strong&metadata.partitionKey=p");
        using var health = await Send(HttpMethod.Get, "v1.0/healthz");
        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, health.StatusCode);
        _fake.AssertNoViolations();
    }

    [Fact]
    public async Task Fake_ETagMismatch_Answers409NotPrecondition()
    {
        using var _ = await Send(HttpMethod.Post, "v1.0/state/statestore", """[{"key":"k","value":1}]""");
        using var stale = await Send(HttpMethod.Post, "v1.0/state/statestore", """[{"key":"k","value":2,"etag":"1"}]""");
        Assert.Equal(HttpStatusCode.Conflict, stale.StatusCode);
        Assert.Contains("ERR_STATE_SAVE", await stale.Content.ReadAsStringAsync());
        _fake.AssertNoViolations();
    }
}
