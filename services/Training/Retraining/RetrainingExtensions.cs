using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Platform.BuildingBlocks;
using Platform.BuildingBlocks.PubSub;
using Platform.BuildingBlocks.State;
using Platform.Contracts;
using Platform.Workflows;

namespace Platform.Training.Retraining;

/// <summary>A model's retraining record with the latest run's state and outcome.</summary>
public sealed record RetrainingView(RetrainingRecord? Record, string? Status, RetrainingStatus? Step, string? Error, RetrainingOutcome? Outcome);

public static class RetrainingExtensions
{
    /// <summary>Options (<c>Training:Retraining</c>), the <c>drift-detected</c> consumer and the schedule.</summary>
    public static IServiceCollection AddRetraining(this IServiceCollection services, IConfiguration configuration)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(_ =>
        {
            var options = new RetrainingOptions();
            configuration.GetSection("Training:Retraining").Bind(options);
            return options;
        });
        services.AddSingleton<RetrainingTrigger>();
        services.AddHostedService<RetrainingSchedule>();
        services.AddEventHandler<DriftDetected>((sp, e, ce, ct) => sp.GetRequiredService<RetrainingTrigger>().OnDriftAsync(e, ce.Id, ct));
        return services;
    }

    public static void RegisterRetraining(this Dapr.Workflow.WorkflowRuntimeOptions options)
    {
        options.RegisterWorkflow<RetrainingWorkflow>();
        options.RegisterActivity<RetrainingTimingsActivity>();
        options.RegisterActivity<PlanRetrainingActivity>();
        options.RegisterActivity<StageModelActivity>();
        options.RegisterActivity<HoldoutEvaluationActivity>();
    }

    /// <summary><c>GET /v1/models/{name}/retraining</c>: the latest retraining run of a model and the triggers skipped.</summary>
    public static IEndpointRouteBuilder MapRetrainingApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/models/{name}/retraining", GetAsync).WithTags("models").WithName("GetRetraining")
            .WithSummary("The latest retraining run of a model (trigger, holdout scores, decision) and the triggers skipped.");
        return app;
    }

    internal static async Task<Results<Ok<RetrainingView>, ProblemHttpResult>> GetAsync(string name, IStateStoreProvider stores, IWorkflowClient workflows,
        CancellationToken ct) =>
        await ViewAsync(name, stores, workflows, ct) is { } view
            ? TypedResults.Ok(view)
            : TypedResults.Problem($"Model '{name}' has not been retrained.", statusCode: StatusCodes.Status404NotFound, title: "Not Found");

    /// <summary>The latest retraining run of a model and the triggers skipped; null when it has never been triggered.</summary>
    public static async Task<RetrainingView?> ViewAsync(string name, IStateStoreProvider stores, IWorkflowClient workflows, CancellationToken ct)
    {
        var record = await stores.PrivateStore().GetAsync<RetrainingRecord>(RetrainingTrigger.Key(name), ct);
        if (record is null) return null;
        if (record.InstanceId is null) return new RetrainingView(record, null, null, null, null);
        var state = await workflows.GetWorkflowStateAsync(record.InstanceId, true, ct);
        if (!state.Exists) return new RetrainingView(record, "pending", null, null, null);
        return new RetrainingView(record, state.RuntimeStatus.ToString().ToLowerInvariant(), state.ReadCustomStatusAs<RetrainingStatus>(),
            state.FailureDetails?.ErrorMessage,
            state.RuntimeStatus == WorkflowRuntimeStatus.Completed ? state.ReadOutputAs<RetrainingOutcome>() : null);
    }
}
