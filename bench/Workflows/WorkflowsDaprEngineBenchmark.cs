using System.Diagnostics;
using Dapr.Workflow;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Platform.DaprSidecar.Testing;
using static Platform.Bench.Workflows.WorkflowsBenchmark;

namespace Platform.Bench.Workflows;

/// <summary>
/// The same five-activity Dapr.Workflow classes as <see cref="WorkflowsBenchmark"/>, run by Dapr's own engine: Dapr.Workflow's
/// worker (<c>AddDaprWorkflow</c>) and <c>DaprWorkflowClient</c> against the in-memory DurableTask sidecar of
/// Microsoft.DurableTask.InProcessTestHost on loopback gRPC, and, in the same run, by the embedded runner. The sidecar
/// keeps everything in memory and persists nothing, so this measures the worker and the protocol, not daprd with a
/// state store. Options: <c>--count N</c> (200), <c>--in-flight N</c> (1).
/// </summary>
public sealed class WorkflowsDaprEngineBenchmark : IBenchmark
{

    public string Name => "workflows-dapr";

    public string Description =>
        "the five-activity workflow on Dapr's worker against the in-memory DurableTask sidecar, vs the embedded runner in the same run";

    public async Task<string> RunAsync(BenchContext context, CancellationToken ct)
    {
        var count = context.IntOption("--count", context.Quick ? 50 : 200);
        // One at a time by default: with two or more instances in flight this sidecar took about 1.5 s per instance
        // (100 instances in 150 s at 4 and at 16 in flight), whatever the window; one in flight takes milliseconds.
        var window = context.IntOption("--in-flight", 1);
        await using var sidecar = await InMemoryWorkflowSidecar.StartAsync();
        var worker = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        sidecar.Attach(worker);
        worker.Logging.ClearProviders().AddSimpleConsole().SetMinimumLevel(LogLevel.Warning);
        worker.Services.AddDaprWorkflow(o =>
        {
            o.RegisterWorkflow<FiveStepChain>();
            o.RegisterActivity<ChainStep>();
        });
        using var host = worker.Build();
        await host.StartAsync(ct);
        var client = host.Services.GetRequiredService<DaprWorkflowClient>();

        await RunBatchAsync(client, "warmup", Math.Min(50, count), window, null, ct);
        var latency = new LatencyRecorder(count);
        var sw = Stopwatch.StartNew();
        await RunBatchAsync(client, "run", count, window, latency, ct);
        var elapsed = sw.Elapsed;
        await host.StopAsync(CancellationToken.None);
        var rate = count / elapsed.TotalSeconds;
        context.Line($"Dapr's worker + in-memory sidecar: {count:N0} workflows x 5 activities, {window} in flight: {elapsed.TotalSeconds:F2} s, " +
                     $"{rate:F0} instances/s; start-to-completion: {latency.Summary("ms")}");

        var embedded = await new WorkflowsBenchmark().RunAsync(context, ct);
        return $"workflows-dapr: {rate:F0} instances/s on Dapr's worker with the in-memory sidecar, completion p50 " +
               $"{latency.Percentile(50) / 1000:F1} ms, p99 {latency.Percentile(99) / 1000:F1} ms (same run, embedded runner: {embedded})";
    }

    private static async Task RunBatchAsync(DaprWorkflowClient client, string prefix, int count, int window, LatencyRecorder? latency,
        CancellationToken ct)
    {
        var next = -1;
        var samples = new List<long>[window];
        await Task.WhenAll(Enumerable.Range(0, window).Select(w => Task.Run(async () =>
        {
            samples[w] = [];
            int i;
            while ((i = Interlocked.Increment(ref next)) < count)
            {
                var start = Stopwatch.GetTimestamp();
                var id = await client.ScheduleNewWorkflowAsync(nameof(FiveStepChain), $"{prefix}-{i}", new ChainInput(i));
                var state = await client.WaitForWorkflowCompletionAsync(id, true, ct);
                samples[w].Add(Stopwatch.GetTimestamp() - start);
                if (state?.RuntimeStatus != global::Dapr.Workflow.WorkflowRuntimeStatus.Completed || state.ReadOutputAs<long>() != i * 100_000L + 12345)
                    throw new InvalidOperationException($"Workflow {id} ended {state?.RuntimeStatus}: {state?.FailureDetails}.");
            }
        }, ct)));
        if (latency is null) return;
        foreach (var list in samples)
        {
            foreach (var ticks in list) latency.AddTicks(ticks);
        }
    }
}
