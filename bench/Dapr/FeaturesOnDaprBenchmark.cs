using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Platform.Bench.Features;
using Platform.BuildingBlocks.Dapr;
using Platform.BuildingBlocks.PubSub;
using Platform.Contracts;
using Platform.DaprSidecar.Testing;
using Platform.Features;
using Platform.Features.Pipeline;
using Platform.OfflineStore;
using Platform.OfflineStore.Sqlite;
using Platform.Quant;

namespace Platform.Bench.Dapr;

/// <summary>
/// The features service in the deployed shape's mode (<c>Runtime:Mode=dapr</c>, Kestrel): <c>BarClosed</c> published by a
/// marketdata app through its own faithful sidecar, delivered to the features service by the features app's sidecar, its
/// featurestore vectors and checkpoints kept in that sidecar's state store (bars and feature history in SQLite, as the
/// embedded default keeps them). Measures bars/s stored end to end with bulk subscribe as configured (100 events per
/// delivery, 20 ms to fill one) against the same bars delivered one per request (<c>maxMessagesCount</c> 1), in the same
/// run, each after a warm-up pass under other symbols. The sidecar is the test double, not daprd: its own costs (an
/// in-memory broker and store, JSON re-serialized as PostgreSQL's jsonb does) stand in for daprd's, Kafka's and
/// PostgreSQL's, so the figures compare the two delivery shapes rather than predict a cluster's rate.
/// </summary>
public sealed class FeaturesOnDaprBenchmark : IBenchmark
{
    private const int Symbols = 100;

    public string Name => "features-dapr";
    public string Description => "BarClosed to stored features under sidecars (faithful double): bulk subscribe vs one event per delivery, bars/s";

    public async Task<string> RunAsync(BenchContext context, CancellationToken ct)
    {
        var bars = context.Quick ? 10 : 40;
        var bulk = await MeasureAsync(context, "bulk", maxMessages: 100, bars, ct);
        var single = await MeasureAsync(context, "one", maxMessages: 1, bars, ct);
        context.Line($"load average {FeaturesStreamingBenchmark.LoadAverage()}");
        return $"{Name}: {bulk:F0} bars/s end to end with bulk subscribe ({bulk / single:F2} x one event per delivery, {single:F0} bars/s)";
    }

    private static async Task<double> MeasureAsync(BenchContext context, string label, int maxMessages, int barsPerSymbol, CancellationToken ct)
    {
        var dataDir = Path.Combine(context.WorkDir, label);
        var warmupNames = Enumerable.Range(0, Symbols).Select(i => $"W{i:D3}").ToArray();
        var names = Enumerable.Range(0, Symbols).Select(i => $"S{i:D3}").ToArray();
        var histories = names.Select((_, i) => BenchBars.Generate(barsPerSymbol, seed: 900 + (ulong)i)).ToArray();
        var store = SqliteBarStore.InDataDir(dataDir);
        await store.InitializeAsync(ct);
        for (var s = 0; s < Symbols; s++)
            foreach (var symbol in new[] { names[s], warmupNames[s] })
                await store.WriteAsync(new BarWrite(histories[s].Select(b => new SymbolBar(symbol, BarInterval.OneDay, b)).ToList()), ct);

        var processed = 0L;
        var batches = 0L;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == FeatureMetrics.MeterName && instrument.Name is "features.bars.processed" or "features.batch.stage.duration")
                l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref processed, value));
        listener.SetMeasurementEventCallback<double>((_, _, tags, _) =>
        {
            foreach (var tag in tags)
                if (tag is { Key: "stage", Value: FeatureMetrics.Stage.Checkpoint }) Interlocked.Increment(ref batches);
        });
        listener.Start();

        await using var features = await DaprServiceHost.StartAsync(FeaturesService.Module, "embedded", new Dictionary<string, string?>
        {
            ["DataDir"] = dataDir,
            ["Dapr:BulkSubscribe:MaxMessages"] = maxMessages.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        var sets = features.Host.Services.GetRequiredService<Platform.Features.Sets.FeatureSetCatalog>().Computed.Count;
        var marketData = await features.Cluster.StartSidecarAsync(AppTopology.MarketData.AppId);
        var services = new ServiceCollection();
        services.AddLogging(b => b.SetMinimumLevel(LogLevel.Warning));
        services.AddDaprRuntime(AppTopology.MarketData.AppId, new ConfigurationBuilder().AddInMemoryCollection(marketData.AppSettings()).Build());
        await using var provider = services.BuildServiceProvider();
        var publisher = provider.GetRequiredService<IEventPublisher>();

        async Task<(double Rate, double Cpu, long Batches)> PassAsync(string[] symbols)
        {
            var events = Enumerable.Range(0, barsPerSymbol)
                .SelectMany(i => symbols.Select((name, s) => EventPublisherExtensions.ToOutgoing(FeaturesEndToEndBenchmark.Event(name, histories[s][i]))))
                .ToList();
            Interlocked.Exchange(ref processed, 0);
            Interlocked.Exchange(ref batches, 0);
            var cpu0 = FeaturesStreamingBenchmark.CpuSeconds();
            var watch = Stopwatch.StartNew();
            // One bulk publish per round of bars (one bar of every symbol), in time order.
            foreach (var chunk in events.Chunk(Symbols)) await publisher.PublishManyAsync(chunk, ct);
            var expected = (long)events.Count * sets;
            await FeaturesEndToEndBenchmark.WaitAsync(() => Interlocked.Read(ref processed) >= expected, TimeSpan.FromMinutes(10), ct);
            return (events.Count / watch.Elapsed.TotalSeconds, FeaturesStreamingBenchmark.CpuSeconds() - cpu0, Interlocked.Read(ref batches));
        }

        var warm = await PassAsync(warmupNames);
        var (rate, cpu, count) = await PassAsync(names);
        var delivered = Symbols * barsPerSymbol;
        context.Line($"{label} (maxMessagesCount {maxMessages}): warm-up {warm.Rate:N0} bars/s; measured {delivered:N0} bars ({Symbols} symbols x {barsPerSymbol}): " +
                     $"{rate:N0} bars/s end to end, {cpu:F1} s CPU ({delivered / cpu:N0} bars per CPU-second, sidecars included), " +
                     $"{count:N0} batches ({(double)delivered / Math.Max(1, count):F1} bars each)");
        features.Cluster.AssertNoViolations();
        return rate;
    }
}
