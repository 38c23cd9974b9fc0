using Platform.ServiceDefaults;
using Dapr.Workflow;
using Platform.Backtesting.Runs;
using Platform.Backtesting.Testing;
using Platform.Backtesting.Engine.Modeling;
using Platform.Backtesting.Engine.Runs;
using Platform.Workflows;

namespace Platform.Backtesting.Workflows;

/// <summary>What a finished run's workflow records: where its report is and its headline figures.</summary>
public sealed record BacktestOutcome(string ReportKey, double TotalReturn, double Sharpe, double BenchmarkTotalReturn, int Trades);

/// <summary>
/// A backtest as a durable workflow: one activity loads the bars, runs the strategy and its benchmark and
/// stores the report. A run that throws (unknown symbol, empty range, a strategy error) fails the instance
/// with its reason; the runner survives it. Its end is published as <see cref="WorkflowStatusChanged"/> on both engines
/// (<see cref="WorkflowStatusEvents"/>).
/// </summary>
public sealed class BacktestWorkflow : Workflow<BacktestSpec, BacktestOutcome>
{
    public override Task<BacktestOutcome> RunAsync(WorkflowContext context, BacktestSpec input) =>
        context.PublishingStatusAsync(() => context.CallActivityAsync<BacktestOutcome>(nameof(RunBacktestActivity), input));
}

internal sealed class ModelLease(LoadedModel loaded) : IDisposable
{
    public LoadedModel Loaded { get; } = loaded;
    public void Dispose() => Loaded.Model.Dispose();
}

/// <summary>Runs one backtest and saves its report; idempotent (a rerun overwrites the same report).</summary>
public sealed class RunBacktestActivity(BacktestRunner runner, BacktestReports reports, BacktestProgress progress, HaltPoints? halts = null)
    : WorkflowActivity<BacktestSpec, BacktestOutcome>
{
    public override async Task<BacktestOutcome> RunAsync(WorkflowActivityContext context, BacktestSpec input)
    {
        var ct = context.CancellationToken;
        try
        {
            var market = await runner.LoadAsync(input, ct);
            using var model = await runner.LoadModelAsync(input, ct) is { } m ? new ModelLease(m) : null;
            halts?.Reach(KillPoints.Simulate);
            // The simulation is CPU-bound and can run for minutes: on a thread of its own, off the runner's and the pool's.
            var report = await LongWork.RunAsync(() => runner.Run(input, market, progress.For(context.InstanceId), ct: ct, model: model?.Loaded), ct);
            await reports.SaveAsync(context.InstanceId, report, ct);
            halts?.Reach(KillPoints.AfterSave);
            return new BacktestOutcome(BacktestReports.Key(context.InstanceId), report.Strategy.Returns.TotalReturn,
                report.Strategy.Risk.Sharpe, report.Benchmark.Returns.TotalReturn, report.Strategy.Trades.Count);
        }
        finally
        {
            progress.Remove(context.InstanceId);
        }
    }
}
