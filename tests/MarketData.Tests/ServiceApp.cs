using System.Collections.Concurrent;
using Platform.BuildingBlocks.PubSub;
using Platform.TestSupport;

namespace Platform.MarketData.Tests;

/// <summary>The marketdata service on the shared test host, with a test subscriber on market-bars.</summary>
public sealed class ServiceApp : IAsyncDisposable
{
    private readonly ServiceTestHost _host;

    private ServiceApp(ServiceTestHost host, ConcurrentQueue<CloudEvent> delivered)
    {
        _host = host;
        Delivered = delivered;
    }

    public ConcurrentQueue<CloudEvent> Delivered { get; }
    public HttpClient Http => _host.Http;
    public string DataDir => _host.DataDir;
    public IServiceProvider Services => _host.Services;

    public static async Task<ServiceApp> StartAsync(string? dataDir = null, Dictionary<string, string?>? settings = null)
    {
        var delivered = new ConcurrentQueue<CloudEvent>();
        var all = new Dictionary<string, string?>
        {
            ["MarketData:Demo:Enabled"] = "false",
            ["MarketData:Imports:AllowedRoots:0"] = Path.GetTempPath(),
        };
        foreach (var (key, value) in settings ?? []) all[key] = value;
        var host = await ServiceTestHost.StartAsync(MarketDataService.Module, new ServiceTestOptions
        {
            DataDir = dataDir,
            Settings = all,
            Configure = b => b.Services.AddRawEventHandler(Topics.MarketBars, (_, e, _) =>
            {
                delivered.Enqueue(e);
                return Task.FromResult(DeliveryResult.Success);
            }),
        });
        return new ServiceApp(host, delivered);
    }

    /// <summary>Stops the service and starts it again on the same data directory.</summary>
    public Task RestartAsync() => _host.RestartAsync();

    public Task WaitForAsync(Func<bool> condition, string what, int seconds = 20) =>
        Eventually.UntilAsync(condition, what, TimeSpan.FromSeconds(seconds));

    public ValueTask DisposeAsync() => _host.DisposeAsync();
}
