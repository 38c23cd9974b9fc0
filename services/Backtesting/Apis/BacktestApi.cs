using Microsoft.AspNetCore.Http.HttpResults;
using Platform.Backtesting.Data;
using Platform.Backtesting.Engine.Data;
using Platform.Backtesting.Engine.Modeling;
using Platform.Backtesting.Runs;
using Platform.Backtesting.Engine.Runs;
using Platform.Backtesting.Engine.Statistics;
using Platform.Backtesting.Workflows;
using Platform.Quant;
using Platform.Workflows;

namespace Platform.Backtesting.Apis;

public sealed record BacktestAccepted(string Id, string Status, string Location);

/// <summary>A run as the API shows it: status (pending, running, completed, failed, terminated), its reason when it failed, and the report once done.</summary>
public sealed record BacktestRunView(
    string Id, string Status, BacktestSpec? Spec, DateTimeOffset CreatedAt, DateTimeOffset? CompletedAt,
    double? Progress, string? Error, BacktestReport? Report);

public sealed record StrategyInfo(string Name, IReadOnlyDictionary<string, double> Parameters);

public static class BacktestApi
{
    public static RouteGroupBuilder MapBacktestApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/backtests").WithTags("Backtests");
        group.MapPost("/", StartAsync).WithName("StartBacktest").WithSummary("Start a backtest run (a durable workflow); poll its status with GET.");
        group.MapGet("/{id}", GetAsync).WithName("GetBacktest").WithSummary("A run's status and, once completed, its statistics, curves and trades.");
        group.MapGet("/strategies", Strategies).WithName("ListStrategies").WithSummary("The strategies and their parameter defaults.");
        return group;
    }

    internal static async Task<Results<Accepted<BacktestAccepted>, ValidationProblem, ProblemHttpResult>> StartAsync(
        BacktestSpec spec, IBarSource bars, WorkflowClient workflows, IRegisteredModelSource models, CancellationToken ct)
    {
        var errors = BacktestSpecValidator.Validate(spec);
        if (errors.Count > 0) return TypedResults.ValidationProblem(errors, title: "The backtest request is invalid.");
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
        var id = "bt-" + Guid.NewGuid().ToString("N");
        await workflows.ScheduleNewWorkflowAsync(nameof(BacktestWorkflow), id, spec, ct);
        var location = $"/v1/backtests/{id}";
        return TypedResults.Accepted(location, new BacktestAccepted(id, "pending", location));
    }

    internal static async Task<Results<Ok<BacktestRunView>, ProblemHttpResult>> GetAsync(
        string id, WorkflowClient workflows, BacktestReports reports, BacktestProgress progress, CancellationToken ct)
    {
        WorkflowState state;
        try { state = await workflows.GetWorkflowStateAsync(id, getInputsAndOutputs: true, ct); }
        catch (ArgumentException) { return NotFound(id); } // not a valid instance id: no such run
        if (!state.Exists || state.Name != nameof(BacktestWorkflow)) return NotFound(id);

        var status = state.RuntimeStatus.ToString().ToLowerInvariant();
        var report = state.RuntimeStatus == WorkflowRuntimeStatus.Completed ? await reports.GetAsync(id, ct) : null;
        return TypedResults.Ok(new BacktestRunView(id, status, state.ReadInputAs<BacktestSpec>(), state.CreatedAt, state.CompletedAt,
            state.RuntimeStatus.IsTerminal() ? 1.0 : progress.Get(id) ?? 0.0, state.FailureDetails?.ErrorMessage, report));
    }

    internal static Ok<StrategyInfo[]> Strategies() =>
        TypedResults.Ok(StrategyCatalog.Names.Select(n => new StrategyInfo(n, StrategyCatalog.Defaults[n])).ToArray());

    private static ProblemHttpResult NotFound(string id) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Backtest not found.", detail: $"No backtest run '{id}'.");
}
