using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Platform.BuildingBlocks.Dapr;

namespace Platform.BuildingBlocks.Tests.Dapr;

/// <summary>
/// One test per rule of the faithful sidecar that the adapter must cope with: the CloudEvent envelope and its
/// metadata, RETRY answers and errors redelivered per the resiliency policy, dead-lettering, DROP, consumer groups,
/// tokens, the start-up check, and requests the sidecar does not understand.
/// </summary>
public sealed class DaprSidecarRuleTests : IAsyncLifetime
{
    private const string Topic = Topics.MarketBars;
    private readonly SidecarCluster _cluster = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    private static readonly BarClosed Bar = new("ALPHA", "1d", new DateTimeOffset(2024, 1, 2, 0, 0, 0, TimeSpan.Zero), 1, 2, 0.5, 1.5, 100);

    [Fact]
    public async Task PublishAsync_ContractEvent_EnvelopeCarriesBusinessIdTypePartitionKeyAndTraceparent()
    {
        var delivered = new ConcurrentQueue<CloudEvent>();
        await using var app = await DaprTestApp.StartAsync(_cluster, "features",
            s => s.AddEventHandler<BarClosed>((_, _, e, _) => { delivered.Enqueue(e); return Task.CompletedTask; }));

        await app.Publisher.PublishAsync(Bar);

        await TestRuntime.WaitUntilAsync(() => !delivered.IsEmpty, "the delivery");
        var message = Assert.Single(_cluster.Broker.Published);
        Assert.Equal(Bar.EventId, message.Id);
        Assert.Equal("ALPHA", message.Metadata["partitionKey"]);
        Assert.Equal(nameof(BarClosed), (string)message.Envelope["type"]!);
        Assert.Equal("features", (string)message.Envelope["source"]!);
        Assert.Matches("^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$", (string)message.Envelope["traceparent"]!);
        var e = Assert.Single(delivered);
        Assert.Equal(Bar.EventId, e.Id);
        Assert.Equal(nameof(BarClosed), e.Type);
        Assert.Equal(Topic, e.Topic);
        Assert.Equal(Bar.Close, e.DataAs<BarClosed>().Close);
    }

    [Fact]
    public async Task Deliver_HandlerAnswersRetry_SidecarRedeliversUntilSuccess()
    {
        var attempts = 0;
        await using var app = await DaprTestApp.StartAsync(_cluster, "c1",
            s => s.AddRawEventHandler(Topic, (_, _, _) => Task.FromResult(++attempts < 3 ? DeliveryResult.Retry : DeliveryResult.Success)));

        await app.Publisher.PublishAsync(new OutgoingEvent(Topic, "flaky", "T", "{}"u8.ToArray()));

        await TestRuntime.WaitUntilAsync(() => _cluster.Broker.Attempts.Any(a => a.Outcome == "Success"), "a successful attempt");
        Assert.Equal(["Retry", "Retry", "Success"], _cluster.Broker.Attempts.Where(a => a.Topic == Topic).Select(a => a.Outcome));
    }

    [Fact]
    public async Task Deliver_RetriesExhausted_SidecarSendsOriginalToDeadLetterTopic()
    {
        _cluster.Options.Delivery = DeliveryPolicy.Fast with { MaxRetries = 2 };
        var dead = new ConcurrentQueue<CloudEvent>();
        await using var app = await DaprTestApp.StartAsync(_cluster, "c1", s =>
        {
            s.AddRawEventHandler(Topic, (_, _, _) => throw new InvalidOperationException("always"));
            s.AddRawEventHandler(Topics.DeadLetter(Topic), (_, e, _) => { dead.Enqueue(e); return Task.FromResult(DeliveryResult.Success); });
        });

        await app.Publisher.PublishAsync(new OutgoingEvent(Topic, "poison", "T", "{\"n\":7}"u8.ToArray()));

        await TestRuntime.WaitUntilAsync(() => !dead.IsEmpty, "the dead letter");
        Assert.Equal(3, _cluster.Broker.Attempts.Count(a => a.Topic == Topic && a.Id == "poison"));
        var letter = Assert.Single(dead);
        Assert.Equal("poison", letter.Id);
        Assert.Equal(7, letter.DataAs<JsonObject>()["n"]!.GetValue<int>());
    }

    [Fact]
    public async Task Deliver_HandlerAnswersDrop_DeadLetteredWithoutRetry()
    {
        var dead = new ConcurrentQueue<string>();
        await using var app = await DaprTestApp.StartAsync(_cluster, "c1", s =>
        {
            s.AddRawEventHandler(Topic, (_, _, _) => Task.FromResult(DeliveryResult.Drop));
            s.AddRawEventHandler(Topics.DeadLetter(Topic), (_, e, _) => { dead.Enqueue(e.Id); return Task.FromResult(DeliveryResult.Success); });
        });

        await app.Publisher.PublishAsync(new OutgoingEvent(Topic, "bad", "T", "{}"u8.ToArray()));

        await TestRuntime.WaitUntilAsync(() => !dead.IsEmpty, "the dead letter");
        Assert.Equal(["Drop"], _cluster.Broker.Attempts.Where(a => a.Topic == Topic).Select(a => a.Outcome));
    }

    [Fact]
    public async Task Deliver_TwoReplicasAndAnotherApp_EachGroupGetsEveryEventOnceAndReplicasShare()
    {
        var replicaA = new ConcurrentQueue<string>();
        var replicaB = new ConcurrentQueue<string>();
        var other = new ConcurrentQueue<string>();
        EventHandlerDelegate Into(ConcurrentQueue<string> q) => (_, e, _) => { q.Enqueue(e.Id); return Task.FromResult(DeliveryResult.Success); };
        await using var a = await DaprTestApp.StartAsync(_cluster, "serving", s => s.AddRawEventHandler(Topic, Into(replicaA)));
        await using var b = await DaprTestApp.StartAsync(_cluster, "serving", s => s.AddRawEventHandler(Topic, Into(replicaB)));
        await using var m = await DaprTestApp.StartAsync(_cluster, "monitoring", s => s.AddRawEventHandler(Topic, Into(other)));

        for (var i = 0; i < 20; i++) await a.Publisher.PublishAsync(new OutgoingEvent(Topic, $"e{i}", "T", "{}"u8.ToArray()));

        await TestRuntime.WaitUntilAsync(() => replicaA.Count + replicaB.Count == 20 && other.Count == 20, "both groups");
        Assert.Equal(20, replicaA.Concat(replicaB).Distinct().Count());
        Assert.NotEmpty(replicaA);
        Assert.NotEmpty(replicaB);
    }

    private static OutgoingEvent BarOn(int i) =>
        EventPublisherExtensions.ToOutgoing(Bar with { Time = Bar.Time.AddDays(i), Symbol = i % 2 == 0 ? "ALPHA" : "BRAVO" });

    [Fact]
    public async Task PublishManyAsync_TwoTopics_OneBulkCallPerTopicEachEventWithItsOwnIdAndKey()
    {
        var delivered = new ConcurrentQueue<string>();
        await using var app = await DaprTestApp.StartAsync(_cluster, "features",
            s => s.AddRawEventHandler(Topic, (_, e, _) => { delivered.Enqueue(e.Id); return Task.FromResult(DeliveryResult.Success); }));
        var bars = Enumerable.Range(0, 5).Select(BarOn).ToList();
        OutgoingEvent[] features = [new(Topics.MarketFeatures, "f1", "T", "{}"u8.ToArray()), new(Topics.MarketFeatures, "f2", "T", "{}"u8.ToArray())];

        await app.Publisher.PublishManyAsync([.. bars, .. features]);

        await TestRuntime.WaitUntilAsync(() => delivered.Count == 5, "five deliveries");
        Assert.Equal(2, _cluster.Calls("BulkPublishEvent"));
        Assert.Equal(0, _cluster.Calls("PublishEvent"));
        Assert.Equal(bars.Select(b => b.Id), delivered);
        var published = _cluster.Broker.Published.Where(m => m.Topic == Topic).ToList();
        Assert.Equal(bars.Select(b => b.PartitionKey), published.Select(m => m.Metadata["partitionKey"]));
        Assert.All(published, m => Assert.Equal(nameof(BarClosed), (string)m.Envelope["type"]!));
    }

    [Fact]
    public async Task PublishManyAsync_SidecarWithoutBulkPublish_PublishesOneByOne()
    {
        _cluster.Options.WithoutBulkPublish = true;
        await using var app = await DaprTestApp.StartAsync(_cluster, "features");

        await app.Publisher.PublishManyAsync(Enumerable.Range(0, 3).Select(BarOn).ToList());

        Assert.Equal(1, _cluster.Calls("BulkPublishEvent"));
        Assert.Equal(3, _cluster.Calls("PublishEvent"));
        Assert.Equal(3, _cluster.Broker.Published.Count);
    }

    [Fact]
    public async Task PublishManyAsync_OneInvalidEvent_RefusedAndNothingSent()
    {
        await using var app = await DaprTestApp.StartAsync(_cluster, "features");

        await Assert.ThrowsAsync<PublishRefusedException>(() =>
            app.Publisher.PublishManyAsync([BarOn(0), new OutgoingEvent("no-such-topic", "x", "T", "{}"u8.ToArray())]));

        Assert.Empty(_cluster.Broker.Published);
        Assert.Equal(0, _cluster.Calls("BulkPublishEvent"));
    }

    [Fact]
    public async Task MapDaprEndpoints_Subscribe_DeclaresPubSubTopicRouteAndDeadLetterTopic()
    {
        await using var app = await DaprTestApp.StartAsync(_cluster, "c1",
            s => s.AddRawEventHandler(Topic, (_, _, _) => Task.FromResult(DeliveryResult.Success)));
        var subscription = Assert.Single(app.Sidecar.Subscriptions);
        Assert.Equal(new SidecarSubscription("pubsub", Topic, "/events/" + Topic, Topics.DeadLetter(Topic), subscription.Metadata), subscription);
    }

    private static async Task<string> PostAsync(DaprTestApp app, string body, string contentType)
    {
        using var http = new HttpClient();
        using var content = new StringContent(body, System.Text.Encoding.UTF8);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(contentType);
        using var response = await http.PostAsync(new Uri(app.Address, "events/" + Topic), content);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsStringAsync();
    }

    [Fact]
    public async Task Deliver_RawJsonBody_HandledWithAStableHashIdAndSuccess()
    {
        var ids = new ConcurrentQueue<string>();
        await using var app = await DaprTestApp.StartAsync(_cluster, "c1",
            s => s.AddRawEventHandler(Topic, (_, e, _) => { ids.Enqueue(e.Id); return Task.FromResult(DeliveryResult.Success); }));

        Assert.Equal("{\"status\":\"SUCCESS\"}", await PostAsync(app, "{\"n\":1}", "application/json"));
        Assert.Equal("{\"status\":\"SUCCESS\"}", await PostAsync(app, "{\"n\":1}", "application/json"));

        Assert.Equal(2, ids.Count);
        Assert.Single(ids.Distinct());
        Assert.StartsWith("sha256:", ids.First());
    }

    [Theory]
    [InlineData("{\"id\":\"e1\",\"type\":\"T\",\"specversion\":\"1.0\",\"datacontenttype\":\"text/plain\",\"data\":\"hello\"}")]
    [InlineData("{\"id\":\"e1\",\"specversion\":\"1.0\",\"datacontenttype\":\"application/json\",\"data\":{}}")]
    [InlineData("{\"id\":\"e1\",\"type\":\"T\",\"time\":\"yesterday\",\"datacontenttype\":\"application/json\",\"data\":{}}")]
    public async Task Deliver_UnreadableEnvelope_AnswersDropWithoutCallingTheHandler(string envelope)
    {
        var handled = 0;
        await using var app = await DaprTestApp.StartAsync(_cluster, "c1",
            s => s.AddRawEventHandler(Topic, (_, _, _) => { handled++; return Task.FromResult(DeliveryResult.Success); }));

        Assert.Equal("{\"status\":\"DROP\"}", await PostAsync(app, envelope, "application/cloudevents+json"));
        Assert.Equal(0, handled);
    }

    [Fact]
    public async Task MapDaprEndpoints_AppApiTokenSet_SidecarWithTokenDeliversAndRequestWithoutIsRefused()
    {
        _cluster.Options.AppApiToken = "app-secret";
        var seen = new ConcurrentQueue<string>();
        await using var app = await DaprTestApp.StartAsync(_cluster, "c1",
            s => s.AddRawEventHandler(Topic, (_, e, _) => { seen.Enqueue(e.Id); return Task.FromResult(DeliveryResult.Success); }));
        await app.Publisher.PublishAsync(new OutgoingEvent(Topic, "e1", "T", "{}"u8.ToArray()));
        await TestRuntime.WaitUntilAsync(() => !seen.IsEmpty, "the delivery");

        using var http = new HttpClient();
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync(new Uri(app.Address, "dapr/subscribe"))).StatusCode);
        using var withToken = new HttpRequestMessage(HttpMethod.Get, new Uri(app.Address, "dapr/subscribe"));
        withToken.Headers.Add(DaprAppEndpoints.TokenHeader, "app-secret");
        Assert.Equal(HttpStatusCode.OK, (await http.SendAsync(withToken)).StatusCode);
    }

    [Fact]
    public async Task StartAsync_DaprApiTokenMismatch_FailsWithHint()
    {
        _cluster.Options.ApiToken = "sidecar-secret";
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            DaprTestApp.StartAsync(_cluster, "c1", settings: new Dictionary<string, string?> { ["DAPR_API_TOKEN"] = "wrong" }));
        Assert.Contains("DAPR_API_TOKEN", ex.Message);
    }

    [Fact]
    public async Task StartAsync_DaprApiTokenMatches_AppStartsAndStoresState()
    {
        _cluster.Options.ApiToken = "sidecar-secret";
        await using var app = await DaprTestApp.StartAsync(_cluster, "c1");
        Assert.Equal(StateOutcome.Ok, await app.State().SaveAsync("k", 1));
    }

    [Fact]
    public async Task StartAsync_PubSubMissing_FailsNamingTheComponent()
    {
        _cluster.Options.Components.RemoveAll(c => c.Name == "pubsub");
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => DaprTestApp.StartAsync(_cluster, "c1"));
        Assert.Contains("'pubsub' is not loaded", ex.Message);
    }

    [Theory]
    [InlineData("ETAG", "TRANSACTIONAL")]
    [InlineData("TRANSACTIONAL", "ETAG")]
    public async Task StartAsync_StateStoreLacksCapability_FailsNamingIt(string present, string missing)
    {
        _cluster.Options.Components.RemoveAll(c => c.Name == "statestore");
        _cluster.Options.Components.Add(new SidecarComponent("statestore", "state.cassandra", "appid", present));
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => DaprTestApp.StartAsync(_cluster, "c1"));
        Assert.Contains($"'statestore' (state.cassandra) lacks capability {missing}", ex.Message);
    }

    [Fact]
    public async Task StartAsync_SidecarDown_FailsAfterHealthTimeoutNamingTheVariable()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["DAPR_GRPC_PORT"] = ClosedPort().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["DAPR_HTTP_PORT"] = ClosedPort().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["DAPR_HEALTH_TIMEOUT"] = "1",
        }).Build();
        var services = new ServiceCollection().AddLogging().AddDaprRuntime("c1", configuration);
        await using var provider = services.BuildServiceProvider();
        var readiness = provider.GetServices<IHostedService>().OfType<DaprSidecarReadiness>().Single();
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => readiness.StartAsync(CancellationToken.None));
        Assert.Contains("DAPR_HEALTH_TIMEOUT", ex.Message);
    }

    [Fact]
    public async Task PublishAsync_UnknownPubSubComponent_ThrowsWithStatus()
    {
        await using var app = await DaprTestApp.StartAsync(_cluster, "c1",
            settings: new Dictionary<string, string?> { ["Dapr:PubSub"] = "other-pubsub", ["Dapr:RequirePubSub"] = "false" });
        var ex = await Assert.ThrowsAsync<DaprApiException>(() => app.Publisher.PublishAsync(new OutgoingEvent(Topic, "e", "T", "{}"u8.ToArray())));
        Assert.Equal(Grpc.Core.StatusCode.InvalidArgument, ex.Status);
        Assert.Empty(_cluster.Broker.Published);
    }

    [Fact]
    public async Task GetSecretAsync_KnownKey_ReturnsValue()
    {
        _cluster.Options.Secrets["api-pepper"] = "s3cret";
        await using var app = await DaprTestApp.StartAsync(_cluster, "gateway");
        Assert.Equal("s3cret", await app.Services.GetRequiredService<Secrets.ISecretStore>().GetSecretAsync("api-pepper"));
    }

    [Fact]
    public async Task GetSecretAsync_MissingKeyInLocalFileStore_ThrowsRatherThanNull()
    {
        await using var app = await DaprTestApp.StartAsync(_cluster, "gateway");
        var ex = await Assert.ThrowsAsync<DaprApiException>(() => app.Services.GetRequiredService<Secrets.ISecretStore>().GetSecretAsync("absent"));
        Assert.Equal(Grpc.Core.StatusCode.Internal, ex.Status);
    }

    [Fact]
    public async Task AssertNoViolations_CallTheSidecarDoesNotImplement_RecordsAndThrows()
    {
        await using var app = await DaprTestApp.StartAsync(_cluster, "c1");
        var client = app.Services.GetRequiredService<global::Dapr.Client.DaprClient>();
        await Assert.ThrowsAnyAsync<Exception>(() => client.InvokeBindingAsync("some-binding", "create", new { }));

        var violation = Assert.Single(_cluster.Violations);
        Assert.Contains("InvokeBinding", violation);
        Assert.Throws<SidecarViolationException>(_cluster.AssertNoViolations);
        _cluster.ClearViolations();
    }

    private static int ClosedPort()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
