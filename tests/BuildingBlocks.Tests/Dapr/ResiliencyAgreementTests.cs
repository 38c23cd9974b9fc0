using System.Collections.Concurrent;

namespace Platform.BuildingBlocks.Tests.Dapr;

/// <summary>
/// The resiliency files and the adapter agree on who retries what: the sidecar retries deliveries and publishes, the
/// adapter retries state reads, nobody retries state writes.
/// </summary>
public sealed class ResiliencyAgreementTests : IAsyncLifetime
{
    private readonly SidecarCluster _cluster = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    public static TheoryData<string> Files => new() { "components/resiliency.yaml", "gitops/components/dapr/resiliency.yaml" };

    private static ResiliencyFile Load(string file) => ResiliencyFile.Load(Path.Combine(SidecarCluster.RepositoryRoot(), file));

    [Theory]
    [MemberData(nameof(Files))]
    public void ResiliencyFile_StateStores_HaveTimeoutAndNoRetry(string file)
    {
        var resiliency = Load(file);
        foreach (var store in new[] { Components.StateStore, Components.FeatureStore, Components.ModelStore })
        {
            Assert.Null(resiliency.ComponentPolicy(store, "outbound", "retry"));
            Assert.NotNull(resiliency.ComponentPolicy(store, "outbound", "timeout"));
        }
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void ResiliencyFile_RetryPolicies_NoneWithDaprReservedDefaultName(string file)
    {
        Assert.DoesNotContain(Load(file).RetryPolicies, name => name.StartsWith("Default", StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void ResiliencyFile_PubSub_RetriesPublishesAndDeliveries(string file)
    {
        var resiliency = Load(file);
        Assert.NotNull(resiliency.ComponentPolicy(Components.PubSub, "outbound", "retry"));
        Assert.True(resiliency.Delivery(Components.PubSub).MaxRetries > 0);
    }

    [Fact]
    public async Task Deliver_PolicyOfResiliencyFile_DeadLettersAfterMaxRetriesPlusOneAttempts()
    {
        var policy = Load("components/resiliency.yaml").Delivery(Components.PubSub);
        _cluster.Options.Delivery = policy;
        var dead = new ConcurrentQueue<string>();
        await using var app = await DaprTestApp.StartAsync(_cluster, "c1", s =>
        {
            s.AddRawEventHandler(Topics.MarketBars, (_, _, _) => throw new InvalidOperationException("always"));
            s.AddRawEventHandler(Topics.DeadLetter(Topics.MarketBars), (_, e, _) => { dead.Enqueue(e.Id); return Task.FromResult(DeliveryResult.Success); });
        });

        await app.Publisher.PublishAsync(new OutgoingEvent(Topics.MarketBars, "poison", "T", "{}"u8.ToArray()));

        await TestRuntime.WaitUntilAsync(() => !dead.IsEmpty, "the dead letter");
        Assert.Equal(policy.MaxRetries + 1, _cluster.Broker.Attempts.Count(a => a.Topic == Topics.MarketBars));
    }

    [Fact]
    public async Task GetAsync_SidecarUnavailableTwice_AdapterRetriesTheRead()
    {
        await using var app = await DaprTestApp.StartAsync(_cluster, "c1");
        await app.State().SaveAsync("k", 5);
        _cluster.FailNext("GetState", 2);

        Assert.Equal(5, await app.State().GetAsync<int>("k"));
        Assert.Equal(3, _cluster.Calls("GetState"));
    }

    [Fact]
    public async Task SaveAsync_SidecarUnavailable_SentOnceAndFails()
    {
        await using var app = await DaprTestApp.StartAsync(_cluster, "c1");
        _cluster.FailNext("SaveState", 1);

        var ex = await Assert.ThrowsAsync<StateStoreException>(() => app.State().SaveAsync("k", 1));
        Assert.Equal("Unavailable", ex.ErrorCode);
        Assert.Equal(1, _cluster.Calls("SaveState"));
        Assert.Null(await app.State().GetAsync("k"));
    }

    [Fact]
    public async Task PublishAsync_SidecarUnavailable_SentOnceAndFails()
    {
        await using var app = await DaprTestApp.StartAsync(_cluster, "c1");
        _cluster.FailNext("PublishEvent", 1);

        await Assert.ThrowsAsync<Platform.BuildingBlocks.Dapr.DaprApiException>(() =>
            app.Publisher.PublishAsync(new OutgoingEvent(Topics.MarketBars, "e", "T", "{}"u8.ToArray())));
        Assert.Equal(1, _cluster.Calls("PublishEvent"));
    }
}
