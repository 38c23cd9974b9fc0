using System.Diagnostics;
using Microsoft.Extensions.Configuration;
using Platform.Modeling.Models;
using Platform.Modeling.Validation;
using Platform.OfflineStore;
using Platform.Quant.Features;
using Platform.Training.Data;
using Platform.Training.Runs;

namespace Platform.Bench.Training;

/// <summary>
/// How well the training run's memory estimate (<see cref="TrainingLimits.EstimateBytes"/>, the figure the memory budget
/// is checked against) bounds what a run really takes: synthetic datasets of growing size are built through the
/// service's own dataset code, then validated walk-forward (ridge, then XGBoost) on two folds and refitted as the
/// final period is, and the process's peak working set above its start is compared with the estimate. Sizes ascend, so
/// each peak belongs to the largest dataset so far. Run it on its own: the peak is the process's.
/// </summary>
public sealed class TrainingMemoryBenchmark : IBenchmark
{
    public string Name => "training-memory";
    public string Description => "peak working set of a training run's dataset and fits vs the memory budget's estimate (estimate should bound it)";

    public async Task<string> RunAsync(BenchContext context, CancellationToken ct)
    {
        const int bars = 1500;
        int[] sizes = context.Quick ? [10, 40] : [10, 40, 100];
        var reader = OfflineStoreExtensions.CreateReader(new ConfigurationBuilder().Build(), context.WorkDir);
        var limits = new TrainingLimits { MaxSymbols = 1000, MaxDatasetRows = long.MaxValue, MemoryBudgetMiB = 1 << 20 };
        using var process = Process.GetCurrentProcess();
        GC.Collect();
        GC.WaitForPendingFinalizers();
        process.Refresh();
        var start = process.WorkingSet64;
        context.Line($"start: working set {start / Mi:N0} MiB; {bars} synthetic bars per symbol, alpha158@1, ridge then xgboost (50 rounds), 2 folds");
        var worst = 0.0;
        foreach (var symbols in sizes)
        {
            ct.ThrowIfCancellationRequested();
            var datasets = new TrainingDatasets(new TrainingBarSource(reader, bars), limits);
            var request = new TrainingRequest(Enumerable.Range(0, symbols).Select(i => $"MEM{i:D3}").ToList(), "return", 5,
                DataSource: DataSources.Synthetic, Folds: 2);
            var clock = Stopwatch.StartNew();
            var ds = await datasets.GetAsync(request, ct);
            var split = HoldoutSplit.Create(ds, request.FinalFraction);
            var folds = split.InnerFolds(ds, request.WalkForward);
            foreach (var spec in new[] { TrainingRequest.Candidate(ModelKinds.Ridge), new ModelSpec(ModelKinds.XGBoost).With("num_boost_round", "50").With("max_depth", "4") })
            {
                Evaluator.Evaluate(ds, folds, spec, request.Seed, ct: ct);
                FinalPeriod.Score(ds, split, spec, request.Seed);
            }
            process.Refresh();
            var peak = process.PeakWorkingSet64 - start;
            var estimate = TrainingLimits.EstimateBytes(ds.Rows, ds.Frame.Columns);
            var ratio = (double)peak / estimate;
            worst = Math.Max(worst, ratio);
            context.Line($"{symbols,4} symbols: {ds.Rows,8:N0} rows x {ds.Frame.Columns} features; estimate {estimate / Mi,6:N0} MiB; " +
                $"peak above start {peak / Mi,6:N0} MiB ({ratio:P0} of the estimate); {clock.Elapsed.TotalSeconds:F1} s");
            GC.KeepAlive(ds);
        }
        return $"{Name}: peak {worst:P0} of the estimate at most (the estimate should bound it: <= 100%)";
    }

    private const long Mi = 1024 * 1024;
}
