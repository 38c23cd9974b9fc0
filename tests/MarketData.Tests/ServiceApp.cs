using System.Collections.Concurrent;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Platform.BuildingBlocks.PubSub;
using Platform.Contracts;
using Platform.ServiceDefaults;

namespace Platform.MarketData.Tests;

/// <summary>The marketdata service on real Kestrel (127.0.0.1:0), embedded runtime, a temp data directory, and a test subscriber on market-bars.</summary>
public sealed class ServiceApp : IAsyncDisposable
{
    private readonly WebApplication _app;

    public ConcurrentQueue<CloudEvent> Delivered { get; } = new();
    public HttpClient Http { get; }
    public string DataDir { get; }
    public IServiceProvider Services => _app.Services;

    private ServiceApp(WebApplication app, string dataDir, ConcurrentQueue<CloudEvent> delivered)
    {
        _app = app;
        DataDir = dataDir;
        Delivered = delivered;
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        Http = new HttpClient { BaseAddress = new Uri(address) };
    }

    public static async Task<ServiceApp> StartAsync(string? dataDir = null, Dictionary<string, string?>? settings = null)
    {
        dataDir ??= Directory.CreateTempSubdirectory("md-api-").FullName;
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Runtime:Mode"] = "embedded",
            ["DataDir"] = dataDir,
            ["Logging:Format"] = "text",
            ["Logging:LogLevel:Default"] = "Warning",
            ["MarketData:Demo:Enabled"] = "false",
            ["MarketData:Imports:AllowedRoots:0"] = Path.GetTempPath(),
            ["PubSub:Embedded:PollInterval"] = "00:00:00.020",
        });
        if (settings is not null) builder.Configuration.AddInMemoryCollection(settings);
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.AddServiceDefaults(AppTopology.MarketData);
        builder.AddMarketData();
        var delivered = new ConcurrentQueue<CloudEvent>();
        builder.Services.AddRawEventHandler(Topics.MarketBars, (_, e, _) => { delivered.Enqueue(e); return Task.FromResult(DeliveryResult.Success); });
        var app = builder.Build();
        app.MapServiceDefaults();
        app.MapMarketData();
        await app.StartAsync();
        return new ServiceApp(app, dataDir, delivered);
    }

    public async Task WaitForAsync(Func<bool> condition, string what, int seconds = 20)
    {
        var until = DateTime.UtcNow.AddSeconds(seconds);
        while (!condition())
        {
            if (DateTime.UtcNow > until) throw new TimeoutException("Timed out waiting for " + what);
            await Task.Delay(20);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
