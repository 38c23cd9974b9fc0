using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Platform.Backtesting;
using Platform.Contracts;
using Platform.Features;
using Platform.Gateway;
using Platform.Gateway.Pipeline;
using Platform.MarketData;
using Platform.Monitoring;
using Platform.ServiceDefaults;
using Platform.Serving;
using Platform.Training;

namespace Platform.Host;

/// <summary>How to start the embedded platform.</summary>
public sealed record EmbeddedPlatformOptions
{
    public required string DataDir { get; init; }

    /// <summary>The gateway's public address.</summary>
    public string GatewayUrl { get; init; } = "http://127.0.0.1:8080";

    /// <summary>Use ephemeral loopback ports for the services instead of their fixed ones (tests, side-by-side runs).</summary>
    public bool EphemeralServicePorts { get; init; }

    /// <summary>Configuration applied to every app (after the defaults, before the environment).</summary>
    public IReadOnlyDictionary<string, string?> Settings { get; init; } = new Dictionary<string, string?>();
}

/// <summary>
/// Every service in one process, each its own ASP.NET Core application on its loopback port under its own app
/// id, sharing one data directory; the gateway is the only public listener and routes to the services exactly
/// as it does in Kubernetes. Each run draws an app token that every service requires (<c>APP_API_TOKEN</c>, checked in
/// <c>dapr-api-token</c>) and the gateway presents, so the services refuse callers that go around the gateway, on
/// loopback too.
/// </summary>
public sealed class EmbeddedPlatform : IAsyncDisposable
{
    private static readonly ServiceModule[] ServiceTable =
    [
        MarketDataService.Module,
        FeaturesService.Module,
        TrainingService.Module,
        ServingService.Module,
        BacktestingService.Module,
        MonitoringService.Module,
    ];

    private readonly List<(AppInfo App, WebApplication Web, string Url)> _apps = [];

    private EmbeddedPlatform(string dataDir) => DataDir = dataDir;

    /// <summary>A service's HTTP/2-only listener is its port plus this (5201 for marketdata's 5101).</summary>
    public const int H2cPortOffset = 100;

    /// <summary>The header a caller of a service (not the gateway) must carry <see cref="AppToken"/> in.</summary>
    public const string AppTokenHeader = "dapr-api-token";

    public string DataDir { get; }

    /// <summary>This run's app token: 32 random bytes, base64url. Tests calling a service directly send it.</summary>
    public string AppToken { get; } = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32))
        .TrimEnd('=').Replace('+', '-').Replace('/', '_');
    public string GatewayUrl => _apps.Single(a => a.App == AppTopology.Gateway).Url;
    public IReadOnlyDictionary<string, string> ServiceUrls => _apps.ToDictionary(a => a.App.AppId, a => a.Url);

    /// <summary>The running application of an app id, for its services (tests and CLI verbs use this).</summary>
    public IServiceProvider Services(string appId) => _apps.Single(a => a.App.AppId == appId).Web.Services;

    public static async Task<EmbeddedPlatform> StartAsync(EmbeddedPlatformOptions options, CancellationToken ct = default)
    {
        var dataDir = Path.GetFullPath(options.DataDir);
        Directory.CreateDirectory(dataDir);
        var platform = new EmbeddedPlatform(dataDir);
        try
        {
            var destinations = new Dictionary<string, string?>();
            // The gateway's hop: cleartext HTTP/2 to each service's HTTP/2-only listener unless the settings ask for http1.
            var hop = options.Settings.GetValueOrDefault(BackendProtocolFilter.Key) ?? "h2c";
            foreach (var module in ServiceTable)
            {
                var url = options.EphemeralServicePorts ? "http://127.0.0.1:0" : $"http://127.0.0.1:{module.App.Port}";
                // Every service also listens for cleartext HTTP/2 only (5201-5206, or a free port).
                var h2cPort = options.EphemeralServicePorts ? 0 : module.App.Port + H2cPortOffset;
                var started = await platform.StartAppAsync(module, url, options,
                    new Dictionary<string, string?> { [KestrelDefaults.H2cPortKey] = h2cPort.ToString() }, ct);
                destinations[$"ReverseProxy:Clusters:{module.App.AppId}:Destinations:primary:Address"] = hop == "h2c"
                    ? platform.Services(module.App.AppId).GetRequiredService<KestrelDefaults.H2cListener>().Url
                    : started;
            }
            destinations[BackendProtocolFilter.Key] = hop;
            await platform.StartAppAsync(GatewayService.Module, options.GatewayUrl, options, destinations, ct);
            return platform;
        }
        catch
        {
            await platform.DisposeAsync();
            throw;
        }
    }

    private async Task<string> StartAppAsync(ServiceModule module, string url, EmbeddedPlatformOptions options,
        IReadOnlyDictionary<string, string?> extra, CancellationToken ct)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            ApplicationName = "Platform." + module.App.AppId,
            ContentRootPath = AppContext.BaseDirectory,
            Args = [],
        });
        var defaults = new Dictionary<string, string?>
        {
            ["Runtime:Mode"] = "embedded",
            ["DataDir"] = DataDir,
            ["Logging:Format"] = "text",
            ["Logging:LogLevel:Default"] = "Warning",
            ["Logging:LogLevel:Platform"] = "Information",
        };
        builder.Configuration.Sources.Insert(0, new Microsoft.Extensions.Configuration.Memory.MemoryConfigurationSource { InitialData = defaults });
        builder.Configuration.AddInMemoryCollection(options.Settings);
        builder.Configuration.AddInMemoryCollection(extra);
        builder.Configuration.AddInMemoryCollection([new("APP_API_TOKEN", AppToken)]);
        builder.WebHost.UseUrls(url);
        var app = module.Build(builder);
        await app.StartAsync(ct);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        _apps.Add((module.App, app, address));
        return address;
    }

    public async ValueTask DisposeAsync()
    {
        // Gateway first, so no request reaches a service that is stopping.
        for (var i = _apps.Count - 1; i >= 0; i--)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try { await _apps[i].Web.StopAsync(timeout.Token); } catch (OperationCanceledException) { }
            await _apps[i].Web.DisposeAsync();
        }
        _apps.Clear();
    }
}
