using System.Collections.Concurrent;
using System.Diagnostics;
using Dapr.Workflow;
using WorkflowRuntimeStatus = Platform.Workflows.WorkflowRuntimeStatus;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Platform.BuildingBlocks;
using Platform.BuildingBlocks.Embedded;
using Platform.BuildingBlocks.PubSub;
using Platform.Bench.Features;
using Platform.Workflows;

namespace Platform.Bench.Workflows;

/// <summary>
/// Durable workflows on the embedded runtime (SQLite state, SQLite event log): 1,000 workflows of five chained
/// activities, written as Dapr.Workflow classes and run by the embedded runner through Dapr's WorkflowContext,
/// started through the client with a window of instances in flight, each checkpointing five results and
/// publishing its completion. Reports instances/s, start-to-completion latency (the client sees the terminal
/// checkpoint) and start-to-completion-event latency (a subscriber receives <see cref="WorkflowStatusChanged"/>),
/// once with the files at <c>synchronous=NORMAL</c> (the default) and once at <c>FULL</c>.
/// </summary>
public sealed class WorkflowsBenchmark : IBenchmark
{
    // Dapr Workflow's published throughput for a five-activity chain (Dapr 1.15 workflow performance tests).
    private const double DaprInstancesPerSecond = 98;
    private const int Window = 64;

    public string Name => "workflows";
    public string Description =>
        "durable workflows: 1,000 five-activity Dapr.Workflow workflows on the embedded runner, instances/s and p50/p99 completion time, synchronous NORMAL and FULL";

    public async Task<string> RunAsync(BenchContext context, CancellationToken ct)
    {
        var count = context.Quick ? 200 : 1_000;
        var normal = await MeasureAsync(context, SqliteSynchronous.Normal, count, ct);
        var full = await MeasureAsync(context, SqliteSynchronous.Full, count, ct);
        return $"workflows: {normal.Rate:F0} instances/s ({normal.Rate / DaprInstancesPerSecond:F1}x vs {DaprInstancesPerSecond:F0} instances/s Dapr Workflow, five chained activities); " +
               $"completion p50 {normal.Checkpoint.Percentile(50) / 1000:F1} ms, p99 {normal.Checkpoint.Percentile(99) / 1000:F1} ms; " +
               $"completion event p50 {normal.Event.Percentile(50) / 1000:F1} ms, p99 {normal.Event.Percentile(99) / 1000:F1} ms; " +
               $"synchronous=FULL {full.Rate:F0} instances/s ({full.Rate / normal.Rate:F2}x NORMAL)";
    }

    private sealed record Run(double Rate, LatencyRecorder Checkpoint, LatencyRecorder Event);

    private static async Task<Run> MeasureAsync(BenchContext context, SqliteSynchronous synchronous, int count, CancellationToken ct)
    {
        var services = new ServiceCollection();
        services.AddLogging(b => b.SetMinimumLevel(LogLevel.Warning).AddSimpleConsole());
        var configuration = new ConfigurationBuilder().Build();
        services.AddSingleton<IConfiguration>(configuration);
        var dataDir = Path.Combine(context.WorkDir, "data-" + synchronous.ToString().ToLowerInvariant());
        services.AddBuildingBlocks(new RuntimeSettings("bench", RuntimeMode.Embedded, dataDir, synchronous), configuration);
        // Completion events, as a subscriber in the same process receives them: the time each one arrived.
        var started = new ConcurrentDictionary<string, long>(StringComparer.Ordinal);
        var eventLatency = new LatencyRecorder(count);
        var events = 0;
        services.AddEventHandler<WorkflowStatusChanged>((_, e, _, _) =>
        {
            if (e.RuntimeStatus == WorkflowRuntimeStatus.Completed && started.TryRemove(e.InstanceId, out var start))
            {
                lock (eventLatency) eventLatency.AddTicks(Stopwatch.GetTimestamp() - start);
                Interlocked.Increment(ref events);
            }
            return Task.CompletedTask;
        });
        services.AddWorkflows(o =>
        {
            o.RegisterWorkflow<FiveStepChain>();
            o.RegisterActivity<ChainStep>();
        }, o => o.MaxConcurrentInstances = 128);
        await using var provider = services.BuildServiceProvider();
        var runner = provider.GetRequiredService<WorkflowRunner>();
        var client = provider.GetRequiredService<WorkflowClient>();
        var subscriber = provider.GetServices<IHostedService>().OfType<EmbeddedSubscriber>().Single();
        await subscriber.StartAsync(ct);
        using var stop = new CancellationTokenSource();
        var running = Task.Run(() => runner.RunAsync(stop.Token), CancellationToken.None);

        await RunBatchAsync(client, "warmup", 100, null, null, ct);
        var latency = new LatencyRecorder(count);
        var cpu0 = FeaturesStreamingBenchmark.CpuSeconds();
        var sw = Stopwatch.StartNew();
        await RunBatchAsync(client, "run", count, latency, started, ct);
        var elapsed = sw.Elapsed;
        var cpu = FeaturesStreamingBenchmark.CpuSeconds() - cpu0;
        var deadline = Stopwatch.StartNew();
        while (Volatile.Read(ref events) < count && deadline.Elapsed < TimeSpan.FromMinutes(1)) await Task.Delay(5, ct);
        stop.Cancel();
        await running;
        await subscriber.StopAsync(CancellationToken.None);
        if (events < count) throw new InvalidOperationException($"Only {events} of {count} completion events arrived within a minute.");

        var rate = count / elapsed.TotalSeconds;
        context.Line($"synchronous={synchronous.ToString().ToUpperInvariant()}: {count:N0} workflows x 5 activities, {Window} in flight, runner slots {128}: " +
                     $"{elapsed.TotalSeconds:F2} s, {rate:F0} instances/s ({rate * 5:F0} activities/s); {cpu:F2} s CPU ({count / cpu:F0} instances per CPU-second); " +
                     $"load average {FeaturesStreamingBenchmark.LoadAverage()}");
        context.Line($"  start-to-completion (terminal checkpoint): {latency.Summary("ms")}");
        context.Line($"  start-to-completion event (WorkflowStatusChanged delivered): {eventLatency.Summary("ms")}");
        return new Run(rate, latency, eventLatency);
    }

    private static async Task RunBatchAsync(WorkflowClient client, string prefix, int count, LatencyRecorder? latency,
        ConcurrentDictionary<string, long>? started, CancellationToken ct)
    {
        var next = -1;
        var samples = new List<long>[Window];
        await Task.WhenAll(Enumerable.Range(0, Window).Select(w => Task.Run(async () =>
        {
            samples[w] = [];
            int i;
            while ((i = Interlocked.Increment(ref next)) < count)
            {
                var start = Stopwatch.GetTimestamp();
                started?.TryAdd($"{prefix}-{i}", start);
                var id = await client.ScheduleNewWorkflowAsync(nameof(FiveStepChain), $"{prefix}-{i}", new ChainInput(i), ct);
                var state = await client.WaitForWorkflowCompletionAsync(id, cancellation: ct);
                samples[w].Add(Stopwatch.GetTimestamp() - start);
                if (state.RuntimeStatus != WorkflowRuntimeStatus.Completed || state.ReadOutputAs<long>() != i * 100_000L + 12345)
                    throw new InvalidOperationException($"Workflow {id} ended {state.RuntimeStatus} with {state.SerializedOutput}.");
            }
        }, ct)));
        if (latency is null) return;
        foreach (var list in samples)
        {
            foreach (var ticks in list) latency.AddTicks(ticks);
        }
    }

    public sealed record ChainInput(long Value);

    public sealed record StepInput(int Step, long Value);

    public sealed class FiveStepChain : Workflow<ChainInput, long>
    {
        public override async Task<long> RunAsync(WorkflowContext context, ChainInput input)
        {
            var value = input.Value;
            for (var step = 1; step <= 5; step++)
                value = await context.CallActivityAsync<long>(nameof(ChainStep), new StepInput(step, value));
            return value;
        }
    }

    public sealed class ChainStep : WorkflowActivity<StepInput, long>
    {
        public override Task<long> RunAsync(WorkflowActivityContext context, StepInput input) => Task.FromResult(input.Value * 10 + input.Step);
    }
}
