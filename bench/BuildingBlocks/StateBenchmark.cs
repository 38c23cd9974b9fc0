using System.Diagnostics;
using Platform.BuildingBlocks.Embedded;
using Platform.BuildingBlocks.State;

namespace Platform.Bench.BuildingBlocks;

/// <summary>Embedded state store: get and ETag-checked save latency (p50/p99), and saves/s with one and four writers.</summary>
public sealed class StateBenchmark : IBenchmark
{
    public string Name => "state";
    public string Description => "embedded state store: get and ETag-checked save latency p50/p99, saves/s";

    public async Task<string> RunAsync(BenchContext context, CancellationToken ct)
    {
        var n = context.Quick ? 5_000 : 50_000;
        var file = SqliteFile.Open(Path.Combine(context.WorkDir, "state.db"), SqliteStateStore.Schema);
        var store = new SqliteStateStore(file, "statestore", "bench");
        var value = StateStoreExtensions.Serialize(new { symbol = "AAA", price = 101.25, features = Enumerable.Range(0, 20).Select(i => i * 0.5).ToArray() });
        const int keys = 1000;
        for (var k = 0; k < keys; k++) await store.SaveAsync($"key-{k}", value, ct: ct);

        var names = Enumerable.Range(0, keys).Select(k => $"key-{k}").ToArray();
        var gets = new LatencyRecorder(n);
        var allocated0 = GC.GetTotalAllocatedBytes(precise: true);
        for (var i = 0; i < n; i++)
        {
            var t = Stopwatch.GetTimestamp();
            _ = await store.GetAsync(names[i % keys], ct);
            gets.AddTicks(Stopwatch.GetTimestamp() - t);
        }
        var getBytes = (double)(GC.GetTotalAllocatedBytes(precise: true) - allocated0) / n;
        // What a get must allocate to answer: the value's copy (an array), its ETag (a string of up to 19 digits), the item
        // and the task that carries it; the rest is the store's own.
        var answerBytes = ArrayBytes(value.Length) + StringBytes(19) + 48 + 72;
        context.Line($"get: {gets.Summary()}; {getBytes:N0} bytes allocated per get, of which about {answerBytes:N0} are the answer " +
                     $"(the {value.Length:N0}-byte value's copy, its ETag, the item, the task): the store's own {Math.Max(0, getBytes - answerBytes):N0}");

        var saves = new LatencyRecorder(n);
        var conflicts = 0;
        var sw = Stopwatch.StartNew();
        for (var i = 0; i < n; i++)
        {
            var key = names[i % keys];
            var item = await store.GetAsync(key, ct);
            var t = Stopwatch.GetTimestamp();
            if (await store.SaveAsync(key, value, item!.ETag, ct) != StateOutcome.Ok) conflicts++;
            saves.AddTicks(Stopwatch.GetTimestamp() - t);
        }
        context.Line($"ETag-checked save: {saves.Summary()}, conflicts {conflicts}");


        sw.Restart();
        allocated0 = GC.GetTotalAllocatedBytes(precise: true);
        for (var i = 0; i < n; i++) await store.SaveAsync(names[i % keys], value, ct: ct);
        var sequential = n / sw.Elapsed.TotalSeconds;
        var saveBytes = (double)(GC.GetTotalAllocatedBytes(precise: true) - allocated0) / n;
        context.Line($"saves/s, one writer: {sequential:N0}; {saveBytes:N0} bytes allocated per save (none needed: the value is bound in place)");

        sw.Restart();
        await Task.WhenAll(Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
        {
            for (var i = w; i < n; i += 4) await store.SaveAsync(names[i % keys], value, ct: ct);
        }, ct)));
        var parallel = n / sw.Elapsed.TotalSeconds;
        context.Line($"saves/s, four writers: {parallel:N0}; load average {Platform.Bench.Features.FeaturesStreamingBenchmark.LoadAverage()}");

        // As the features service commits a batch: one transaction of 200 vectors of ~5 KB, one of 200 small checkpoints.
        var vector = StateStoreExtensions.Serialize(Enumerable.Range(0, 400).Select(i => i * 1.2345678).ToArray());
        var checkpoint = StateStoreExtensions.Serialize(new { hash = "0123456789abcdef", last = DateTimeOffset.UnixEpoch, bars = 12345 });
        var transactions = context.Quick ? 20 : 100;
        var vectors = Enumerable.Range(0, 200).Select(k => (StateOperation)new StateOperation.Upsert($"vector-{k}", vector)).ToList();
        var checkpoints = Enumerable.Range(0, 200).Select(k => (StateOperation)new StateOperation.Upsert($"checkpoint-{k}", checkpoint)).ToList();
        await store.TransactAsync(vectors, ct);
        await store.TransactAsync(checkpoints, ct);
        var cpu0 = Platform.Bench.Features.FeaturesStreamingBenchmark.CpuSeconds();
        allocated0 = GC.GetTotalAllocatedBytes(precise: true);
        sw.Restart();
        for (var t = 0; t < transactions; t++)
        {
            await store.TransactAsync(vectors, ct);
            await store.TransactAsync(checkpoints, ct);
        }
        var operations = transactions * 400.0;
        var transactCpu = Platform.Bench.Features.FeaturesStreamingBenchmark.CpuSeconds() - cpu0;
        var transactBytes = (GC.GetTotalAllocatedBytes(precise: true) - allocated0) / operations;
        context.Line($"transactions as a features batch (200 upserts of {vector.Length:N0} bytes, then 200 of {checkpoint.Length:N0} bytes): " +
                     $"{sw.Elapsed.TotalSeconds / transactions * 1000:F2} ms wall per pair, {transactCpu / operations * 1e6:F2} us CPU per operation, " +
                     $"{transactBytes:N0} bytes allocated per operation; load average {Platform.Bench.Features.FeaturesStreamingBenchmark.LoadAverage()}");

        return $"state: get p50 {gets.Percentile(50):F1} us / p99 {gets.Percentile(99):F1} us; ETag save p50 {saves.Percentile(50):F1} us / p99 {saves.Percentile(99):F1} us; {sequential:F0} saves/s; {getBytes:F0} bytes per get, {saveBytes:F0} per save";
    }

    private static int ArrayBytes(int length) => (24 + length + 7) / 8 * 8;

    private static int StringBytes(int length) => (22 + 2 * length + 7) / 8 * 8;
}
