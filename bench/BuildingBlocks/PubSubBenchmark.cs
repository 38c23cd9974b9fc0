using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Platform.Bench.Features;
using Platform.BuildingBlocks;
using Platform.BuildingBlocks.PubSub;
using Platform.Contracts;

namespace Platform.Bench.BuildingBlocks;

/// <summary>
/// Embedded pub/sub: 100,000 events of about 1 KB published (16 concurrent publishers, group commit) and delivered
/// to one durable subscriber; then publish-to-handler latency at a steady 1,000 events/s.
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
