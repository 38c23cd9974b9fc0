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
/// Quality of each candidate against the baselines on the real daily files in <c>shared/data/market</c> (Yahoo CSVs,
/// parsed directly), with nested evaluation: alpha158@1 features, pooled symbols, the last 20% of the dates as an
/// untouched final period, 5 expanding inner folds (purge and embargo = h) for the inner scores. Every model is then
/// refitted on all inner rows (XGBoost with the median rounds early stopping chose) and scored once on the final
/// period: pooled and per symbol, with a 90% moving-block bootstrap interval (blocks of 20 dates, 500 resamples) for
/// the metric and for its difference to the best baseline. Returns: rank IC (and IC, hit rate, RMSE). Volatility: QLIKE
/// (and R², RMSE). --quick: fewer boosting rounds and trees.
/// </summary>
public sealed class ModelQualityBenchmark : IBenchmark
{
    public string Name => "model-quality";
    public string Description => "Nested evaluation of ridge/xgboost/fasttree/lightgbm/ensemble vs baselines on the daily market files (final period, intervals)";

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
        var trees = context.Quick ? "100" : "300";
        var xgb = new ModelSpec(ModelKinds.XGBoost).With("num_boost_round", rounds).With("max_depth", "4").With("eta", "0.03")
            .With("subsample", "0.8").With("colsample_bytree", "0.5").With("min_child_weight", "20");
        var ridge = new ModelSpec(ModelKinds.Ridge).With("alpha", "100");
        var fastTree = new ModelSpec(ModelKinds.FastTree).With("trees", trees).With("leaves", "16").With("min_leaf", "50").With("learning_rate", "0.03");
        var lightGbm = new ModelSpec(ModelKinds.LightGbm).With("trees", trees).With("leaves", "16").With("min_leaf", "50").With("learning_rate", "0.03");
        var summary = new List<string>();
        foreach (var target in new[] { new TargetSpec(TargetKind.Return, 5), new TargetSpec(TargetKind.Volatility, 5) })
        {
            var volatility = target.Kind == TargetKind.Volatility;
            var metric = volatility ? "qlike" : "rank_ic";
            var warmUp = FeatureSets.CreateCalculator(set.Id).WarmUpPeriod;
            var ds = DatasetBuilder.Build(new DatasetSpec(symbols, from, to, "1d", new FeatureSetRef(set.Id, set.Hash, set.Features, warmUp), target), inputs);
            var split = HoldoutSplit.Create(ds, 0.2);
            var folds = split.InnerFolds(ds, new WalkForwardOptions { Folds = 5 });
            context.Line("");
            context.Line($"target {target.Id}: {ds.Rows} rows; inner folds test {folds[0].TestStart:yyyy-MM-dd}..{folds[^1].TestEnd:yyyy-MM-dd}; " +
                $"final period {split.FinalStart:yyyy-MM-dd}..{split.FinalEnd:yyyy-MM-dd} ({split.Final.Length} rows); metric {metric}");
            ModelSpec[] baselines = volatility
                ? [new(ModelKinds.HistoricalMean), new(ModelKinds.LastValue), new(ModelKinds.HarRv)]
                : [new(ModelKinds.Zero), new(ModelKinds.HistoricalMean), new(ModelKinds.LastValue)];
            ModelSpec[] candidates = volatility
                ? [ridge, xgb, fastTree, lightGbm, new(ModelKinds.Ensemble, Members: [new(ModelKinds.HarRv), lightGbm])]
                : [ridge, xgb, fastTree, lightGbm, new(ModelKinds.Ensemble, Members: [ridge, lightGbm])];
            var (finalX, finalY) = ds.Take(split.Final);
            var finalTimes = split.Final.Select(r => ds.Times[r]).ToArray();
            var results = new List<(string Model, bool Baseline, ValidationReport Inner, double[] P, MetricSet Final, double Seconds)>();
            double? Metric(double[] p, int[] sample)
            {
                var rows = sample.Select(k => split.Final[k]).ToArray();
                return Evaluator.Score(ds, rows, sample.Select(k => finalY[k]).ToArray(), sample.Select(k => p[k]).ToArray(), out _, out _).Get(metric);
            }
            var higher = MetricSet.HigherIsBetter(metric);
            (string Model, bool Baseline, ValidationReport Inner, double[] P, MetricSet Final, double Seconds) best = default;
            var zeroBest = false;
            var header = false;
            // Baselines first: each candidate's line (printed as soon as it is done) compares it with the best of them.
            foreach (var spec in baselines.Concat(candidates))
            {
                ct.ThrowIfCancellationRequested();
                var sw = Stopwatch.StartNew();
                var inner = Evaluator.Evaluate(ds, folds, spec, 42, ct: ct);
                double[] p;
                using (var model = Evaluator.Fit(ds, split.Inner, FinalPeriod.RefitSpec(spec, inner.Folds), 42)) p = model.Predict(finalX);
                var final = Evaluator.Score(ds, split.Final, finalY, p, out _, out _);
                var r = (Model: inner.Model, Baseline: baselines.Contains(spec), Inner: inner, P: p, Final: final, Seconds: sw.Elapsed.TotalSeconds);
                results.Add(r);
                if (!r.Baseline && !header)
                {
                    var scoredBaselines = results.Where(b => b.Baseline && b.Final.Get(metric).HasValue).ToList();
                    best = scoredBaselines.Count == 0 ? default
                        : higher ? scoredBaselines.MaxBy(b => b.Final.Get(metric)) : scoredBaselines.MinBy(b => b.Final.Get(metric));
                    // As in the gate: for IC metrics a constant baseline (undefined IC) counts as 0, no skill.
                    if (!volatility && results.Any(b => b.Baseline && b.Final.Get(metric) is null) && (best.Model is null || best.Final.Get(metric) < 0))
                    {
                        var constant = results.First(b => b.Baseline && b.Final.Get(metric) is null);
                        best = constant with { P = new double[finalY.Length] };
                        zeroBest = true;
                    }
                    context.Line($"best baseline on the final period: {best.Model ?? "-"}{(zeroBest ? " (constant: IC counted as 0)" : "")}");
                    context.Line(volatility
                        ? $"{"model",-44} {"innerQLIKE",10} {"QLIKE",8} {"90% interval",18} {"vs best",8} {"90% interval",18} {"R2",8} {"RMSE",8} {PerSymbolHeader(symbols)} {"secs",6}"
                        : $"{"model",-44} {"innerRIC",9} {"RankIC",8} {"90% interval",18} {"vs best",8} {"90% interval",18} {"IC",8} {"hit",7} {"RMSE",8} {PerSymbolHeader(symbols)} {"secs",6}");
                    foreach (var b in results.Where(b => b.Baseline)) Print(b);
                    header = true;
                }
                if (!r.Baseline) Print(r);
            }

            void Print((string Model, bool Baseline, ValidationReport Inner, double[] P, MetricSet Final, double Seconds) r)
            {
                var value = r.Final.Get(metric);
                var ci = Bootstrap.BlockInterval(finalTimes, sample => Metric(r.P, sample));
                double? diff = best.Model is null || r.Model == best.Model || value is null ? null : value - (zeroBest ? 0 : best.Final!.Get(metric));
                var diffCi = diff is null ? null : zeroBest ? ci : Bootstrap.BlockInterval(finalTimes, sample => Metric(r.P, sample) - Metric(best.P!, sample));
                var perSymbol = string.Join(" ", Enumerable.Range(0, symbols.Length).Select(si =>
                {
                    var sample = Enumerable.Range(0, split.Final.Length).Where(k => ds.SymbolIndex[split.Final[k]] == si).ToArray();
                    return F(Metric(r.P, sample), 8);
                }));
                var label = (r.Baseline ? "[b] " : "") + (r.Model.Length > 40 ? r.Model[..37] + "..." : r.Model);
                context.Line(volatility
                    ? $"{label,-44} {F(r.Inner.Aggregate.Qlike, 10)} {F(value, 8)} {I(ci),18} {F(diff, 8)} {I(diffCi),18} {F(r.Final.RSquared, 8)} {F(r.Final.Rmse, 8)} {perSymbol} {r.Seconds,6:F1}"
                    : $"{label,-44} {F(r.Inner.Aggregate.RankIc, 9)} {F(value, 8)} {I(ci),18} {F(diff, 8)} {I(diffCi),18} {F(r.Final.Ic, 8)} {F(r.Final.HitRate, 7)} {F(r.Final.Rmse, 8)} {perSymbol} {r.Seconds,6:F1}");
            }
            var winner = results.Where(r => !r.Baseline && r.Inner.Score(metric).HasValue)
                .OrderBy(r => higher ? -r.Inner.Score(metric)!.Value : r.Inner.Score(metric)!.Value).FirstOrDefault();
            if (winner.Model is not null)
            {
                var gate = PromotionGate.Decide(metric, new GateEntry(winner.Model, winner.Final.Get(metric)),
                    results.Where(r => r.Baseline).Select(r => new GateEntry(r.Model, r.Final.Get(metric))).ToList(), null);
                context.Line($"selected on inner folds: {winner.Model}; gate: {(gate.Promote ? "promote" : "refuse")} ({gate.Reason})");
                summary.Add($"{target.Id}: {winner.Model} {metric} {F(winner.Final.Get(metric), 0).Trim()} vs {best.Model ?? "-"} {(zeroBest ? "0 (constant)" : F(best.Final?.Get(metric), 0).Trim())}, gate {(gate.Promote ? "promote" : "refuse")}");
            }
        }
        return Task.FromResult($"{Name}: {string.Join("; ", summary)} ({string.Join(",", symbols)}, final 20% untouched)");
    }

    private static string PerSymbolHeader(string[] symbols) => string.Join(" ", symbols.Select(s => s.PadLeft(8)));

    private static string F(double? v, int width) => (v is null ? "-" : v.Value.ToString("0.0000", CultureInfo.InvariantCulture)).PadLeft(width);

    private static string I(Bootstrap.Interval? i) => i is null ? "-" : $"[{i.Low.ToString("0.000", CultureInfo.InvariantCulture)}, {i.High.ToString("0.000", CultureInfo.InvariantCulture)}]";

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
