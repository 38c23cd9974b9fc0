using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Platform.Bench.Features;
using Platform.BuildingBlocks;
using Platform.BuildingBlocks.Embedded;
using Platform.BuildingBlocks.PubSub;
using Platform.Contracts;

namespace Platform.Bench.BuildingBlocks;

/// <summary>
/// Embedded pub/sub: 100,000 events of about 1 KB published (16 concurrent publishers, group commit) and delivered
/// to one durable subscriber; then publish-to-handler latency at a steady 1,000 events/s. First, the cost of appending
/// to the log as the features service does (batches of 2,000 events of about 2 KB through <c>PublishManyAsync</c>), next
/// to a bare SQLite insert of the same payloads in the same run.
/// </summary>
public sealed class PubSubBenchmark : IBenchmark
{
    private const double TargetEventsPerSecond = 30_000;
    private const string Topic = Topics.MarketBars;

    public string Name => "pubsub";
    public string Description => "embedded pub/sub: events/s through a durable subscriber, and p50/p99 latency at 1,000 events/s";

    public async Task<string> RunAsync(BenchContext context, CancellationToken ct)
    {
        var count = context.Quick ? 20_000 : 100_000;
        var padding = new string('x', 960);

        await MeasureAppendAsync(context, ct);

        // Throughput.
        var delivered = 0;
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using (var host = Build(Path.Combine(context.WorkDir, "throughput"), (_, _, _) =>
               {
                   if (Interlocked.Increment(ref delivered) == count) done.TrySetResult();
                   return Task.FromResult(DeliveryResult.Success);
               }))
        {
            await host.StartAsync(ct);
            var publisher = host.Services.GetRequiredService<IEventPublisher>();
            var cpu0 = FeaturesStreamingBenchmark.CpuSeconds();
            var allocated0 = GC.GetTotalAllocatedBytes(precise: true);
            var sw = Stopwatch.StartNew();
            var next = -1;
            await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Task.Run(async () =>
            {
                int i;
                while ((i = Interlocked.Increment(ref next)) < count)
                    await publisher.PublishAsync(Event(i, padding, 0), ct);
            }, ct)));
            var published = sw.Elapsed;
            await done.Task.WaitAsync(TimeSpan.FromMinutes(5), ct);
            var total = sw.Elapsed;
            var cpu = FeaturesStreamingBenchmark.CpuSeconds() - cpu0;
            var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocated0;
            var eventBytes = BytesToBuildAnEvent(padding);
            context.Line($"throughput: {count:N0} events of ~1 KB: published in {published.TotalSeconds:F2} s ({count / published.TotalSeconds:N0}/s), " +
                         $"all delivered after {total.TotalSeconds:F2} s ({count / total.TotalSeconds:N0} events/s end to end; {cpu:F2} s CPU, " +
                         $"{count / cpu:N0} events per CPU-second); load average {FeaturesStreamingBenchmark.LoadAverage()}");
            context.Line($"allocated: {(double)allocated / count:N0} bytes per event in the whole process, of which {eventBytes:N0} build the published " +
                         $"event in this benchmark: the bus's own {(double)allocated / count - eventBytes:N0} bytes per event (publish, log, delivery, cursor)");
            var throughput = count / total.TotalSeconds;
            await host.StopAsync(ct);

            // Latency at a steady rate.
            var latency = await MeasureLatencyAsync(context, padding, ct);
            return $"pubsub: {throughput:F0} events/s ({throughput / TargetEventsPerSecond:F2} vs {TargetEventsPerSecond:F0} events/s target); " +
                   $"latency at 1000/s p50 {latency.Percentile(50) / 1000:F2} ms, p99 {latency.Percentile(99) / 1000:F2} ms (target p99 <= 5 ms)";
        }
    }

    private const int AppendBatch = 2000;

    /// <summary>
    /// Appends batches of <see cref="AppendBatch"/> events of about 2 KB in one <c>PublishManyAsync</c> call each (no
    /// subscriber), alternating with the reference: the same payloads inserted as bare blobs (one table, one column,
    /// one prepared statement, one transaction per batch) into a file with the same settings. Prints wall and CPU time
    /// per event and per KB and the bus's allocations per event; the events are built before the clock starts.
    /// </summary>
    private static async Task MeasureAppendAsync(BenchContext context, CancellationToken ct)
    {
        var rounds = context.Quick ? 3 : 10;
        const int batchesPerRound = 4;
        var dir = Path.Combine(context.WorkDir, "append");
        var log = Platform.BuildingBlocks.Embedded.EventLog.For(Path.Combine(dir, "pubsub.db"));
        var publisher = new EmbeddedEventPublisher(log, "features", new PubSubOptions());
        var reference = SqliteFile.Open(Path.Combine(dir, "bare.db"), "CREATE TABLE IF NOT EXISTS blobs (data BLOB NOT NULL);");
        var batches = Enumerable.Range(0, batchesPerRound).Select(b => Enumerable.Range(0, AppendBatch).Select(i => FeatureLikeEvent(b * AppendBatch + i)).ToList()).ToList();
        var bytesPerEvent = batches.SelectMany(b => b).Average(e => e.Data.Length);

        // Warm both paths (statements prepared, pages cached) before measuring.
        await publisher.PublishManyAsync(batches[0], ct);
        InsertBare(reference, batches[0]);

        double logWall = 0, logCpu = 0, bareWall = 0, bareCpu = 0;
        long logAllocated = 0;
        for (var round = 0; round < rounds; round++)
        {
            var cpu0 = FeaturesStreamingBenchmark.CpuSeconds();
            var allocated0 = GC.GetTotalAllocatedBytes(precise: true);
            var sw = Stopwatch.StartNew();
            foreach (var batch in batches) await publisher.PublishManyAsync(batch, ct);
            logWall += sw.Elapsed.TotalSeconds;
            logAllocated += GC.GetTotalAllocatedBytes(precise: true) - allocated0;
            logCpu += FeaturesStreamingBenchmark.CpuSeconds() - cpu0;

            cpu0 = FeaturesStreamingBenchmark.CpuSeconds();
            sw.Restart();
            foreach (var batch in batches) InsertBare(reference, batch);
            bareWall += sw.Elapsed.TotalSeconds;
            bareCpu += FeaturesStreamingBenchmark.CpuSeconds() - cpu0;
        }
        var events = (double)rounds * batchesPerRound * AppendBatch;
        var kb = bytesPerEvent / 1024;
        context.Line($"append: {events:N0} events of {bytesPerEvent:N0} bytes in batches of {AppendBatch:N0} (PublishManyAsync): " +
                     $"{logWall / events * 1e6:F2} us wall, {logCpu / events * 1e6:F2} us CPU per event ({logWall / events / kb * 1e6:F2} us wall per KB), " +
                     $"{(double)logAllocated / events:N0} bytes allocated per event; load average {FeaturesStreamingBenchmark.LoadAverage()}");
        context.Line($"append reference, the same payloads as bare blob rows in the same run: {bareWall / events * 1e6:F2} us wall, " +
                     $"{bareCpu / events * 1e6:F2} us CPU per event; the log takes {logWall / bareWall:F2}x its wall time, {logCpu / bareCpu:F2}x its CPU");
    }

    /// <summary>The floor: SQLite's own API, one prepared insert, each payload bound in place, one transaction.</summary>
    private static void InsertBare(SqliteFile file, IReadOnlyList<OutgoingEvent> events)
    {
        using var connection = file.OpenConnection();
        using var tx = connection.BeginTransaction(deferred: false);
        var db = connection.Handle!;
        SQLitePCL.raw.sqlite3_prepare_v2(db, "INSERT INTO blobs(data) VALUES (?1)", out var insert);
        using (insert)
        {
            foreach (var e in events)
            {
                SQLitePCL.raw.sqlite3_bind_blob(insert, 1, e.Data.Span);
                if (SQLitePCL.raw.sqlite3_step(insert) != SQLitePCL.raw.SQLITE_DONE) throw new InvalidOperationException(SQLitePCL.raw.sqlite3_errmsg(db).utf8_to_string());
                SQLitePCL.raw.sqlite3_reset(insert);
            }
        }
        tx.Commit();
    }

    /// <summary>An event shaped like the features service's: an id naming set, symbol, interval and time, ~2 KB of numbers.</summary>
    private static OutgoingEvent FeatureLikeEvent(int i)
    {
        var symbol = $"SYM{i % 200:D3}";
        var time = new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero).AddMinutes(i / 200);
        var values = string.Join(',', Enumerable.Range(0, 158).Select(k => ((i * 31 + k) % 1000 / 7.0).ToString("G10", System.Globalization.CultureInfo.InvariantCulture)));
        var json = $"{{\"symbol\":\"{symbol}\",\"interval\":\"1m\",\"time\":\"{time:O}\",\"set\":\"alpha158\",\"hash\":\"0123456789abcdef\",\"values\":[{values}]}}";
        return new OutgoingEvent(Topics.MarketFeatures, $"alpha158:{symbol}:1m:{time.ToUnixTimeSeconds()}", "FeaturesComputed",
            System.Text.Encoding.UTF8.GetBytes(json), symbol);
    }

    private static async Task<LatencyRecorder> MeasureLatencyAsync(BenchContext context, string padding, CancellationToken ct)
    {
        const int rate = 1000;
        var seconds = context.Quick ? 3 : 10;
        var recorder = new LatencyRecorder(rate * seconds);
        var received = 0;
        using var host = Build(Path.Combine(context.WorkDir, "latency"), (_, e, _) =>
        {
            var sentAt = System.Text.Json.JsonDocument.Parse(e.Data).RootElement.GetProperty("sentAt").GetInt64();
            lock (recorder) recorder.AddTicks(Stopwatch.GetTimestamp() - sentAt);
            Interlocked.Increment(ref received);
            return Task.FromResult(DeliveryResult.Success);
        });
        await host.StartAsync(ct);
        var publisher = host.Services.GetRequiredService<IEventPublisher>();
        var start = Stopwatch.GetTimestamp();
        var total = rate * seconds;
        for (var i = 0; i < total; i++)
        {
            // Sleep until the event is due (the timer's millisecond granularity sends a due pair together now and then);
            // spinning instead would take one of the cores the log and the subscriber run on.
            var due = start + (long)(i * (double)Stopwatch.Frequency / rate);
            var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), due);
            if (wait > TimeSpan.Zero) await Task.Delay(wait, ct);
            await publisher.PublishAsync(Event(i, padding, Stopwatch.GetTimestamp()), ct);
        }
        while (Volatile.Read(ref received) < total) await Task.Delay(10, ct);
        await host.StopAsync(ct);
        context.Line($"latency: {total:N0} events at {rate}/s, publish to handler: {recorder.Summary("ms")}; load average {FeaturesStreamingBenchmark.LoadAverage()}");
        return recorder;
    }

    /// <summary>What building one published event allocates here (its id, JSON text and UTF-8 body), to tell it from the bus's own.</summary>
    private static double BytesToBuildAnEvent(string padding)
    {
        const int n = 1000;
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < n; i++) GC.KeepAlive(Event(i, padding, 0));
        return (double)(GC.GetAllocatedBytesForCurrentThread() - before) / n;
    }

    private static OutgoingEvent Event(int i, string padding, long sentAt) =>
        new(Topic, $"bench-{i}", "Bench", System.Text.Encoding.UTF8.GetBytes($"{{\"n\":{i},\"sentAt\":{sentAt},\"pad\":\"{padding}\"}}"));

    private static IHost Build(string dataDir, EventHandlerDelegate handler)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Configuration["Runtime:Mode"] = "embedded";
        builder.Configuration["DataDir"] = dataDir;
        builder.Services.AddBuildingBlocks(RuntimeSettings.From(builder.Configuration, "bench"), builder.Configuration);
        builder.Services.AddRawEventHandler(Topic, handler);
        return builder.Build();
    }
}
