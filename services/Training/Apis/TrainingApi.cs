using Microsoft.AspNetCore.Http.HttpResults;
using Platform.Contracts;
using Platform.Training.Data;
using Platform.Training.Runs;
using Platform.Training.Workflows;
using Platform.Workflows;

namespace Platform.Training.Apis;

public sealed record TrainingRunAccepted(string Id, string Status, string Location, string? Owner);

/// <summary>
/// A run as the API shows it: status (pending, running, completed, failed, terminated), the current step and its progress,
/// the error when it failed, the outcome once done, and its owner (the caller that started it; null when the platform did).
/// </summary>
public sealed record TrainingRunView(string Id, string Status, string? Step, int Done, int Total, string? Detail,
    TrainingRequest? Request, DateTimeOffset CreatedAt, DateTimeOffset? CompletedAt, string? Error, TrainingOutcome? Outcome, string? Owner);

public static class TrainingApi
{
    /// <summary>How long DELETE waits for the run to stop before answering 202 (it stops within the runner's poll interval).</summary>
    private static readonly TimeSpan CancelWait = TimeSpan.FromSeconds(5);

    public static RouteGroupBuilder MapTrainingRunsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/training-runs").WithTags("Training runs")
            // 503 with Retry-After from any of them when the workflow engine (Dapr's, under a sidecar) does not answer.
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        group.MapPost("/", StartAsync).WithName("StartTrainingRun")
            .WithSummary("Start a training run (a durable workflow); poll it with GET.")
            .WithDescription("Every limit (Training:Limits: symbols, candidates, search trials, dataset rows, memory budget) is checked before the run " +
                "is created: a request over one gets 400 naming it and its configured value; a caller at its concurrent-run limit gets 429.")
            .ProducesProblem(StatusCodes.Status429TooManyRequests);
        group.MapGet("/{id}", GetAsync).WithName("GetTrainingRun")
            .WithSummary("A run's status, step, progress, owner and, once done, its walk-forward reports. Visible to its owner and admin only.");
        group.MapGet("/{id}/trials", TrialsAsync).WithName("GetTrainingRunTrials")
            .WithSummary("Every baseline, candidate and search trial of a finished run with parameters, per-fold and final-period metrics.");
        group.MapDelete("/{id}", CancelAsync).WithName("CancelTrainingRun")
            .WithSummary("Cancel a run: it ends terminated, its running step is stopped, and it is not resumed after a restart.")
            .WithDescription("200 with the run once it has stopped (a finished run is returned as it is: cancelling it changes nothing), " +
                "202 when it is still stopping, 404 for an unknown run or one the caller may not see.");
        return group;
    }

    internal static async Task<Results<Accepted<TrainingRunAccepted>, ValidationProblem, ProblemHttpResult>> StartAsync(
        TrainingRequest request, HttpContext http, WorkflowRuns runs, TrainingBarSource bars, TrainingLimits limits, CancellationToken ct)
    {
        var errors = request.Validate();
        if (errors.Count > 0) return TypedResults.ValidationProblem(errors, title: "The training request is invalid.");
        // Limits before anything reads the store: a request for thousands of symbols costs nothing.
        errors = limits.Check(request);
        if (errors.Count > 0) return TypedResults.ValidationProblem(errors, title: "The training request exceeds a limit.");
        errors = await bars.CheckAsync(request, ct);
        if (errors.Count > 0) return TypedResults.ValidationProblem(errors, title: "The training request is invalid.");
        var features = Platform.Quant.Features.FeatureSets.Get(request.FeatureSet).Count;
        errors = limits.CheckDataset(await bars.EstimateRowsAsync(request, ct), features);
        if (errors.Count > 0) return TypedResults.ValidationProblem(errors, title: "The training request exceeds a limit.");

        var owner = Caller.From(http.Request.Headers[Caller.Header])?.Id;
        var id = "train-" + Guid.NewGuid().ToString("N");
        if (await runs.StartAsync(nameof(TrainingWorkflow), id, request, owner, limits.Concurrency, ct) is { } refused)
            return TooMany(refused);
        var location = $"/v1/training-runs/{id}";
        return TypedResults.Accepted(location, new TrainingRunAccepted(id, "pending", location, owner));
    }

    internal static async Task<Results<Ok<TrainingRunView>, ProblemHttpResult>> GetAsync(
        string id, HttpContext http, WorkflowRuns runs, TrainingProgress progress, CancellationToken ct)
    {
        if (await FindAsync(id, http, runs, ct) is not { } run) return NotFound(id);
        return TypedResults.Ok(View(run, progress));
    }

    internal static async Task<Results<Ok<TrainingRunView>, Accepted<TrainingRunView>, ProblemHttpResult>> CancelAsync(
        string id, HttpContext http, WorkflowRuns runs, TrainingProgress progress, CancellationToken ct)
    {
        if (await FindAsync(id, http, runs, ct) is not { } run) return NotFound(id);
        if (run.State.RuntimeStatus.IsTerminal()) return TypedResults.Ok(View(run, progress));
        (run, var stopped) = await runs.CancelAsync(run, Caller.From(http.Request.Headers[Caller.Header]), CancelWait, ct);
        if (stopped)
        {
            progress.Remove(id);
            return TypedResults.Ok(View(run, progress));
        }
        return TypedResults.Accepted($"/v1/training-runs/{id}", View(run, progress));
    }

    internal static async Task<Results<Ok<TrialsView>, ProblemHttpResult>> TrialsAsync(
        string id, HttpContext http, WorkflowRuns runs, CancellationToken ct)
    {
        if (await FindAsync(id, http, runs, ct) is not { State: var state }) return NotFound(id);
        if (state.RuntimeStatus != WorkflowRuntimeStatus.Completed || state.ReadOutputAs<TrainingOutcome>() is not { } outcome)
            return TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "The run has not completed.",
                detail: $"Training run '{id}' is {state.RuntimeStatus.ToString().ToLowerInvariant()}; its trials are listed once it completes.");
        return TypedResults.Ok(TrialsView.From(id, outcome));
    }

    /// <summary>The run and its owner, or null when there is none or the caller may not see it (the same answer: a 404 tells nothing).</summary>
    private static Task<AdmittedRun?> FindAsync(string id, HttpContext http, WorkflowRuns runs, CancellationToken ct) =>
        runs.FindVisibleAsync(id, nameof(TrainingWorkflow), Caller.From(http.Request.Headers[Caller.Header]), ct);

    /// <summary>The run's step and counts come from the workflow's custom status, which both engines report.</summary>
    private static TrainingRunView View(AdmittedRun run, TrainingProgress progress)
    {
        var (state, id) = (run.State, run.State.InstanceId);
        var status = state.ReadCustomStatusAs<TrainingStatus>();
        var outcome = state.RuntimeStatus == WorkflowRuntimeStatus.Completed ? state.ReadOutputAs<TrainingOutcome>() : null;
        return new TrainingRunView(id, state.RuntimeStatus.ToString().ToLowerInvariant(), status?.Step,
            status?.Done ?? 0, status?.Total ?? 0, state.RuntimeStatus.IsTerminal() ? null : progress.Get(id),
            state.ReadInputAs<TrainingRequest>(), state.CreatedAt, state.CompletedAt, run.Error, outcome, run.Owner);
    }

    private static ProblemHttpResult TooMany(RunRefusal refused) =>
        TypedResults.Problem(statusCode: StatusCodes.Status429TooManyRequests, title: "Too many training runs at once.", detail: refused.Detail,
            extensions: new Dictionary<string, object?> { ["limit"] = refused.Limit, ["value"] = refused.Value });

    private static ProblemHttpResult NotFound(string id) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Unknown training run.", detail: $"No training run '{id}'.");
}

/// <summary>One trial as the trials API lists it.</summary>
public sealed record TrialView(int Number, string Role, string Model, string Kind, IReadOnlyDictionary<string, string> Parameters,
    bool Winner, string? Unavailable, double? Seconds, IReadOnlyList<Modeling.Validation.FoldResult> Folds,
    Modeling.Validation.MetricSet Aggregate, Modeling.Validation.MetricSet? Final);

/// <summary>A finished run's trials, with what they share: the data fingerprint, the feature set hash, the code version.</summary>
public sealed record TrialsView(string RunId, string Model, string DatasetFingerprint, string FeatureSet, string FeatureSetHash, string DataSource,
    string? CodeVersion, DateTimeOffset? FinalFrom, DateTimeOffset? FinalTo, string Metric, IReadOnlyList<TrialView> Trials)
{
    public static TrialsView From(string runId, TrainingOutcome outcome)
    {
        var trials = new List<TrialView>();
        void Add(Modeling.Validation.ValidationReport r, string role, bool winner) => trials.Add(new TrialView(trials.Count + 1, role, r.Model, r.Spec.Kind,
            r.Spec.Parameters, winner, r.Unavailable, r.Seconds, r.Folds, r.Aggregate, r.Final));
        foreach (var b in outcome.Baselines) Add(b, "baseline", false);
        foreach (var c in outcome.Candidates)
        {
            Add(c, "candidate", c.Model == outcome.Winner);
            foreach (var t in c.SearchTrials ?? []) Add(t, "search-trial", false);
        }
        var d = outcome.Dataset;
        return new TrialsView(runId, outcome.Model, d.Fingerprint, d.FeatureSet, d.FeatureSetHash, d.DataSource, d.CodeVersion, d.FinalFrom, d.FinalTo,
            outcome.Metric ?? "", trials);
    }
}
