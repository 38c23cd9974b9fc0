using Microsoft.AspNetCore.Http.HttpResults;
using Platform.Training.Data;
using Platform.Training.Runs;
using Platform.Training.Workflows;
using Platform.Workflows;

namespace Platform.Training.Apis;

public sealed record TrainingRunAccepted(string Id, string Status, string Location);

/// <summary>A run as the API shows it: status, the current step and its progress, the error when it failed, the outcome once done.</summary>
public sealed record TrainingRunView(string Id, string Status, string? Step, int Done, int Total, string? Detail,
    TrainingRequest? Request, DateTimeOffset CreatedAt, DateTimeOffset? CompletedAt, string? Error, TrainingOutcome? Outcome);

public static class TrainingApi
{
    public static RouteGroupBuilder MapTrainingRunsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/training-runs").WithTags("Training runs");
        group.MapPost("/", StartAsync).WithName("StartTrainingRun").WithSummary("Start a training run (a durable workflow); poll it with GET.");
        group.MapGet("/{id}", GetAsync).WithName("GetTrainingRun").WithSummary("A run's status, step, progress and, once done, its walk-forward reports.");
        group.MapGet("/{id}/trials", TrialsAsync).WithName("GetTrainingRunTrials")
            .WithSummary("Every baseline, candidate and search trial of a finished run with parameters, per-fold and final-period metrics.");
        return group;
    }

    internal static async Task<Results<Accepted<TrainingRunAccepted>, ValidationProblem>> StartAsync(
        TrainingRequest request, WorkflowClient workflows, TrainingBarSource bars, CancellationToken ct)
    {
        var errors = request.Validate();
        if (errors.Count == 0) errors = await bars.CheckAsync(request, ct);
        if (errors.Count > 0) return TypedResults.ValidationProblem(errors, title: "The training request is invalid.");
        var id = "train-" + Guid.NewGuid().ToString("N");
        await workflows.ScheduleNewWorkflowAsync(nameof(TrainingWorkflow), id, request, ct);
        var location = $"/v1/training-runs/{id}";
        return TypedResults.Accepted(location, new TrainingRunAccepted(id, "pending", location));
    }

    internal static async Task<Results<Ok<TrainingRunView>, ProblemHttpResult>> GetAsync(
        string id, WorkflowClient workflows, TrainingProgress progress, CancellationToken ct)
    {
        WorkflowState state;
        try { state = await workflows.GetWorkflowStateAsync(id, getInputsAndOutputs: true, ct); }
        catch (ArgumentException) { return NotFound(id); }
        if (!state.Exists || state.Name != nameof(TrainingWorkflow)) return NotFound(id);
        var status = state.ReadCustomStatusAs<TrainingStatus>();
        var outcome = state.RuntimeStatus == WorkflowRuntimeStatus.Completed ? state.ReadOutputAs<TrainingOutcome>() : null;
        return TypedResults.Ok(new TrainingRunView(id, state.RuntimeStatus.ToString().ToLowerInvariant(), status?.Step,
            status?.Done ?? 0, status?.Total ?? 0, state.RuntimeStatus.IsTerminal() ? null : progress.Get(id),
            state.ReadInputAs<TrainingRequest>(), state.CreatedAt, state.CompletedAt, state.FailureDetails?.ErrorMessage, outcome));
    }

    internal static async Task<Results<Ok<TrialsView>, ProblemHttpResult>> TrialsAsync(string id, WorkflowClient workflows, CancellationToken ct)
    {
        WorkflowState state;
        try { state = await workflows.GetWorkflowStateAsync(id, getInputsAndOutputs: true, ct); }
        catch (ArgumentException) { return NotFound(id); }
        if (!state.Exists || state.Name != nameof(TrainingWorkflow)) return NotFound(id);
        if (state.RuntimeStatus != WorkflowRuntimeStatus.Completed || state.ReadOutputAs<TrainingOutcome>() is not { } outcome)
            return TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "The run has not completed.",
                detail: $"Training run '{id}' is {state.RuntimeStatus.ToString().ToLowerInvariant()}; its trials are listed once it completes.");
        return TypedResults.Ok(TrialsView.From(id, outcome));
    }

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
