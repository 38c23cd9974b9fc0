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
using Platform.Gateway.Identity;
using Platform.ServiceDefaults;
using Platform.Serving;
using Platform.TestSupport;

namespace Platform.Bench.Gateway;

/// <summary>
/// Starts the real apps on 127.0.0.1:0 for the HTTP benchmarks, and a simple closed-loop load generator. Every host's content
/// root is the binaries' folder: a host watches its content root's whole tree, and run from /tmp that is thousands of
/// directories whose every write (the benchmarks' own SQLite files) it would be woken for.
/// </summary>
internal static class BenchApps
{
    public static string Address(WebApplication app) =>
        app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();

    /// <summary>A backend answering every path with a small JSON body: HTTP/1.1 on its first address, cleartext HTTP/2 on its second.</summary>
    public static async Task<WebApplication> StartBackendAsync()
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
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
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
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

    /// <summary>A server in its own process, child of this one: its address and the CPU time it spends.</summary>
    public abstract class ServerProcess(Process process) : IDisposable
    {
        protected Process Process { get; } = process;
        public abstract string Url { get; }

        public TimeSpan CpuTime()
        {
            Process.Refresh();
            return Process.TotalProcessorTime;
        }

        /// <summary>The process's resident memory now.</summary>
        public long WorkingSet()
        {
            Process.Refresh();
            return Process.WorkingSet64;
        }

        /// <summary>
        /// CPU time of the runtime's tiered-compilation thread, which recompiles hot methods with full optimisation for
        /// many seconds after a cold start (Linux: <c>/proc/{pid}/task/*/stat</c>, user and system ticks at 100 Hz).
        /// </summary>
        public TimeSpan CompilerCpuTime()
        {
            long ticks = 0;
            foreach (var task in Directory.GetDirectories($"/proc/{Process.Id}/task"))
            {
                var stat = ReadOrEmpty(Path.Combine(task, "stat"));
                var name = stat.IndexOf('(', StringComparison.Ordinal);
                var end = stat.LastIndexOf(')');
                if (name < 0 || end < name || !stat[(name + 1)..end].StartsWith(".NET Tiered", StringComparison.Ordinal)) continue;
                var fields = stat[(end + 2)..].Split(' ');
                ticks += long.Parse(fields[11], System.Globalization.CultureInfo.InvariantCulture) + long.Parse(fields[12], System.Globalization.CultureInfo.InvariantCulture);
            }
            return TimeSpan.FromSeconds(ticks / 100.0);
        }

        public virtual void Dispose() => Process.Dispose();
    }

    /// <summary>A service as its own process, started from its real entry point (<see cref="ServiceChildProcess"/>).</summary>
    public class ServiceProcess(ServiceChildProcess child) : ServerProcess(Process.GetProcessById(child.ProcessId))
    {
        public override string Url { get; } = child.BaseAddress!.ToString().TrimEnd('/');

        /// <summary>Starts <c>Platform.{service}.dll</c> on <paramref name="dataDir"/> with <paramref name="settings"/>.</summary>
        public static async Task<ServiceProcess> StartAsync(string service, string dataDir, IReadOnlyDictionary<string, string> settings)
        {
            var child = await ServiceChildProcess.StartAsync(service, dataDir, settings, TimeSpan.FromSeconds(60));
            try
            {
                return new ServiceProcess(child);
            }
            catch
            {
                child.Dispose();
                throw;
            }
        }

        public override void Dispose()
        {
            child.Dispose();
            base.Dispose();
        }
    }

    /// <summary>The gateway as its own process (its real entry point) and its key.</summary>
    public sealed class GatewayProcess(ServiceChildProcess child, string key) : ServiceProcess(child)
    {
        public string Key { get; } = key;
    }

    /// <summary>
    /// The plain YARP proxy as its own process (this benchmark's executable, <c>plain-proxy BACKEND h2c|http1</c>), as the
    /// gateway runs in its own: both then pay the same process hop and neither shares a thread pool with the load.
    /// It prints its address on its first line and stops when its standard input closes.
    /// </summary>
    public sealed class PlainProxyProcess : ServerProcess
    {
        private PlainProxyProcess(Process process, string url) : base(process) => Url = url;

        public override string Url { get; }

        public static async Task<PlainProxyProcess> StartAsync(string backend, bool h2c, CancellationToken ct)
        {
            var start = new ProcessStartInfo(Environment.ProcessPath!)
            {
                RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false,
            };
            foreach (var arg in new[] { typeof(BenchApps).Assembly.Location, PlainProxyVerb, backend, h2c ? "h2c" : "http1" }) start.ArgumentList.Add(arg);
            var process = Process.Start(start) ?? throw new InvalidOperationException("The plain proxy process did not start.");
            try
            {
                using var bound = CancellationTokenSource.CreateLinkedTokenSource(ct);
                bound.CancelAfter(TimeSpan.FromSeconds(60));
                var url = await process.StandardOutput.ReadLineAsync(bound.Token)
                    ?? throw new InvalidOperationException($"The plain proxy process exited ({(process.HasExited ? process.ExitCode : -1)}) before it listened.");
                return new PlainProxyProcess(process, url.Trim());
            }
            catch
            {
                process.Kill(entireProcessTree: true);
                process.Dispose();
                throw;
            }
        }

        public override void Dispose()
        {
            Process.StandardInput.Close();
            if (!Process.WaitForExit(TimeSpan.FromSeconds(10))) Process.Kill(entireProcessTree: true);
            base.Dispose();
        }
    }

    /// <summary>The verb that runs this executable as <see cref="PlainProxyProcess"/>.</summary>
    public const string PlainProxyVerb = "plain-proxy";

    /// <summary>Runs a plain proxy until standard input closes, its address on the first line of standard output.</summary>
    public static async Task<int> ServePlainProxyAsync(string backend, bool h2c)
    {
        await using var app = await StartPlainProxyAsync(backend, h2c);
        Console.Out.WriteLine(Address(app));
        await Console.Out.FlushAsync();
        while (await Console.In.ReadLineAsync() is not null) { }
        await app.StopAsync();
        return 0;
    }

    /// <summary>
    /// Starts the gateway process on the embedded runtime with every cluster pointed at <paramref name="backend"/>, logging at
    /// Warning as in production and <c>./platform run</c>, and a key (scope market:read) of a tier too large to limit the load;
    /// <paramref name="extra"/> settings (configuration keys or environment variables) go over those.
    /// </summary>
    public static async Task<GatewayProcess> StartGatewayProcessAsync(string dataDir, string backend, string transport, CancellationToken ct,
        IReadOnlyDictionary<string, string>? extra = null)
    {
        var settings = new Dictionary<string, string>
        {
            ["Gateway:BackendProtocol"] = transport,
            ["Gateway:RateLimits:Tiers:bench:Capacity"] = "100000000",
            ["Gateway:RateLimits:Tiers:bench:TokensPerPeriod"] = "100000000",
            ["Gateway:RateLimits:Tiers:bench:Period"] = "00:00:01",
            ["Logging:LogLevel:Default"] = "Warning",
        };
        foreach (var app in AppTopology.Services) settings[$"ReverseProxy:Clusters:{app.AppId}:Destinations:primary:Address"] = backend;
        foreach (var (k, v) in extra ?? new Dictionary<string, string>()) settings[k] = v;
        string key;
        await using (var store = OfflineKeyStore.Open(dataDir, settings.ToDictionary(s => s.Key, s => (string?)s.Value)))
            key = (await store.Keys.CreateAsync("bench", "bench", [Scopes.MarketRead], null, ct)).Token;
        var child = await ServiceChildProcess.StartAsync("Gateway", dataDir, settings, TimeSpan.FromSeconds(60));
        try
        {
            return new GatewayProcess(child, key);
        }
        catch
        {
            child.Dispose();
            throw;
        }
    }

    /// <summary>Several phases of one kind as one: their requests over their time, their samples, CPU per request weighted by requests.</summary>
    public static LoadResult Merge(IReadOnlyList<LoadResult> phases)
    {
        var latency = new LatencyRecorder(phases.Sum(p => p.Latency.Count));
        foreach (var p in phases) latency.AddAll(p.Latency);
        var requests = phases.Sum(p => p.Requests);
        var seconds = phases.Sum(p => p.Requests / p.RequestsPerSecond);
        TimeSpan PerRequest(Func<LoadResult, TimeSpan> of) => requests == 0 ? TimeSpan.Zero : phases.Aggregate(TimeSpan.Zero, (sum, p) => sum + of(p) * p.Requests) / requests;
        return new LoadResult(requests / seconds, latency, phases.Sum(p => p.Failures), requests, PerRequest(p => p.CpuPerRequest), PerRequest(p => p.ServerCpuPerRequest));
    }

    /// <summary>The middle value (the mean of the two middle ones for an even count): what a round's ratio is summed up by.</summary>
    public static double Median(List<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    /// <summary>The lowest and highest of the rounds' values, as printed next to a median.</summary>
    public static string Range(List<double> values) => $"{values.Min():F2} to {values.Max():F2}";

    /// <summary>
    /// Load until the server's tiered-compilation thread spent under 1 % of a 2 s round (at most 60 s): a process started
    /// cold otherwise spends a third of its CPU recompiling hot methods for tens of seconds on this machine, which a
    /// service running for hours does not.
    /// </summary>
    public static async Task<(TimeSpan Elapsed, bool Compiled)> WarmUpAsync(ServerProcess server, Func<Task<LoadResult>> round)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(60))
        {
            var before = server.CompilerCpuTime();
            var start = clock.Elapsed;
            await round();
            if (server.CompilerCpuTime() - before < (clock.Elapsed - start) / 100) return (clock.Elapsed, true);
        }
        return (clock.Elapsed, false);
    }

    /// <summary>One line of a phase's figures: req/s, latency, CPU per request (this process's and the server's), failures.</summary>
    public static string Figures(LoadResult result) =>
        $"{result.RequestsPerSecond,9:N0} req/s  {result.Latency.Summary("ms")}  CPU {result.CpuPerRequest.TotalMicroseconds,6:F1} us/request  failures {result.Failures}";

    /// <summary>A file under /proc, or empty when its thread or process ended while the list was read.</summary>
    private static string ReadOrEmpty(string path)
    {
        try { return File.ReadAllText(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return ""; }
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

    /// <summary>
    /// A phase's figures; <see cref="CpuPerRequest"/> is this process's CPU time, plus the server's when it has its own, per request;
    /// <see cref="ServerCpuPerRequest"/> the server's alone (zero when it runs in this process).
    /// </summary>
    public sealed record LoadResult(double RequestsPerSecond, LatencyRecorder Latency, long Failures, long Requests, TimeSpan CpuPerRequest,
        TimeSpan ServerCpuPerRequest = default);

    /// <summary>
    /// N workers, each sending its next request when the previous one answered, for <paramref name="duration"/>.
    /// <paramref name="serverCpu"/> reads the CPU time of a server in another process, counted with this process's.
    /// </summary>
    public static async Task<LoadResult> RunAsync(int connections, TimeSpan duration, Func<HttpRequestMessage> request,
        Func<HttpResponseMessage, Task<bool>>? check = null, System.Net.IPAddress? source = null, CancellationToken stop = default,
        Func<TimeSpan>? serverCpu = null, TimeSpan? warmUp = null)
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
        var warmFor = warmUp ?? TimeSpan.FromSeconds(1);
        await Task.WhenAll(Enumerable.Range(0, connections).Select(async _ =>
        {
            while (warm.Elapsed < warmFor) using (var r = await client.SendAsync(request())) await r.Content.ReadAsByteArrayAsync();
        }));
        var samples = new List<long>[connections];
        long failures = 0;
        using var self = Process.GetCurrentProcess();
        var selfBefore = self.TotalProcessorTime;
        var serverBefore = serverCpu?.Invoke() ?? TimeSpan.Zero;
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
        self.Refresh();
        var server = (serverCpu?.Invoke() ?? TimeSpan.Zero) - serverBefore;
        var cpu = self.TotalProcessorTime - selfBefore + server;
        var all = new LatencyRecorder(samples.Sum(r => r.Count));
        foreach (var ticks in samples.SelectMany(r => r)) all.AddTicks(ticks);
        return new LoadResult(all.Count / elapsed, all, failures, all.Count, all.Count == 0 ? TimeSpan.Zero : cpu / all.Count,
            all.Count == 0 ? TimeSpan.Zero : server / all.Count);
    }
}
