using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Platform.BuildingBlocks.Dapr;
using Platform.BuildingBlocks.PubSub;
using Platform.BuildingBlocks.State;
using Platform.Contracts;

namespace Platform.Bench.Dapr;

/// <summary>
/// What the Dapr adapter adds per call: state get, save and publish through the ports against a minimal fake sidecar
/// on loopback, next to the same requests sent with a bare HttpClient (the floor: loopback HTTP/1.1 + Kestrel).
/// The difference is the adapter's own cost; the sidecar's cost (and the store's) comes on top in production.
/// </summary>
public sealed class DaprAdapterBenchmark : IBenchmark
{
    /// <summary>
    /// Dapr's published data-plane figure (docs.dapr.io, service invocation performance, v1.0): two sidecars add about
    /// 1.40 ms at p90 end to end, so roughly 700 us per sidecar hop.
    /// </summary>
    private const double PublishedSidecarHopMicros = 700;

    private static readonly byte[] Value = Encoding.UTF8.GetBytes("""{"symbol":"AAPL","window":20,"values":[1.5,2.5,3.5,4.5]}""");

    public string Name => "dapr-adapter";
    public string Description => "Dapr adapter overhead per call (state get/save, publish) against an in-process fake sidecar on loopback";

    public async Task<string> RunAsync(BenchContext context, CancellationToken ct)
    {
        var iterations = context.Quick ? 2_000 : 20_000;
        var warmup = context.Quick ? 500 : 3_000;
        await using var sidecar = await MinimalSidecar.StartAsync();

        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["DAPR_HTTP_PORT"] = sidecar.Port.ToString(CultureInfo.InvariantCulture),
        }).Build();
        var services = new ServiceCollection();
        services.AddLogging(b => b.SetMinimumLevel(LogLevel.Warning));
        services.AddDaprRuntime(AppTopology.MarketData.AppId, configuration);
        await using var provider = services.BuildServiceProvider();
        var store = provider.GetRequiredService<IStateStoreProvider>().Get(Components.StateStore);
        var publisher = provider.GetRequiredService<IEventPublisher>();

        using var raw = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = new Uri($"http://127.0.0.1:{sidecar.Port}/") };
        var saveBody = Encoding.UTF8.GetBytes("[{\"key\":\"k\",\"value\":" + Encoding.UTF8.GetString(Value) + "}]");
        var bar = new OutgoingEvent(Topics.MarketBars, "bar:AAPL:1m:2024-01-02T14:30:00.0000000Z", "BarClosed", Value, "AAPL");

        var cases = new (string Name, Func<Task> Raw, Func<Task> Adapter)[]
        {
            ("state get", async () =>
                {
                    using var r = await raw.GetAsync("v1.0/state/statestore/k", ct);
                    await r.Content.ReadAsByteArrayAsync(ct);
                },
                async () => _ = await store.GetAsync("k", ct)),
            ("state save", async () =>
                {
                    using var content = new ByteArrayContent(saveBody);
                    content.Headers.ContentType = new("application/json");
                    using var r = await raw.PostAsync("v1.0/state/statestore", content, ct);
                },
                async () => _ = await store.SaveAsync("k", Value, null, ct)),
            ("publish", async () =>
                {
                    using var content = new ByteArrayContent(Value);
                    content.Headers.ContentType = new("application/json");
                    using var r = await raw.PostAsync("v1.0/publish/pubsub/market-bars?metadata.cloudevent.id=x&metadata.cloudevent.type=BarClosed&metadata.partitionKey=AAPL", content, ct);
                },
                () => publisher.PublishAsync(bar, ct)),
        };

        context.Line($"iterations per case: {iterations} (after {warmup} warm-up), sequential, bare and adapter calls interleaved");
        context.Line($"{"case",-12} {"bare HttpClient",-44} {"through the adapter",-44} overhead p50/p99");
        double getP50 = 0, getOverhead = 0;
        foreach (var (name, rawCall, adapterCall) in cases)
        {
            var (floor, adapter) = await MeasureAsync(rawCall, adapterCall, warmup, iterations);
            var overhead50 = adapter.Percentile(50) - floor.Percentile(50);
            var overhead99 = adapter.Percentile(99) - floor.Percentile(99);
            context.Line($"{name,-12} {floor.Summary(),-44} {adapter.Summary(),-44} {overhead50:F1} / {overhead99:F1} us");
            if (name == "state get")
            {
                getP50 = adapter.Percentile(50);
                getOverhead = overhead50;
            }
        }
        if (sidecar.Unexpected > 0) throw new InvalidOperationException($"The bench sidecar saw {sidecar.Unexpected} unexpected requests.");
        return $"dapr-adapter: {getP50:F0} us p50 state get incl. loopback HTTP, adapter's own share {getOverhead:F0} us " +
               $"({getP50 / PublishedSidecarHopMicros:P0} of ~{PublishedSidecarHopMicros:F0} us, Dapr's published per-sidecar overhead)";
    }

    /// <summary>Alternates the two calls so both see the same background load (the machine may be busy).</summary>
    private static async Task<(LatencyRecorder Floor, LatencyRecorder Adapter)> MeasureAsync(Func<Task> raw, Func<Task> adapter, int warmup, int iterations)
    {
        for (var i = 0; i < warmup; i++)
        {
            await raw();
            await adapter();
        }
        var floor = new LatencyRecorder(iterations);
        var through = new LatencyRecorder(iterations);
        for (var i = 0; i < iterations; i++)
        {
            var start = Stopwatch.GetTimestamp();
            await raw();
            var middle = Stopwatch.GetTimestamp();
            await adapter();
            var end = Stopwatch.GetTimestamp();
            floor.AddTicks(middle - start);
            through.AddTicks(end - middle);
        }
        return (floor, through);
    }

    /// <summary>Answers the three calls as daprd documents them (§2.3 200 + ETag, §2.1 204, §3.1 204) and nothing else.</summary>
    private sealed class MinimalSidecar : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private int _unexpected;

        private MinimalSidecar(WebApplication app, int port)
        {
            _app = app;
            Port = port;
        }

        public int Port { get; }
        public int Unexpected => _unexpected;

        public static async Task<MinimalSidecar> StartAsync()
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            var app = builder.Build();
            MinimalSidecar? self = null;
            app.Run(async context =>
            {
                var path = context.Request.Path.Value;
                await context.Request.Body.CopyToAsync(Stream.Null);
                if (context.Request.Method == "GET" && path == "/v1.0/state/statestore/k")
                {
                    context.Response.Headers.ETag = "7";
                    context.Response.ContentType = "application/json";
                    await context.Response.Body.WriteAsync(Value);
                }
                else if (context.Request.Method == "POST" && (path == "/v1.0/state/statestore" || path == "/v1.0/publish/pubsub/market-bars"))
                {
                    context.Response.StatusCode = StatusCodes.Status204NoContent;
                }
                else
                {
                    Interlocked.Increment(ref self!._unexpected);
                    context.Response.StatusCode = StatusCodes.Status404NotFound;
                }
            });
            await app.StartAsync();
            var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
            self = new MinimalSidecar(app, new Uri(address).Port);
            return self;
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
