using Microsoft.AspNetCore.Http.HttpResults;
using Platform.Backtesting.Data;
using Platform.Backtesting.Engine.Data;
using Platform.Backtesting.Engine.Modeling;
using Platform.Backtesting.Runs;
using Platform.Backtesting.Engine.Runs;
using Platform.Backtesting.Engine.Statistics;
using Platform.Backtesting.Workflows;
using Platform.Contracts;
using Platform.OfflineStore;
using Platform.Quant;
using Platform.Workflows;

namespace Platform.Backtesting.Apis;

public sealed record BacktestAccepted(string Id, string Status, string Location, string? Owner);

/// <summary>
/// A run as the API shows it: status (pending, running, completed, failed, terminated), its reason when it failed or was
/// cancelled, the report once done, and its owner (the caller that started it; null when the platform did).
/// </summary>
public sealed record BacktestRunView(
    string Id, string Status, BacktestSpec? Spec, DateTimeOffset CreatedAt, DateTimeOffset? CompletedAt,
    double? Progress, string? Error, BacktestReport? Report, string? Owner);

public sealed record StrategyInfo(string Name, IReadOnlyDictionary<string, double> Parameters);

public static class BacktestApi
{
    /// <summary>How long DELETE waits for the run to stop before answering 202 (it stops within the runner's poll interval).</summary>
    private static readonly TimeSpan CancelWait = TimeSpan.FromSeconds(5);

    public static RouteGroupBuilder MapBacktestApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/backtests").WithTags("Backtests")
            // 503 with Retry-After from any of them when the workflow engine (Dapr's, under a sidecar) does not answer.
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        group.MapPost("/", StartAsync).WithName("StartBacktest")
            .WithSummary("Start a backtest run (a durable workflow); poll its status with GET.")
            .WithDescription("Values out of range (cash, commissions, dates) and requests over a limit (Backtesting:Limits: symbols, bars) get 400 " +
                "before a run is created; a caller at its concurrent-run limit gets 429.")
            .ProducesProblem(StatusCodes.Status429TooManyRequests);
        group.MapGet("/{id}", GetAsync).WithName("GetBacktest")
            .WithSummary("A run's status, owner and, once completed, its statistics, curves and trades. Visible to its owner and admin only.");
        group.MapDelete("/{id}", CancelAsync).WithName("CancelBacktest")
            .WithSummary("Cancel a run: it ends terminated, its simulation is stopped, and it is not resumed after a restart.")
            .WithDescription("200 with the run once it has stopped (a finished run is returned as it is: cancelling it changes nothing), " +
                "202 when it is still stopping, 404 for an unknown run or one the caller may not see.");
        group.MapGet("/strategies", Strategies).WithName("ListStrategies").WithSummary("The strategies and their parameter defaults.");
        return group;
    }

    internal static async Task<Results<Accepted<BacktestAccepted>, ValidationProblem, ProblemHttpResult>> StartAsync(
        BacktestSpec spec, HttpContext http, IBarSource bars, IBarReader reader, WorkflowRuns runs, BacktestLimits limits,
        IRegisteredModelSource models, CancellationToken ct)
    {
        var errors = BacktestSpecValidator.Validate(spec);
        foreach (var (key, value) in BacktestLimits.CheckValues(spec)) errors.TryAdd(key, value);
        if (errors.Count > 0) return TypedResults.ValidationProblem(errors, title: "The backtest request is invalid.");
        errors = limits.Check(spec);
        if (errors.Count > 0) return TypedResults.ValidationProblem(errors, title: "The backtest request exceeds a limit.");
        if (spec.Model is { } model)
        {
            // Fix the version now: an alias (champion by default) resolves to the number the run will trade throughout.
            try { spec = spec with { ModelVersion = (await models.ResolveAsync(model, spec.ModelVersion ?? "champion", ct)).ToString(System.Globalization.CultureInfo.InvariantCulture) }; }
            catch (Platform.Modeling.Registry.RegistryException ex)
            {
                return TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Unknown model version.", detail: ex.Message);
            }
        }
        var interval = BarInterval.Parse(spec.Interval);
        foreach (var symbol in spec.Symbols)
        {
            if (!await bars.HasSymbolAsync(symbol, interval, ct))
                return TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Unknown symbol.",
                    detail: $"No {interval} bars of '{symbol}' in {bars.Name}.");
        }
        errors = limits.CheckBars(await BacktestLimits.EstimateBarsAsync(spec, interval, reader, ct));
        if (errors.Count > 0) return TypedResults.ValidationProblem(errors, title: "The backtest request exceeds a limit.");

        var owner = Caller.From(http.Request.Headers[Caller.Header])?.Id;
        var id = "bt-" + Guid.NewGuid().ToString("N");
        if (await runs.StartAsync(nameof(BacktestWorkflow), id, spec, owner, limits.Concurrency, ct) is { } refused)
            return TypedResults.Problem(statusCode: StatusCodes.Status429TooManyRequests, title: "Too many backtests at once.", detail: refused.Detail,
                extensions: new Dictionary<string, object?> { ["limit"] = refused.Limit, ["value"] = refused.Value });
        var location = $"/v1/backtests/{id}";
        return TypedResults.Accepted(location, new BacktestAccepted(id, "pending", location, owner));
    }

    internal static async Task<Results<Ok<BacktestRunView>, ProblemHttpResult>> GetAsync(
        string id, HttpContext http, WorkflowRuns runs, BacktestReports reports, BacktestProgress progress, CancellationToken ct)
    {
        if (await FindAsync(id, http, runs, ct) is not { } run) return NotFound(id);
        return TypedResults.Ok(await ViewAsync(run, reports, progress, ct));
    }

    internal static async Task<Results<Ok<BacktestRunView>, Accepted<BacktestRunView>, ProblemHttpResult>> CancelAsync(
        string id, HttpContext http, WorkflowRuns runs, BacktestReports reports, BacktestProgress progress, CancellationToken ct)
    {
        if (await FindAsync(id, http, runs, ct) is not { } run) return NotFound(id);
        if (run.State.RuntimeStatus.IsTerminal()) return TypedResults.Ok(await ViewAsync(run, reports, progress, ct));
        (run, var stopped) = await runs.CancelAsync(run, Caller.From(http.Request.Headers[Caller.Header]), CancelWait, ct);
        if (stopped)
        {
            return TypedResults.Ok(await ViewAsync(run, reports, progress, ct));
        }
        return TypedResults.Accepted($"/v1/backtests/{id}", await ViewAsync(run, reports, progress, ct));
    }

    /// <summary>The run and its owner, or null when there is none or the caller may not see it (the same answer: a 404 tells nothing).</summary>
    private static Task<AdmittedRun?> FindAsync(string id, HttpContext http, WorkflowRuns runs, CancellationToken ct) =>
        runs.FindVisibleAsync(id, nameof(BacktestWorkflow), Caller.From(http.Request.Headers[Caller.Header]), ct);

    private static async Task<BacktestRunView> ViewAsync(AdmittedRun run, BacktestReports reports, BacktestProgress progress, CancellationToken ct)
    {
        var (state, id) = (run.State, run.State.InstanceId);
        var report = state.RuntimeStatus == WorkflowRuntimeStatus.Completed ? await reports.GetAsync(id, ct) : null;
        return new BacktestRunView(id, state.RuntimeStatus.ToString().ToLowerInvariant(), state.ReadInputAs<BacktestSpec>(), state.CreatedAt,
            state.CompletedAt, state.RuntimeStatus.IsTerminal() ? 1.0 : progress.Get(id) ?? 0.0, run.Error, report, run.Owner);
    }

    internal static Ok<StrategyInfo[]> Strategies() =>
        TypedResults.Ok(StrategyCatalog.Names.Select(n => new StrategyInfo(n, StrategyCatalog.Defaults[n])).ToArray());

    private static ProblemHttpResult NotFound(string id) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Backtest not found.", detail: $"No backtest run '{id}'.");
}
