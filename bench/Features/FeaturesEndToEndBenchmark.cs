using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Platform.BuildingBlocks.Embedded;
using Platform.BuildingBlocks.PubSub;
using Platform.Contracts;
using Platform.Features;
using Platform.Features.History;
using Platform.Features.Pipeline;
using Platform.Features.Sets;
using Platform.OfflineStore;
using Platform.OfflineStore.Sqlite;
using Platform.Quant;
using Platform.Quant.Features;
using Platform.ServiceDefaults;

namespace Platform.Bench.Features;

/// <summary>
/// The features service as it runs embedded (Kestrel, SQLite state, pub/sub log and feature history), fed as marketdata
/// feeds it: bars stored in the offline store first, then one <c>BarClosed</c> each on <c>market-bars</c>. Measures the rate
/// at which bars of 100 symbols are turned into stored features (history rows, featurestore vectors, checkpoints, every
/// configured set), then the latency from publish to stored at a steady 1,000 bars/s. The reference, measured in the same
/// run, is the calculators alone on the same bars (one thread, no storage). A warm-up pass first runs the same bars
/// under other symbol names through the same process, then those symbols' later bars in small batches (so code that
/// runs once per batch has run often enough to be optimised too), so the measured pass sees code the JIT has already
/// optimised (as in a service that has been running for a while) and starts every measured stream cold from its first
/// event; the warm-up pass's own rate (a cold process) is printed too.
/// </summary>
public sealed class FeaturesEndToEndBenchmark : IBenchmark
{
    private const int Symbols = 100;
    private const double TargetBarsPerSecond = 20_000;
    private const int Rate = 1000;
    /// <summary>Bars per batch after the warm-up: enough for a batch's series to go side by side, as the measured pass's do.</summary>
    private const int SettleBatchBars = 128;

    public string Name => "features-e2e";
    public string Description => "BarClosed for 100 symbols to stored features: bars/s end to end, and publish-to-stored p50/p99 at 1,000 bars/s";

    public async Task<string> RunAsync(BenchContext context, CancellationToken ct)
    {
        var throughputBars = context.Quick ? 60 : 300;
        var latencySeconds = context.Quick ? 3 : 10;
        var latencyBars = Rate * latencySeconds / Symbols;
        var dataDir = Path.Combine(context.WorkDir, "data");
        var names = Enumerable.Range(0, Symbols).Select(i => $"S{i:D3}").ToArray();
        var warmupNames = Enumerable.Range(0, Symbols).Select(i => $"W{i:D3}").ToArray();
        var histories = names.Select((_, i) => BenchBars.Generate(throughputBars + latencyBars, seed: 500 + (ulong)i)).ToArray();

        // Marketdata's part: every bar is in the offline store before its event is published.
        var store = SqliteBarStore.InDataDir(dataDir);
        await store.InitializeAsync(ct);
        for (var s = 0; s < Symbols; s++)
        {
            await store.WriteAsync(new BarWrite(histories[s].Select(b => new SymbolBar(names[s], BarInterval.OneDay, b)).ToList()), ct);
            await store.WriteAsync(new BarWrite(histories[s].Select(b => new SymbolBar(warmupNames[s], BarInterval.OneDay, b)).ToList()), ct);
        }

        // No watching of the content root (the working directory) for configuration changes: run from a directory that holds
        // the data directory, the watcher would wake on every SQLite write and charge the kernel's notifications to the service.
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = ["--hostBuilder:reloadConfigOnChange=false"] });
        builder.Configuration["Runtime:Mode"] = "embedded";
        builder.Configuration["DataDir"] = dataDir;
        builder.Configuration["Logging:LogLevel:Default"] = "Warning";
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.AddServiceDefaults(AppTopology.Features);
        builder.AddFeatures();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        await using var app = builder.Build();
        app.MapServiceDefaults();
        app.MapFeatures();
        await app.StartAsync(ct);
        var sets = app.Services.GetRequiredService<FeatureSetCatalog>().Computed;
        var metrics = app.Services.GetRequiredService<FeatureMetrics>();
        IEventPublisher publisher = new EmbeddedEventPublisher(Platform.BuildingBlocks.Embedded.EventLog.For(EmbeddedRuntimeExtensions.EventLogFile(dataDir)),
            AppTopology.MarketData.AppId, new PubSubOptions());

        // Processed is counted once a bar's effects (history, featurestore, checkpoint) are committed for a set.
        var stored = 0L;
        var storedAt = new long[throughputBars * Symbols + latencyBars * Symbols];
        using var listener = new MeterListener();
        var stages = new StageTimes();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == FeatureMetrics.MeterName && instrument.Name is "features.bars.processed" or "features.batch.stage.duration")
                l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<double>((_, seconds, tags, _) => stages.Add(tags, seconds));
        listener.SetMeasurementEventCallback<long>((_, value, _, _) =>
        {
            var now = Stopwatch.GetTimestamp();
            var before = Interlocked.Add(ref stored, value) - value;
            for (var n = before; n < before + value; n++)
                if ((n + 1) % sets.Count == 0) storedAt[(n + 1) / sets.Count - 1] = now;
        });
        listener.Start();

        // Throughput: every symbol's bars in time order, published in chunks as a relay would.
        List<OutgoingEvent> Throughput(string[] symbols) => Enumerable.Range(0, throughputBars)
            .SelectMany(i => symbols.Select((name, s) => EventPublisherExtensions.ToOutgoing(Event(name, histories[s][i]))))
            .ToList();
        var events = Throughput(names);

        // Warm-up: the same bars under other names, then a pause for the JIT's background compilation to catch up.
        var warmup = Throughput(warmupNames);
        var warmupWatch = Stopwatch.StartNew();
        foreach (var chunk in warmup.Chunk(1000)) await publisher.PublishManyAsync(chunk, ct);
        await WaitAsync(() => Interlocked.Read(ref stored) >= (long)warmup.Count * sets.Count, TimeSpan.FromMinutes(30), ct);
        var warmupRate = warmup.Count / warmupWatch.Elapsed.TotalSeconds;
        // The warm-up's batches are few (one per thousand bars): code that runs once per batch has been called about as
        // often as the JIT's tiering needs before it optimises, and would be compiled again during the measured pass. The
        // warm-up symbols' later bars follow in small batches, each stored before the next is published, until such code
        // has run a hundred times or so.
        var settled = (long)warmup.Count * sets.Count;
        foreach (var chunk in Enumerable.Range(throughputBars, latencyBars)
                     .SelectMany(i => warmupNames.Select((name, s) => EventPublisherExtensions.ToOutgoing(Event(name, histories[s][i]))))
                     .Chunk(SettleBatchBars))
        {
            await publisher.PublishManyAsync(chunk, ct);
            settled += (long)chunk.Length * sets.Count;
            await WaitAsync(() => Interlocked.Read(ref stored) >= settled, TimeSpan.FromMinutes(30), ct);
        }
        await Task.Delay(TimeSpan.FromSeconds(2), ct);
        Interlocked.Exchange(ref stored, 0);
        var cpu0 = FeaturesStreamingBenchmark.CpuSeconds();
        var gcPause0 = GC.GetTotalPauseDuration();
        var (gen0, gen1, gen2) = (GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2));
        stages.Reset();
        var sw = Stopwatch.StartNew();
        foreach (var chunk in events.Chunk(1000)) await publisher.PublishManyAsync(chunk, ct);
        var publishedIn = sw.Elapsed;
        var expected = (long)events.Count * sets.Count;
        await WaitAsync(() => Interlocked.Read(ref stored) >= expected, TimeSpan.FromMinutes(30), ct);
        var elapsed = sw.Elapsed;
        var cpu = FeaturesStreamingBenchmark.CpuSeconds() - cpu0;
        var gcPause = GC.GetTotalPauseDuration() - gcPause0;
        var collections = $"{GC.CollectionCount(0) - gen0}/{GC.CollectionCount(1) - gen1}/{GC.CollectionCount(2) - gen2}";
        var rate = events.Count / elapsed.TotalSeconds;
        var coverage = await app.Services.GetRequiredService<IFeatureHistory>().GetCoverageAsync(ct: ct);
        var rows = coverage.Where(c => names.Contains(c.Symbol)).Sum(c => c.Count);
        context.Line($"load average {FeaturesStreamingBenchmark.LoadAverage()}; sets {string.Join(", ", sets.Select(s => s.Id))}");
        context.Line($"warm-up (cold process, other symbols, same bars): {warmupRate:N0} bars/s end to end");
        context.Line($"throughput: {events.Count:N0} bars ({Symbols} symbols x {throughputBars}) published in {publishedIn.TotalSeconds:F2} s, " +
                     $"all stored after {elapsed.TotalSeconds:F2} s: {rate:N0} bars/s end to end ({cpu:F1} s CPU, {events.Count / cpu:N0} bars per CPU-second); " +
                     $"{rows:N0} history rows (expected {expected:N0}); GC paused {gcPause.TotalMilliseconds:F0} ms ({collections} gen0/1/2 collections)");
        context.Line($"throughput, where the time goes: {stages.Summary(elapsed, events.Count)}");

        // The reference: the same bars through the calculators alone, one thread.
        var calcWatch = Stopwatch.StartNew();
        foreach (var history in histories)
            foreach (var set in sets)
            {
                var calculator = FeatureSets.CreateCalculator(set.Id);
                var values = new double[set.Count];
                for (var i = 0; i < throughputBars; i++) calculator.Update(history[i], values);
            }
        var calcRate = events.Count / calcWatch.Elapsed.TotalSeconds;
        context.Line($"reference: the calculators alone on the same bars, one thread: {calcRate:N0} bars/s (end to end is {rate / calcRate:F3} of it)");

        // Latency: one bar per millisecond, symbols in turn, each stamped when published.
        var first = throughputBars * Symbols;
        var publishedAt = new long[latencyBars * Symbols];
        stages.Reset();
        var start = Stopwatch.GetTimestamp();
        for (var k = 0; k < publishedAt.Length; k++)
        {
            var due = start + (long)(k * (double)Stopwatch.Frequency / Rate);
            while (Stopwatch.GetTimestamp() < due)
            {
                var waitMs = (due - Stopwatch.GetTimestamp()) * 1000.0 / Stopwatch.Frequency;
                if (waitMs > 2) await Task.Delay(1, ct); else Thread.SpinWait(50);
            }
            var s = k % Symbols;
            publishedAt[k] = Stopwatch.GetTimestamp();
            await publisher.PublishAsync(EventPublisherExtensions.ToOutgoing(Event(names[s], histories[s][throughputBars + k / Symbols])), ct);
        }
        var total = (long)(first + publishedAt.Length) * sets.Count;
        await WaitAsync(() => Interlocked.Read(ref stored) >= total, TimeSpan.FromMinutes(30), ct);
        var latency = new LatencyRecorder(publishedAt.Length);
        for (var k = 0; k < publishedAt.Length; k++) latency.AddTicks(storedAt[first + k] - publishedAt[k]);
        context.Line($"latency phase, where the time goes: {stages.Summary(Stopwatch.GetElapsedTime(start), publishedAt.Length)}");
        context.Line($"latency: {publishedAt.Length:N0} bars at {Rate}/s, publish to stored (every set): {latency.Summary("ms")}; load average {FeaturesStreamingBenchmark.LoadAverage()}");
        await app.StopAsync(ct);

        return $"{Name}: {rate:F0} bars/s end to end ({rate / TargetBarsPerSecond:F2} vs {TargetBarsPerSecond:F0} bars/s target, " +
               $"{rate / calcRate:F3} vs the calculators alone); at {Rate}/s p50 {latency.Percentile(50) / 1000:F2} ms, p99 {latency.Percentile(99) / 1000:F2} ms (target p99 <= 20 ms)";
    }

    /// <summary>The pipeline's time per stage (its <c>features.batch.stage.duration</c> histogram), summed since the last reset.</summary>
    private sealed class StageTimes
    {
        private readonly Lock _lock = new();
        private readonly Dictionary<string, double> _seconds = [];
        private long _batches;

        public void Add(ReadOnlySpan<KeyValuePair<string, object?>> tags, double seconds)
        {
            foreach (var tag in tags)
            {
                if (tag is not { Key: "stage", Value: string stage }) continue;
                lock (_lock)
                {
                    _seconds[stage] = _seconds.GetValueOrDefault(stage) + seconds;
                    if (stage == FeatureMetrics.Stage.Checkpoint) _batches++;
                }
            }
        }

        public void Reset()
        {
            lock (_lock)
            {
                _seconds.Clear();
                _batches = 0;
            }
        }

        /// <summary>Seconds per stage, their share of <paramref name="elapsed"/>, the rest (the bus, waiting), and the batches.</summary>
        public string Summary(TimeSpan elapsed, int bars)
        {
            lock (_lock)
            {
                var parts = FeatureMetrics.Stage.All.Select(s => $"{s} {_seconds.GetValueOrDefault(s):F2} s ({_seconds.GetValueOrDefault(s) / elapsed.TotalSeconds:P0})");
                var busy = _seconds.Values.Sum();
                return $"{string.Join(", ", parts)}; pipeline busy {busy:F2} s of {elapsed.TotalSeconds:F2} s; " +
                       $"{_batches:N0} batches, {(double)bars / Math.Max(1, _batches):F1} bars each";
            }
        }
    }

    internal static BarClosed Event(string symbol, Bar b) =>
        new(symbol, BarInterval.OneDay.Name, b.Time, b.Open, b.High, b.Low, b.Close, b.Volume, b.Vwap);

    internal static async Task WaitAsync(Func<bool> done, TimeSpan timeout, CancellationToken ct)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (!done())
        {
            if (Stopwatch.GetTimestamp() > deadline) throw new TimeoutException("The features service did not store every bar in time.");
            await Task.Delay(1, ct);
        }
    }
}
