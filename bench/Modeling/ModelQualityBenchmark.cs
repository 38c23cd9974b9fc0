using System.Diagnostics;
using System.Globalization;
using Platform.Modeling.Datasets;
using Platform.Modeling.Models;
using Platform.Modeling.Targets;
using Platform.Modeling.Validation;
using Platform.Quant;
using Platform.Quant.Features;

namespace Platform.Bench.Modeling;

/// <summary>
/// Walk-forward quality of each model against the baselines on the real daily files in <c>shared/data/market</c>
/// (Yahoo CSVs, parsed directly): alpha158@1 features, pooled symbols, 5 expanding folds with purge and embargo = h.
/// Returns: IC, Rank IC, hit rate, RMSE. Volatility: R², QLIKE. --quick: fewer xgboost rounds.
/// </summary>
public sealed class ModelQualityBenchmark : IBenchmark
{
    public string Name => "model-quality";
    public string Description => "Walk-forward report of ridge/xgboost/ensemble vs baselines on the daily market files";

    public Task<string> RunAsync(BenchContext context, CancellationToken ct)
    {
        var dir = context.SharedDataDir is { } s ? Path.Combine(s, "market") : throw new InvalidOperationException("No shared data directory (--shared DIR).");
        var files = Directory.GetFiles(dir, "*-daily.csv").Order(StringComparer.Ordinal).ToArray();
        var set = FeatureSets.Alpha158V1;
        var inputs = new List<SymbolInput>();
        foreach (var file in files)
        {
            var symbol = Path.GetFileName(file).Split('-')[0].ToUpperInvariant();
            var bars = ReadYahoo(file);
            var features = FeatureBatch.Replay(() => FeatureSets.CreateCalculator(set.Id), bars);
            inputs.Add(new SymbolInput(symbol, bars, bars.Select(b => b.Time).ToArray(), features));
            context.Line($"{symbol}: {bars.Count} bars {bars[0].Time:yyyy-MM-dd}..{bars[^1].Time:yyyy-MM-dd}");
        }
        var symbols = inputs.Select(i => i.Symbol).ToArray();
        var from = inputs.Min(i => i.Bars[0].Time);
        var to = inputs.Max(i => i.Bars[^1].Time);
        var rounds = context.Quick ? "100" : "300";
        var xgb = new ModelSpec(ModelKinds.XGBoost).With("num_boost_round", rounds).With("max_depth", "4").With("eta", "0.03")
            .With("subsample", "0.8").With("colsample_bytree", "0.5").With("min_child_weight", "20");
        var ridge = new ModelSpec(ModelKinds.Ridge).With("alpha", "100");
        var summary = new List<string>();
        foreach (var target in new[] { new TargetSpec(TargetKind.Return, 5), new TargetSpec(TargetKind.Volatility, 5) })
        {
            var warmUp = FeatureSets.CreateCalculator(set.Id).WarmUpPeriod;
            var ds = DatasetBuilder.Build(new DatasetSpec(symbols, from, to, "1d", new FeatureSetRef(set.Id, set.Hash, set.Features, warmUp), target), inputs);
            var folds = WalkForward.Split(ds, new WalkForwardOptions { Folds = 5 });
            context.Line("");
            context.Line($"target {target.Id}: {ds.Rows} rows, fingerprint {ds.Fingerprint[..12]}, 5 expanding folds, test {folds[0].TestStart:yyyy-MM-dd}..{folds[^1].TestEnd:yyyy-MM-dd}");
            ModelSpec[] specs = target.Kind == TargetKind.Volatility
                ? [new(ModelKinds.HistoricalMean), new(ModelKinds.LastValue), new(ModelKinds.HarRv), ridge, xgb, new(ModelKinds.Ensemble, Members: [new(ModelKinds.HarRv), xgb])]
                : [new(ModelKinds.Zero), new(ModelKinds.HistoricalMean), new(ModelKinds.LastValue), ridge, xgb, new(ModelKinds.Ensemble, Members: [ridge, xgb])];
            context.Line(target.Kind == TargetKind.Volatility
                ? $"{"model",-60} {"RMSE",9} {"R2",8} {"QLIKE",8} {"IC",8} {"RankIC",8} {"secs",6}"
                : $"{"model",-60} {"IC",8} {"RankIC",8} {"ICIR",7} {"hit",7} {"RMSE",9} {"secs",6}");
            foreach (var spec in specs)
            {
                var sw = Stopwatch.StartNew();
                var r = Evaluator.Evaluate(ds, folds, spec, 42, ct: ct);
                var m = r.Aggregate;
                var label = r.Model.Length > 60 ? r.Model[..57] + "..." : r.Model;
                context.Line(target.Kind == TargetKind.Volatility
                    ? $"{label,-60} {F(m.Rmse, 9)} {F(m.RSquared, 8)} {F(m.Qlike, 8)} {F(m.Ic, 8)} {F(m.RankIc, 8)} {sw.Elapsed.TotalSeconds,6:F1}"
                    : $"{label,-60} {F(m.Ic, 8)} {F(m.RankIc, 8)} {F(r.Icir, 7)} {F(m.HitRate, 7)} {F(m.Rmse, 9)} {sw.Elapsed.TotalSeconds,6:F1}");
                if (spec.Kind == ModelKinds.XGBoost)
                    summary.Add(target.Kind == TargetKind.Volatility ? $"vol h5 xgboost QLIKE {F(m.Qlike, 0)} R2 {F(m.RSquared, 0)}" : $"ret h5 xgboost RankIC {F(m.RankIc, 0)} hit {F(m.HitRate, 0)}");
                if (spec.Kind == ModelKinds.HarRv)
                    summary.Add($"HAR-RV QLIKE {F(m.Qlike, 0)} R2 {F(m.RSquared, 0)}");
            }
        }
        return Task.FromResult($"{Name}: {string.Join("; ", summary)} ({string.Join(",", symbols)}, walk-forward 5 folds)");
    }

    private static string F(double? v, int width) => (v is null ? "-" : v.Value.ToString("0.0000", CultureInfo.InvariantCulture)).PadLeft(width);

    /// <summary>Date,Open,High,Low,Close,Adj Close,Volume; rows that do not parse (vendor "null" rows) are skipped.</summary>
    internal static List<Bar> ReadYahoo(string path)
    {
        var bars = new List<Bar>();
        foreach (var line in File.ReadLines(path).Skip(1))
        {
            var f = line.Split(',');
            if (f.Length < 7) continue;
            if (!DateTime.TryParseExact(f[0], "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var date)) continue;
            double P(int i) => double.Parse(f[i], CultureInfo.InvariantCulture);
            try
            {
                var bar = new Bar(new DateTimeOffset(date, TimeSpan.Zero), P(1), P(2), P(3), P(4), P(6), AdjClose: P(5));
                if (bar.Close > 0 && (bars.Count == 0 || bar.Time > bars[^1].Time)) bars.Add(bar);
            }
            catch (FormatException) { }
        }
        return bars;
    }
}
