using System.Diagnostics;
using System.Globalization;
using Platform.Modeling.Datasets;
using Platform.Modeling.Models;
using Platform.Modeling.Models.MlNet;
using Platform.Modeling.Models.XGBoost;
using Platform.Modeling.Targets;

namespace Platform.Bench.Modeling;

/// <summary>
/// Trains XGBoost through the platform's C API wrapper on 1,000,000 x 158 synthetic rows (300 rounds, hist, depth 6)
/// and compares the wall time with Debian's <c>xgboost</c> CLI training the same data (written as XGBoost's binary
/// DMatrix, so the CLI does not spend its time parsing text) with the same parameters. Then the platform's ML.NET
/// FastTree and LightGBM models train on the same rows (300 trees of 64 leaves, learning rate 0.1, the same threads),
/// each timed against the same CLI figure; <c>--xgboost-only</c> skips them. --quick: 100,000 rows.
/// </summary>
public sealed class XGBoostTrainBenchmark : IBenchmark
{
    public string Name => "xgboost-train";
    public string Description => "XGBoost training via the C API wrapper vs the xgboost CLI (1M x 158, 300 rounds)";

    private static readonly (string Key, string Value)[] Parameters =
    [
        ("objective", "reg:squarederror"), ("tree_method", "hist"), ("eta", "0.1"), ("max_depth", "6"),
        ("max_bin", "256"), ("subsample", "1"), ("seed", "1"), ("nthread", Environment.ProcessorCount.ToString(CultureInfo.InvariantCulture)),
    ];

    public async Task<string> RunAsync(BenchContext context, CancellationToken ct)
    {
        var rows = context.Quick ? 100_000 : 1_000_000;
        const int cols = 158, rounds = 300;
        var version = XGBoostLibrary.EnsureLoaded();
        context.Line($"libxgboost {version}; {rows:N0} rows x {cols} features, {rounds} rounds, {string.Join(' ', Parameters.Select(p => p.Key + "=" + p.Value))}");

        var (x, y) = Data(rows, cols, seed: 7);
        var sw = Stopwatch.StartNew();
        using var train = new DMatrix(x, rows, cols, y);
        var build = sw.Elapsed;
        using var booster = Booster.Create(train);
        foreach (var (k, v) in Parameters) booster.SetParameter(k, v);
        for (var i = 0; i < rounds; i++) booster.UpdateOneIteration(i, train);
        var wrapper = sw.Elapsed;
        context.Line($"wrapper: DMatrix {build.TotalSeconds:F2} s, total {wrapper.TotalSeconds:F2} s");

        var buffer = Path.Combine(context.WorkDir, "train.buffer");
        train.SaveBinary(buffer);
        var conf = Path.Combine(context.WorkDir, "train.conf");
        await File.WriteAllLinesAsync(conf,
            Parameters.Select(p => $"{p.Key} = {p.Value}")
                .Concat([$"num_round = {rounds}", $"data = \"{buffer}\"", $"model_out = \"{Path.Combine(context.WorkDir, "cli.model")}\"", "save_period = 0", "silent = 1"]), ct);
        var cli = Stopwatch.StartNew();
        var process = Process.Start(new ProcessStartInfo("xgboost", conf) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = context.WorkDir })
            ?? throw new InvalidOperationException("Could not start the xgboost CLI (apt-get install xgboost).");
        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        await process.WaitForExitAsync(ct);
        var cliTime = cli.Elapsed;
        if (process.ExitCode != 0) throw new InvalidOperationException($"xgboost CLI failed ({process.ExitCode}): {await stderr}{await stdout}");
        context.Line($"xgboost CLI (binary DMatrix load + train + save): {cliTime.TotalSeconds:F2} s");

        var ratio = wrapper.TotalSeconds / cliTime.TotalSeconds;
        context.Line($"xgboost wrapper / CLI: {ratio:F3}x");

        if (context.Args?.Contains("--xgboost-only") != true)
        {
            var frame = new FeatureFrame(x, rows, Enumerable.Range(0, cols).Select(c => $"f{c}").ToArray());
            var data = new TrainingData(frame, y, new TargetSpec(TargetKind.Return, 5), Seed: 1);
            foreach (var kind in new[] { ModelKinds.FastTree, ModelKinds.LightGbm })
            {
                var spec = new ModelSpec(kind, new SortedDictionary<string, string>(StringComparer.Ordinal)
                {
                    ["trees"] = rounds.ToString(CultureInfo.InvariantCulture), ["leaves"] = "64", ["learning_rate"] = "0.1",
                    ["threads"] = Environment.ProcessorCount.ToString(CultureInfo.InvariantCulture),
                });
                var fit = Stopwatch.StartNew();
                using (MlNetTreeModel.Fit(spec, data)) { }
                context.Line($"{kind} (ML.NET, {rounds} trees x 64 leaves, from the float array): {fit.Elapsed.TotalSeconds:F2} s, "
                    + $"{fit.Elapsed.TotalSeconds / cliTime.TotalSeconds:F3}x the xgboost CLI");
            }
        }
        return $"{Name}: {wrapper.TotalSeconds:F2} s ({ratio:F3}x vs xgboost CLI {cliTime.TotalSeconds:F2} s; target <= 1.15; {rows:N0}x{cols}, {rounds} rounds)";
    }

    /// <summary>Features N(0,1) with some missing values; the label depends non-linearly on a handful of them.</summary>
    private static (float[] X, double[] Y) Data(int rows, int cols, int seed)
    {
        var x = new float[(long)rows * cols];
        var y = new double[rows];
        Parallel.For(0, rows, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, i =>
        {
            var r = new Random(seed * 1_000_003 + i);
            var off = (long)i * cols;
            for (var c = 0; c < cols; c++) x[off + c] = r.NextDouble() < 0.01 ? float.NaN : (float)(r.NextDouble() * 2 - 1);
            double F(int c) => float.IsNaN(x[off + c]) ? 0 : x[off + c];
            y[i] = Math.Sin(3 * F(0)) + F(1) * F(2) + 0.5 * Math.Abs(F(3)) + 0.1 * (r.NextDouble() - 0.5);
        });
        return (x, y);
    }
}
