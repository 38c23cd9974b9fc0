using System.Diagnostics;
using Dapr.Workflow;
using WorkflowRuntimeStatus = Platform.Workflows.WorkflowRuntimeStatus;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Platform.BuildingBlocks;
using Platform.Workflows;

namespace Platform.Bench.Workflows;

/// <summary>
/// Durable workflows on the embedded runtime (SQLite state, SQLite event log): 1,000 workflows of five chained
/// activities, written as Dapr.Workflow classes and run by the embedded runner through Dapr's WorkflowContext,
/// started through the client with a window of instances in flight, each checkpointing five results and
/// publishing its completion. Reports instances/s and start-to-completion latency.
/// </summary>
public sealed class WorkflowsBenchmark : IBenchmark
{
    // Dapr Workflow's published throughput for a five-activity chain (Dapr 1.15 workflow performance tests).
    private const double DaprInstancesPerSecond = 98;
    private const int Window = 64;

    public string Name => "workflows";
    public string Description =>
        "durable workflows: 1,000 five-activity Dapr.Workflow workflows on the embedded runner, instances/s and p50/p99 completion time";

    public async Task<string> RunAsync(BenchContext context, CancellationToken ct)
    {
        var count = context.Quick ? 200 : 1_000;
        var services = new ServiceCollection();
        services.AddLogging(b => b.SetMinimumLevel(LogLevel.Warning).AddSimpleConsole());
        var configuration = new ConfigurationBuilder().Build();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddBuildingBlocks(new RuntimeSettings("bench", RuntimeMode.Embedded, Path.Combine(context.WorkDir, "data")), configuration);
        services.AddWorkflows(o =>
        {
            o.RegisterWorkflow<FiveStepChain>();
            o.RegisterActivity<ChainStep>();
        }, o => o.MaxConcurrentInstances = 128);
        await using var provider = services.BuildServiceProvider();
        var runner = provider.GetRequiredService<WorkflowRunner>();
        var client = provider.GetRequiredService<WorkflowClient>();
        using var stop = new CancellationTokenSource();
        var running = Task.Run(() => runner.RunAsync(stop.Token), CancellationToken.None);

        await RunBatchAsync(client, "warmup", 100, null, ct);
        var latency = new LatencyRecorder(count);
        var sw = Stopwatch.StartNew();
        await RunBatchAsync(client, "run", count, latency, ct);
        var elapsed = sw.Elapsed;
        stop.Cancel();
        await running;

        var rate = count / elapsed.TotalSeconds;
        context.Line($"{count:N0} workflows x 5 activities, {Window} in flight, runner slots {128}: {elapsed.TotalSeconds:F2} s, {rate:F0} instances/s ({rate * 5:F0} activities/s)");
        context.Line($"start-to-completion: {latency.Summary("ms")}");
        return $"workflows: {rate:F0} instances/s ({rate / DaprInstancesPerSecond:F1}x vs {DaprInstancesPerSecond:F0} instances/s Dapr Workflow, five chained activities); " +
               $"completion p50 {latency.Percentile(50) / 1000:F1} ms, p99 {latency.Percentile(99) / 1000:F1} ms";
    }

    private static async Task RunBatchAsync(WorkflowClient client, string prefix, int count, LatencyRecorder? latency, CancellationToken ct)
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
