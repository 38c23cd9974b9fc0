namespace Platform.BuildingBlocks.Tests.Dapr;

/// <summary>
/// The pub/sub semantics suite on the Dapr adapter: each app has its own faithful sidecar, which delivers over HTTP with
/// the resiliency policy's retries (attempts = maxRetries + 1), consumer group = app id. Any request the sidecars do not
/// understand fails the test at teardown.
/// </summary>
public sealed class DaprPubSubTests : PubSubSemantics, IAsyncLifetime
{
    private readonly SidecarCluster _cluster = new();

    protected override async Task<ITestConsumer> StartAsync(string appId, Action<IServiceCollection> configure, int maxAttempts = 3)
    {
        _cluster.Options.Delivery = DeliveryPolicy.Fast with { MaxRetries = maxAttempts - 1 };
        return await DaprTestApp.StartAsync(_cluster, appId, configure);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _cluster.DisposeAsync();
}
