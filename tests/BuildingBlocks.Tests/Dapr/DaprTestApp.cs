using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Platform.BuildingBlocks.Dapr;

namespace Platform.BuildingBlocks.Tests.Dapr;

/// <summary>
/// An app in Dapr mode as a service runs it: Kestrel on a free loopback port, <c>AddBuildingBlocks</c> choosing the Dapr
/// adapter from the sidecar's variables, <c>MapDaprEndpoints</c>, the start-up gate, and its own faithful sidecar of
/// the cluster that reads its subscriptions once the app listens.
/// </summary>
public sealed class DaprTestApp : ITestConsumer
{
    private readonly WebApplication _app;

    private readonly IAsyncDisposable _sidecar;

    private DaprTestApp(WebApplication app, IAsyncDisposable sidecar, Uri address)
    {
        _app = app;
        _sidecar = sidecar;
        Address = address;
    }

    /// <summary>The app's faithful sidecar (only for apps started on a <see cref="SidecarCluster"/>).</summary>
    public FaithfulSidecar Sidecar => (FaithfulSidecar)_sidecar;
    public Uri Address { get; }
    public IServiceProvider Services => _app.Services;
    public IEventPublisher Publisher => Services.GetRequiredService<IEventPublisher>();
    public IStateStore State(string name = Components.StateStore) => Services.GetRequiredService<IStateStoreProvider>().Get(name);

    public static async Task<DaprTestApp> StartAsync(SidecarCluster cluster, string appId, Action<IServiceCollection>? configure = null,
        IDictionary<string, string?>? settings = null)
    {
        var sidecar = await cluster.StartSidecarAsync(appId);
        var values = new Dictionary<string, string?>(sidecar.AppSettings());
        foreach (var (k, v) in settings ?? new Dictionary<string, string?>()) values[k] = v;
        return await StartAsync(appId, values, configure, port: 0, sidecar.ConnectAppAsync, sidecar);
    }

    /// <summary>Starts the app against a sidecar that already runs (<paramref name="sidecar"/>, disposed with the app), then tells the
    /// sidecar where the app listens.</summary>
    public static async Task<DaprTestApp> StartAsync(string appId, IDictionary<string, string?> settings, Action<IServiceCollection>? configure,
        int port, Func<Uri, Task> connect, IAsyncDisposable sidecar)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        var values = new Dictionary<string, string?>
        {
            ["Runtime:Mode"] = "dapr",
            ["DAPR_HEALTH_TIMEOUT"] = "5",
            ["Dapr:RequestTimeout"] = "5",
            ["Dapr:RetryDelay"] = "00:00:00.010",
        };
        foreach (var (k, v) in settings) values[k] = v;
        builder.Configuration.AddInMemoryCollection(values);
        builder.Services.AddBuildingBlocks(RuntimeSettings.From(builder.Configuration, appId), builder.Configuration);
        configure?.Invoke(builder.Services);
        var app = builder.Build();
        app.MapDaprEndpoints();
        try
        {
            await app.StartAsync();
        }
        catch
        {
            await app.DisposeAsync();
            await sidecar.DisposeAsync();
            throw;
        }
        var address = new Uri(app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First() + "/");
        await connect(address);
        return new DaprTestApp(app, sidecar, address);
    }

    public async ValueTask DisposeAsync()
    {
        await _sidecar.DisposeAsync();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
