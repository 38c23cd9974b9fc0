using Platform.BuildingBlocks.Tests.Dapr;

namespace Platform.BuildingBlocks.Tests.Containers;

/// <summary>The state semantics suite through the Dapr adapter against a real daprd with a Redis state store.</summary>
[RequiresDockerEngine]
[Trait("Category", "Slow")]
public sealed class ContainerStateStoreTests(ContainerEnvironment environment) : StateStoreSemantics, IClassFixture<ContainerEnvironment>, IAsyncLifetime
{
    private DaprTestApp? _app;

    protected override IStateStore Store => _app!.State();

    public async Task InitializeAsync()
    {
        if (DockerEngine.Unavailable() is null) _app = await environment.StartAppAsync("app-" + Guid.NewGuid().ToString("N")[..8], null);
    }

    public async Task DisposeAsync()
    {
        if (_app is not null) await _app.DisposeAsync();
    }
}

/// <summary>The pub/sub semantics suite through the Dapr adapter against real daprd sidecars over Kafka.</summary>
[RequiresDockerEngine]
[Trait("Category", "Slow")]
public sealed class ContainerPubSubTests(ContainerEnvironment environment) : PubSubSemantics, IClassFixture<ContainerEnvironment>
{
    // Kafka outlives a test: a fresh suffix per test gives each test its own consumer groups (which start at the newest offset).
    private readonly string _run = Guid.NewGuid().ToString("N")[..8];

    protected override async Task<ITestConsumer> StartAsync(string appId, Action<IServiceCollection> configure, int maxAttempts = 3) =>
        await environment.StartAppAsync(appId + "-" + _run, configure, maxAttempts);
}
