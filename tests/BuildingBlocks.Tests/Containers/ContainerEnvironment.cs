using System.Globalization;
using System.Net.Sockets;
using DotNet.Testcontainers.Builders;
using DotNet.Testcontainers.Containers;
using DotNet.Testcontainers.Networks;
using Platform.BuildingBlocks.Tests.Dapr;
using Testcontainers.Kafka;
using Testcontainers.Redis;

namespace Platform.BuildingBlocks.Tests.Containers;

/// <summary>
/// Kafka and Redis in containers on one network, started once per suite class where a Docker engine answers (nothing is
/// started otherwise: the suites' tests report themselves Skipped). Each app of a test gets its own daprd container
/// loading <c>pubsub.kafka</c> (consumer group = app id) and <c>state.redis</c> components and a resiliency policy, and
/// reaching the app on the host through <c>host.docker.internal</c>.
/// </summary>
public sealed class ContainerEnvironment : IAsyncLifetime
{
    public const string DaprdImage = "daprio/daprd:1.16.0";
    private INetwork? _network;
    private KafkaContainer? _kafka;
    private RedisContainer? _redis;

    public async Task InitializeAsync()
    {
        if (DockerEngine.Unavailable() is not null) return;
        _network = new NetworkBuilder().Build();
        await _network.CreateAsync();
        _kafka = new KafkaBuilder("confluentinc/cp-kafka:7.5.12").WithNetwork(_network).WithNetworkAliases("kafka")
            .WithListener("kafka:19092").Build();
        _redis = new RedisBuilder("redis:7.4").WithNetwork(_network).WithNetworkAliases("redis").Build();
        await Task.WhenAll(_kafka.StartAsync(), _redis.StartAsync());
    }

    /// <summary>Starts a daprd container for <paramref name="appId"/>, then the app against it.</summary>
    public async Task<DaprTestApp> StartAppAsync(string appId, Action<IServiceCollection>? configure, int maxAttempts = 3)
    {
        if (_network is null) throw new InvalidOperationException("No container environment: " + DockerEngine.Unavailable());
        var appPort = FreePort();
        var resources = Directory.CreateTempSubdirectory("daprd-components-");
        WriteComponents(resources.FullName, maxAttempts);
        var daprd = new ContainerBuilder(DaprdImage)
            .WithNetwork(_network)
            .WithExtraHost("host.docker.internal", "host-gateway")
            .WithResourceMapping(resources, "/components")
            .WithEntrypoint("./daprd")
            .WithCommand("--app-id", appId, "--app-port", appPort.ToString(CultureInfo.InvariantCulture),
                "--app-channel-address", "host.docker.internal", "--dapr-grpc-port", "50001", "--dapr-http-port", "3500",
                "--resources-path", "/components", "--log-level", "warn")
            .WithPortBinding(50001, true)
            .WithPortBinding(3500, true)
            .WithWaitStrategy(Wait.ForUnixContainer().UntilHttpRequestIsSucceeded(r =>
                r.ForPort(3500).ForPath("/v1.0/healthz/outbound").ForStatusCode(HttpStatusCode.NoContent)))
            .Build();
        await daprd.StartAsync();
        var settings = new Dictionary<string, string?>
        {
            ["DAPR_GRPC_PORT"] = daprd.GetMappedPublicPort(50001).ToString(CultureInfo.InvariantCulture),
            ["DAPR_HTTP_PORT"] = daprd.GetMappedPublicPort(3500).ToString(CultureInfo.InvariantCulture),
            ["DAPR_HEALTH_TIMEOUT"] = "60",
        };
        // daprd reads /dapr/subscribe by itself once the app port opens.
        return await DaprTestApp.StartAsync(appId, settings, configure, appPort, _ => Task.CompletedTask, new Owned(daprd, resources));
    }

    private static void WriteComponents(string dir, int maxAttempts)
    {
        File.WriteAllText(Path.Combine(dir, "pubsub.yaml"), """
            apiVersion: dapr.io/v1alpha1
            kind: Component
            metadata: { name: pubsub }
            spec:
              type: pubsub.kafka
              version: v1
              metadata:
                - { name: brokers, value: "kafka:19092" }
                - { name: consumerGroup, value: "{appID}" }
                - { name: authType, value: "none" }
                - { name: initialOffset, value: "newest" }
            """);
        foreach (var (name, prefix) in new[] { ("statestore", "appid"), ("featurestore", "name"), ("modelstore", "name") })
            File.WriteAllText(Path.Combine(dir, name + ".yaml"), $$"""
                apiVersion: dapr.io/v1alpha1
                kind: Component
                metadata: { name: {{name}} }
                spec:
                  type: state.redis
                  version: v1
                  metadata:
                    - { name: redisHost, value: "redis:6379" }
                    - { name: keyPrefix, value: "{{prefix}}" }
                """);
        File.WriteAllText(Path.Combine(dir, "resiliency.yaml"), $$"""
            apiVersion: dapr.io/v1alpha1
            kind: Resiliency
            metadata: { name: tests }
            spec:
              policies:
                retries:
                  delivery: { policy: constant, duration: 10ms, maxRetries: {{maxAttempts - 1}} }
              targets:
                components:
                  pubsub:
                    inbound: { retry: delivery }
            """);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    public async Task DisposeAsync()
    {
        if (_kafka is not null) await _kafka.DisposeAsync();
        if (_redis is not null) await _redis.DisposeAsync();
        if (_network is not null) await _network.DisposeAsync();
    }

    private sealed class Owned(IContainer container, DirectoryInfo resources) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await container.DisposeAsync();
            resources.Delete(recursive: true);
        }
    }
}
