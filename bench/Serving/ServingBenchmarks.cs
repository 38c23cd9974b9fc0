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
/// In-process single-row prediction latency of a served XGBoost model (300 trees, Alpha158), then of every other kind
/// serving loads (ML.NET FastTree and LightGBM with 300 trees, ridge) next to ML.NET's own one-row
/// <c>PredictionEngine</c> on a FastTree of the same shape, then a hot-swap run: concurrent HTTP predictions while the
/// champion is promoted back and forth 20 times.
/// </summary>
public sealed class ServingBenchmark : IBenchmark
{
    public string Name => "serving";
    public string Description => "one-row prediction p50/p99 per served kind (XGBoost, FastTree, LightGBM, ridge on Alpha158) vs ML.NET's PredictionEngine; hot swap: 20 promotions under load";

    public async Task<string> RunAsync(BenchContext context, CancellationToken ct)
    {
        var set = FeatureSets.Alpha158V1;
        var (frame, y) = TrainingRows(set);
        var sampleRows = Enumerable.Range(0, 512).Select(i => frame.Row(i).ToArray()).ToArray();
        var iterations = context.Quick ? 20_000 : 100_000;
        var clock = Stopwatch.StartNew();
        var artifactA = Fit(new ModelSpec(ModelKinds.XGBoost).With("num_boost_round", "300").With("max_depth", "6").With("nthread", "2"), frame, y, 1, 0);
        var artifactB = Fit(new ModelSpec(ModelKinds.XGBoost).With("num_boost_round", "300").With("max_depth", "6").With("nthread", "2"), frame, y, 2, 10);
        context.Line($"trained two 300-tree XGBoost models on {frame.Rows} x {set.Count} in {clock.Elapsed.TotalSeconds:F1} s");
        var xgboost = MeasureServed("xgboost (300 trees, depth 6)", artifactA, set, sampleRows, iterations, context);

        var others = new (string Label, ModelSpec Spec)[]
        {
            ("fasttree (300 trees, 20 leaves)", new ModelSpec(ModelKinds.FastTree).With("trees", "300")),
            ("lightgbm (300 trees, 20 leaves)", new ModelSpec(ModelKinds.LightGbm).With("trees", "300")),
            ("ridge", new ModelSpec(ModelKinds.Ridge)),
        };
        var worst = (Label: "xgboost", P50: xgboost.Percentile(50));
        foreach (var (label, spec) in others)
        {
            var served = MeasureServed(label, Fit(spec, frame, y, 1, 0), set, sampleRows, iterations, context);
            if (served.Percentile(50) > worst.P50) worst = (spec.Kind, served.Percentile(50));
        }
        var engine = MeasurePredictionEngine(frame, y, sampleRows, iterations);
        context.Line($"reference, ML.NET PredictionEngine on a FastTree of the same shape, one row: {engine.Summary()}");

        var (ok, failed, mixed, rps) = await HotSwapAsync(artifactA, artifactB, set, context, ct);
        context.Line($"hot swap: {ok:N0} predictions over HTTP ({rps:N0}/s, 4 connections), 20 promotions, failed {failed}, answers naming a version other than their model's {mixed} (target 0)");
        return $"serving: xgboost predict p50 {xgboost.Percentile(50):F1} us, p99 {xgboost.Percentile(99):F1} us; slowest kind {worst.Label} p50 {worst.P50:F1} us "
            + $"(target <= 50 us; ML.NET PredictionEngine p50 {engine.Percentile(50):F1} us); hot swap failed {failed} of {ok + failed}";
    }

    private static (FeatureFrame Frame, double[] Y) TrainingRows(FeatureSet set)
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
        return (new FeatureFrame(x, rows, set.Features), y);
    }

    private static byte[] Fit(ModelSpec spec, FeatureFrame frame, double[] y, int seed, double shift)
    {
        using var model = ModelFactory.Fit(spec, new TrainingData(frame, y.Select(v => v + shift).ToArray(), new TargetSpec(TargetKind.Return, 5), seed));
        return model.ToArtifact();
    }

    /// <summary>One-row latency of <paramref name="artifact"/> loaded as serving loads it (<see cref="ServedModel"/>).</summary>
    private static LatencyRecorder MeasureServed(string label, byte[] artifact, FeatureSet set, float[][] rows, int iterations, BenchContext context)
    {
        var source = new ModelArtifactBytes("alpha", 1, ModelArtifact.Sha256(artifact), set.Id, set.Hash, "return", 5, artifact);
        var served = new ServedModel(source, TimeProvider.System);
        var latency = new LatencyRecorder(iterations);
        var row = new float[set.Count];
        for (var i = 0; i < 2_000; i++) served.Predict(rows[i % rows.Length]);
        for (var i = 0; i < iterations; i++)
        {
            rows[i % rows.Length].CopyTo(row, 0);
            var start = Stopwatch.GetTimestamp();
            served.Predict(row);
            latency.AddTicks(Stopwatch.GetTimestamp() - start);
        }
        served.Retire();
        context.Line($"predict {label}, 1 row of {set.Count} features: {latency.Summary()} (target p50 <= 50 us, p99 <= 250 us)");
        return latency;
    }

    private sealed class EngineRow
    {
        public float Label { get; set; }
        public float[] Features { get; set; } = [];
    }

    private sealed class EngineScore
    {
        public float Score { get; set; }
    }

    /// <summary>ML.NET alone: a FastTree like the served one, scored one row at a time by its own PredictionEngine.</summary>
    private static LatencyRecorder MeasurePredictionEngine(FeatureFrame frame, double[] y, float[][] rows, int iterations)
    {
        var ml = new Microsoft.ML.MLContext(1);
        var schema = Microsoft.ML.Data.SchemaDefinition.Create(typeof(EngineRow));
        schema[nameof(EngineRow.Features)].ColumnType = new Microsoft.ML.Data.VectorDataViewType(Microsoft.ML.Data.NumberDataViewType.Single, frame.Columns);
        var data = ml.Data.LoadFromEnumerable(Enumerable.Range(0, frame.Rows).Select(i => new EngineRow { Label = (float)y[i], Features = frame.Row(i).ToArray() }), schema);
        var model = Microsoft.ML.TreeExtensions.FastTree(ml.Regression.Trainers, numberOfTrees: 300, numberOfLeaves: 20).Fit(data);
        var engine = ml.Model.CreatePredictionEngine<EngineRow, EngineScore>(model, inputSchemaDefinition: schema);
        var input = new EngineRow { Features = new float[frame.Columns] };
        var latency = new LatencyRecorder(iterations);
        for (var i = 0; i < 2_000; i++) engine.Predict(new EngineRow { Features = rows[i % rows.Length] });
        for (var i = 0; i < iterations; i++)
        {
            rows[i % rows.Length].CopyTo(input.Features, 0);
            var start = Stopwatch.GetTimestamp();
            engine.Predict(input);
            latency.AddTicks(Stopwatch.GetTimestamp() - start);
        }
        return latency;
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
        await app.StopAsync(ct); // stopped before it is disposed, as a host is: background services end cleanly
        return (ok, failed, mixed, ok / clock.Elapsed.TotalSeconds);
    }
}
