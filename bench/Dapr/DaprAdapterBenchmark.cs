using System.Diagnostics;
using System.Globalization;
using System.Text;
using Dapr.Client.Autogen.Grpc.v1;
using Google.Protobuf;
using Grpc.Net.Client;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Platform.BuildingBlocks.Dapr;
using Platform.BuildingBlocks.PubSub;
using Platform.BuildingBlocks.State;
using Platform.Contracts;
using Platform.DaprSidecar.Testing;
using DaprGrpc = Dapr.Client.Autogen.Grpc.v1.Dapr;

namespace Platform.Bench.Dapr;

/// <summary>
/// What the Dapr adapter adds per call: state get, save and publish through the ports (DaprClient over gRPC) against the
/// faithful sidecar on loopback, next to the same requests sent with the bare generated gRPC stub of
/// <c>dapr.proto.runtime.v1.Dapr</c> on its own channel (the floor: loopback HTTP/2 + Kestrel + the sidecar's work).
/// The difference is the adapter's own cost (SDK and port); the real sidecar's cost (and the store's) comes on top.
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
    public string Description => "Dapr adapter overhead per call (state get/save, publish; DaprClient over gRPC) against the faithful sidecar on loopback";

    public async Task<string> RunAsync(BenchContext context, CancellationToken ct)
    {
        var iterations = context.Quick ? 2_000 : 20_000;
        var warmup = context.Quick ? 500 : 3_000;
        var options = new SidecarClusterOptions { ReserializeJson = false };
        await using var cluster = new SidecarCluster(options);
        var sidecar = await cluster.StartSidecarAsync(AppTopology.MarketData.AppId);

        var configuration = new ConfigurationBuilder().AddInMemoryCollection(sidecar.AppSettings()).Build();
        var services = new ServiceCollection();
        services.AddLogging(b => b.SetMinimumLevel(LogLevel.Warning));
        services.AddDaprRuntime(AppTopology.MarketData.AppId, configuration);
        await using var provider = services.BuildServiceProvider();
        var store = provider.GetRequiredService<IStateStoreProvider>().Get(Components.StateStore);
        var publisher = provider.GetRequiredService<IEventPublisher>();
        await store.SaveAsync("k", Value, null, ct);

        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{sidecar.GrpcPort.ToString(CultureInfo.InvariantCulture)}");
        var raw = new DaprGrpc.DaprClient(channel);
        var value = ByteString.CopyFrom(Value);
        var bar = new OutgoingEvent(Topics.MarketBars, "bar:AAPL:1m:2024-01-02T14:30:00.0000000Z", "BarClosed", Value, "AAPL");

        var cases = new (string Name, Func<Task> Raw, Func<Task> Adapter)[]
        {
            ("state get",
                async () => _ = await raw.GetStateAsync(new GetStateRequest { StoreName = Components.StateStore, Key = "k" }, cancellationToken: ct),
                async () => _ = await store.GetAsync("k", ct)),
            ("state save",
                async () =>
                {
                    var request = new SaveStateRequest { StoreName = Components.StateStore };
                    request.States.Add(new global::Dapr.Client.Autogen.Grpc.v1.StateItem { Key = "k", Value = value });
                    await raw.SaveStateAsync(request, cancellationToken: ct);
                },
                async () => _ = await store.SaveAsync("k", Value, null, ct)),
            ("publish",
                async () =>
                {
                    var request = new PublishEventRequest
                    {
                        PubsubName = "pubsub", Topic = Topics.MarketBars, Data = value, DataContentType = "application/json",
                    };
                    request.Metadata.Add(DaprEventPublisher.Metadata(bar));
                    await raw.PublishEventAsync(request, cancellationToken: ct);
                },
                () => publisher.PublishAsync(bar, ct)),
        };

        context.Line($"iterations per case: {iterations} (after {warmup} warm-up), sequential, bare and adapter calls interleaved");
        context.Line($"{"case",-12} {"bare gRPC stub",-44} {"through the adapter",-44} overhead p50/p99");
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
        cluster.AssertNoViolations();
        return $"dapr-adapter: {getP50:F0} us p50 state get incl. loopback gRPC, adapter's own share {getOverhead:F0} us " +
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
}
