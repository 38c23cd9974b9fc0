using Microsoft.Extensions.DependencyInjection;
using Platform.MarketData;
using Platform.OfflineStore;
using Platform.Training.Runs;
using Platform.Training.Workflows;
using Platform.Workflows;

namespace Platform.Host;

/// <summary>
/// On a demo run, trains and promotes an initial model over the demo universe once the seeded bars are stored,
/// so a prediction through the gateway works right away. The run's instance id is a business key, so later runs
/// (or a restart mid-training) find the existing run instead of training again.
/// </summary>
public static class DemoBootstrap
{
    public const string RunId = "demo-initial-model";
    public const string ModelName = "return-h5";

    /// <summary>ML.NET candidates only: nothing to install on a fresh machine (XGBoost would need libxgboost0).</summary>
    public static readonly IReadOnlyList<Modeling.Models.ModelSpec> Candidates =
        [TrainingRequest.Candidate(Modeling.Models.ModelKinds.FastTree), TrainingRequest.Candidate(Modeling.Models.ModelKinds.LightGbm)];

    /// <summary>Waits (up to <paramref name="timeout"/>) for the demo universe, then schedules the training run. Null when there is no demo.</summary>
    public static async Task<string?> StartAsync(EmbeddedPlatform platform, TimeSpan timeout, CancellationToken ct)
    {
        var marketData = platform.Services("marketdata");
        var options = marketData.GetRequiredService<MarketDataOptions>();
        if (options.Demo.Enabled != true) return null;
        var store = marketData.GetRequiredService<IBarStore>();
        var deadline = DateTime.UtcNow + timeout;
        IReadOnlyList<SeriesCoverage> coverage;
        while ((coverage = await store.GetCoverageAsync(ct: ct)).Count < options.Demo.Symbols)
        {
            if (DateTime.UtcNow > deadline) return null;
            await Task.Delay(250, ct);
        }
        var symbols = coverage.Where(c => c.Interval.Name == "1d").Select(c => c.Symbol).Distinct().Order().ToList();
        var request = new TrainingRequest(symbols, "return", 5, Model: ModelName, Candidates: Candidates);
        var workflows = platform.Services("training").GetRequiredService<WorkflowClient>();
        await workflows.ScheduleNewWorkflowAsync(nameof(TrainingWorkflow), RunId, request, ct);
        return RunId;
    }
}
