using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Platform.Contracts;
using Platform.Gateway;
using Platform.ServiceDefaults;
using Platform.Serving;

namespace Platform.Bench.Gateway;

/// <summary>Starts the real apps on 127.0.0.1:0 for the HTTP benchmarks, and a simple closed-loop load generator.</summary>
internal static class BenchApps
{
    public static string Address(WebApplication app) =>
        app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();

    /// <summary>A backend answering every path with a small JSON body: HTTP/1.1 on its first address, cleartext HTTP/2 on its second.</summary>
    public static async Task<WebApplication> StartBackendAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(System.Net.IPAddress.Loopback, 0);
            k.Listen(System.Net.IPAddress.Loopback, 0, l => l.Protocols = Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http2);
        });
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var body = """{"symbol":"AAA","close":101.25}"""u8.ToArray();
        app.Map("/{**rest}", (HttpContext c) => Results.Bytes(body, "application/json"));
        await app.StartAsync();
        return app;
    }

    public static string H2cAddress(WebApplication app) =>
        app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.ElementAt(1);

    /// <summary>A plain YARP proxy: one catch-all route to <paramref name="backend"/>, no authentication, no limits, no logging.</summary>
    public static async Task<WebApplication> StartPlainProxyAsync(string backend, bool h2c)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddReverseProxy().LoadFromMemory(
            [new Yarp.ReverseProxy.Configuration.RouteConfig { RouteId = "all", ClusterId = "backend", Match = new() { Path = "/{**rest}" } }],
            [new Yarp.ReverseProxy.Configuration.ClusterConfig
            {
                ClusterId = "backend",
                Destinations = new Dictionary<string, Yarp.ReverseProxy.Configuration.DestinationConfig> { ["primary"] = new() { Address = backend } },
                HttpRequest = h2c
                    ? new Yarp.ReverseProxy.Forwarder.ForwarderRequestConfig { Version = System.Net.HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact }
                    : null,
            }]);
        var app = builder.Build();
        app.MapReverseProxy();
        await app.StartAsync();
        return app;
    }

    public static Dictionary<string, string?> Embedded(string dataDir) => new()
    {
        ["Runtime:Mode"] = "embedded",
        ["DataDir"] = dataDir,
        ["Logging:Format"] = "text",
        ["Logging:LogLevel:Default"] = "Error",
    };

    public static async Task<WebApplication> StartGatewayAsync(string dataDir, string backend, IReadOnlyDictionary<string, string?> extra)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory, Args = [] });
        var config = Embedded(dataDir);
        foreach (var app in AppTopology.Services) config[$"ReverseProxy:Clusters:{app.AppId}:Destinations:primary:Address"] = backend;
        foreach (var (k, v) in extra) config[k] = v;
        builder.Configuration.AddInMemoryCollection(config);
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.AddServiceDefaults(AppTopology.Gateway);
        builder.AddGateway();
        var gateway = builder.Build();
        gateway.MapServiceDefaults();
        gateway.MapGateway();
        await gateway.StartAsync();
        return gateway;
    }

    public static async Task<WebApplication> StartServingAsync(string dataDir, Func<IServiceProvider, Task> seed)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory, Args = [] });
        var config = Embedded(dataDir);
        config["PubSub:Embedded:PollInterval"] = "00:00:00.020";
        builder.Configuration.AddInMemoryCollection(config);
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.AddServiceDefaults(AppTopology.Serving);
        builder.AddServing();
        var app = builder.Build();
        await seed(app.Services);
        app.MapServiceDefaults();
        app.MapServing();
        await app.StartAsync();
        return app;
    }

    public sealed record LoadResult(double RequestsPerSecond, LatencyRecorder Latency, long Failures, long Requests);

    /// <summary>N workers, each sending its next request when the previous one answered, for <paramref name="duration"/>.</summary>
    public static async Task<LoadResult> RunAsync(int connections, TimeSpan duration, Func<HttpRequestMessage> request,
        Func<HttpResponseMessage, Task<bool>>? check = null, System.Net.IPAddress? source = null, CancellationToken stop = default)
    {
        var handler = new SocketsHttpHandler { MaxConnectionsPerServer = connections, PooledConnectionLifetime = TimeSpan.FromMinutes(10) };
        if (source is not null)
            handler.ConnectCallback = async (context, ct) =>
            {
                var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream,
                    System.Net.Sockets.ProtocolType.Tcp)
                { NoDelay = true };
                socket.Bind(new System.Net.IPEndPoint(source, 0));
                await socket.ConnectAsync(context.DnsEndPoint, ct);
                return new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
            };
        using var client = new HttpClient(handler);
        // Warm-up: JIT, connections.
        var warm = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, connections).Select(async _ =>
        {
            while (warm.Elapsed < TimeSpan.FromSeconds(1)) using (var r = await client.SendAsync(request())) await r.Content.ReadAsByteArrayAsync();
        }));
        var samples = new List<long>[connections];
        long failures = 0;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, connections).Select(async i =>
        {
            var recorder = samples[i] = new List<long>(64 * 1024);
            while (clock.Elapsed < duration && !stop.IsCancellationRequested)
            {
                var start = Stopwatch.GetTimestamp();
                using var response = await client.SendAsync(request());
                var ok = check is null ? response.IsSuccessStatusCode && (await response.Content.ReadAsByteArrayAsync()).Length > 0 : await check(response);
                recorder.Add(Stopwatch.GetTimestamp() - start);
                if (!ok) Interlocked.Increment(ref failures);
            }
        }));
        var elapsed = clock.Elapsed.TotalSeconds;
        var all = new LatencyRecorder(samples.Sum(r => r.Count));
        foreach (var ticks in samples.SelectMany(r => r)) all.AddTicks(ticks);
        return new LoadResult(all.Count / elapsed, all, failures, all.Count);
    }
}
