using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Platform.BuildingBlocks.Dapr;
using Platform.BuildingBlocks.PubSub;
using Platform.BuildingBlocks.Secrets;
using Platform.BuildingBlocks.State;
using Platform.Contracts;

namespace Platform.BuildingBlocks.Tests.Dapr;

/// <summary>The Dapr adapter as AddDaprRuntime registers it, pointed at a fake (or a closed port), with short test timeouts.</summary>
public sealed class DaprAdapter : IDisposable
{
    private readonly ServiceProvider _services;

    public DaprAdapter(int port, IDictionary<string, string?>? settings = null, Action<PubSubOptions>? pubSub = null)
    {
        var values = new Dictionary<string, string?>
        {
            ["DAPR_HTTP_PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["DAPR_HEALTH_TIMEOUT"] = "5",
            ["Dapr:RequestTimeout"] = "5",
            ["Dapr:RetryDelay"] = "00:00:00.010",
        };
        foreach (var (k, v) in settings ?? new Dictionary<string, string?>()) values[k] = v;
        Configuration = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        var services = new ServiceCollection();
        services.AddLogging(b => b.SetMinimumLevel(LogLevel.Warning));
        services.AddSingleton<IConfiguration>(Configuration);
        var options = new PubSubOptions();
        foreach (var topic in PubSubOptions.PlatformTopics()) options.AllowedTopics.Add(topic);
        pubSub?.Invoke(options);
        services.AddSingleton(options);
        services.AddDaprRuntime("marketdata", Configuration);
        _services = services.BuildServiceProvider();
    }

    public IConfiguration Configuration { get; }
    public IServiceProvider Services => _services;
    public IStateStore State(string name = Components.StateStore) => _services.GetRequiredService<IStateStoreProvider>().Get(name);
    public IEventPublisher Publisher => _services.GetRequiredService<IEventPublisher>();
    public ISecretStore Secrets => _services.GetRequiredService<ISecretStore>();
    public DaprSidecarReadiness Readiness => _services.GetServices<IHostedService>().OfType<DaprSidecarReadiness>().Single();

    public void Dispose() => _services.Dispose();

    /// <summary>A loopback port nothing listens on: a sidecar that is down.</summary>
    public static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
