using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Platform.BuildingBlocks.PubSub;
using Platform.BuildingBlocks.State;
using Platform.Bench.Gateway;
using Platform.Contracts;
using Platform.Modeling.Datasets;
using Platform.Modeling.Models;
using Platform.Modeling.Registry;
using Platform.Modeling.Targets;
using Platform.Quant.Features;
using Platform.Serving.Apis;
using Platform.Serving.Models;

namespace Platform.Bench.Serving;

/// <summary>
/// In-process single-row prediction latency of a served XGBoost model (300 trees, Alpha158), then a hot-swap run:
/// concurrent HTTP predictions while the champion is promoted back and forth 20 times.
/// </summary>
public sealed class ServingBenchmark : IBenchmark
{
    public string Name => "serving";
    public string Description => "XGBoost 300 trees on Alpha158: in-process prediction p50/p99; hot swap: 20 promotions under load, failed requests";

    public async Task<string> RunAsync(BenchContext context, CancellationToken ct)
    {
        var set = FeatureSets.Alpha158V1;
        var (artifactA, artifactB, sampleRows) = Train(set, context);
        var source = new ModelArtifactBytes("alpha", 1, ModelArtifact.Sha256(artifactA), set.Id, set.Hash, "return", 5, artifactA);
        var served = new ServedModel(source, TimeProvider.System);
        var latency = new LatencyRecorder(200_000);
        var iterations = context.Quick ? 20_000 : 100_000;
        var row = new float[set.Count];
        for (var i = 0; i < 2_000; i++) served.Predict(sampleRows[i % sampleRows.Length]);
        for (var i = 0; i < iterations; i++)
        {
            sampleRows[i % sampleRows.Length].CopyTo(row, 0);
            var start = Stopwatch.GetTimestamp();
            served.Predict(row);
            latency.AddTicks(Stopwatch.GetTimestamp() - start);
        }
        context.Line($"predict (1 row, {set.Count} features, 300 trees, depth 6): {latency.Summary()} (target p50 <= 50 us, p99 <= 250 us)");
        served.Retire();

        var (ok, failed, mixed, rps) = await HotSwapAsync(artifactA, artifactB, set, context, ct);
        context.Line($"hot swap: {ok:N0} predictions over HTTP ({rps:N0}/s, 4 connections), 20 promotions, failed {failed}, answers naming a version other than their model's {mixed} (target 0)");
        return $"serving: predict p50 {latency.Percentile(50):F1} us, p99 {latency.Percentile(99):F1} us; hot swap failed {failed} of {ok + failed}";
    }

    private static (byte[] A, byte[] B, float[][] Rows) Train(FeatureSet set, BenchContext context)
    {
        var rng = new Random(42);
        var rows = 3000;
        var x = new float[rows * set.Count];
        var y = new double[rows];
        for (var i = 0; i < rows; i++)
        {
            for (var j = 0; j < set.Count; j++) x[i * set.Count + j] = (float)(rng.NextDouble() * 2 - 1);
            y[i] = 0.3 * x[i * set.Count] - 0.2 * x[i * set.Count + 7] + 0.1 * x[i * set.Count + 50] * x[i * set.Count + 51] + rng.NextDouble() * 0.05;
        }
        var frame = new FeatureFrame(x, rows, set.Features);
        var clock = Stopwatch.StartNew();
        byte[] Fit(int seed, double shift)
        {
            var spec = new ModelSpec(ModelKinds.XGBoost).With("num_boost_round", "300").With("max_depth", "6").With("nthread", "2");
            using var model = ModelFactory.Fit(spec, new TrainingData(frame, y.Select(v => v + shift).ToArray(), new TargetSpec(TargetKind.Return, 5), seed));
            return model.ToArtifact();
        }
        var a = Fit(1, 0);
        var b = Fit(2, 10);
        context.Line($"trained two 300-tree models on {rows} x {set.Count} in {clock.Elapsed.TotalSeconds:F1} s");
        var samples = Enumerable.Range(0, 512).Select(i => x.AsSpan(i * set.Count, set.Count).ToArray()).ToArray();
        return (a, b, samples);
    }

    private static ModelLineage Lineage(FeatureSet set) => new("bench", set.Id, set.Hash, "return", 5, ["AAA"], DateTimeOffset.UnixEpoch,
        DateTimeOffset.UnixEpoch.AddDays(1), ModelKinds.XGBoost, new SortedDictionary<string, string>(StringComparer.Ordinal), 1, [], null, null, null, "bench");

    private static async Task<(long Ok, long Failed, long Mixed, double Rps)> HotSwapAsync(byte[] a, byte[] b, FeatureSet set, BenchContext context, CancellationToken ct)
    {
        ModelRegistry? registry = null;
        await using var app = await BenchApps.StartServingAsync(Path.Combine(context.WorkDir, "serving"), async services =>
        {
            registry = new ModelRegistry(services.GetRequiredService<IStateStoreProvider>().Get(Components.ModelStore), services.GetRequiredService<IEventPublisher>());
            var v1 = await registry.RegisterAsync("alpha", a, Lineage(set), null, ct);
            await registry.RegisterAsync("alpha", b, Lineage(set), null, ct);
            await registry.PromoteAsync("alpha", v1.Version, ModelStage.Production, ct: ct);
        });
        var url = BenchApps.Address(app) + "/v1/predictions";
        var host = app.Services.GetRequiredService<ModelHost>();
        var duration = TimeSpan.FromSeconds(context.Quick ? 6 : 30);
        var features = Enumerable.Range(0, set.Count).Select(i => (i % 7) * 0.1 - 0.3).ToArray();
        long ok = 0, failed = 0, mixed = 0;
        using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 4 });
        var clock = Stopwatch.StartNew();
        var load = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            while (clock.Elapsed < duration)
            {
                try
                {
                    using var response = await client.PostAsJsonAsync(url, new { model = "alpha", symbol = "AAA", features }, ct);
                    if (response.StatusCode != HttpStatusCode.OK) { Interlocked.Increment(ref failed); continue; }
                    var p = (await response.Content.ReadFromJsonAsync<PredictionResponse>(ct))!;
                    // Model B was trained on targets shifted by +10: a v1 answer near 10 (or v2 near 0) would be a mixed request.
                    if ((p.Version == 2) != (p.Prediction > 5)) Interlocked.Increment(ref mixed);
                    Interlocked.Increment(ref ok);
                }
                catch (HttpRequestException)
                {
                    Interlocked.Increment(ref failed);
                }
            }
        }, ct)).ToArray();
        for (var i = 0; i < 20; i++)
        {
            await Task.Delay(duration / 21, ct);
            var target = i % 2 == 0 ? 2 : 1;
            await registry!.PromoteAsync("alpha", target, ModelStage.Production, ct: ct);
        }
        await Task.WhenAll(load);
        context.Line($"swaps applied by the service: {host.Swaps - 1} (events delivered through the embedded bus)");
        return (ok, failed, mixed, ok / clock.Elapsed.TotalSeconds);
    }
}
