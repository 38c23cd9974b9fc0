using Platform.ServiceDefaults;
using System.Text.Json.Serialization;
using Platform.BuildingBlocks;
using Platform.BuildingBlocks.PubSub;
using Platform.BuildingBlocks.State;
using Platform.Contracts;
using Platform.Modeling.Registry;
using Platform.OfflineStore;
using Platform.Training.Apis;
using Platform.Training.Data;
using Platform.Training.Retraining;
using Platform.Training.Runs;
using Platform.Training.Testing;
using Platform.Training.Workflows;
using Platform.Workflows;

namespace Platform.Training;

/// <summary>Wires the training service: datasets, the registry on the shared modelstore, the training workflow and the API.</summary>
public static class TrainingService
{
    /// <summary>The service's composition: its own Program, the embedded host and the test host build it.</summary>
    public static ServiceModule Module { get; } = new(AppTopology.Training, b => b.AddTraining(), a => a.MapTraining());

    /// <summary>Configuration: bars per symbol a <c>dataSource: synthetic</c> run generates (default 1500).</summary>
    public const string SyntheticBarsKey = "Training:SyntheticBars";

    /// <summary>The service's workflows and activities, on Dapr's registration options (read by either workflow engine).</summary>
    public static void RegisterWorkflows(Dapr.Workflow.WorkflowRuntimeOptions options)
    {
        options.RegisterWorkflow<TrainingWorkflow>();
        options.RegisterActivity<LoadDatasetActivity>();
        options.RegisterActivity<EvaluateCandidateActivity>();
        options.RegisterActivity<ScoreChampionActivity>();
        options.RegisterActivity<RegisterModelActivity>();
        options.RegisterActivity<PromoteModelActivity>();
        options.RegisterRetraining();
    }

    public static WebApplicationBuilder AddTraining(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        var configuration = builder.Configuration;
        services.AddOfflineBarReader(configuration);
        var limits = configuration.GetSection(TrainingLimits.Section).Get<TrainingLimits>() ?? new TrainingLimits();
        services.AddSingleton(limits);
        services.AddHealthChecks().AddCheck<TrainingMemoryCheck>("training-memory", tags: ["ready"]);
        services.AddSingleton(sp => new TrainingBarSource(sp.GetRequiredService<IBarReader>(), configuration.GetValue(SyntheticBarsKey, 1500)));
        services.AddSingleton<ICandidateRuntime, NativeCandidateRuntime>();
        services.AddSingleton<TrainingDatasets>();
        services.AddSingleton<TrainingProgress>();
        // Test-only: inert unless Training:Testing:HaltAt is set (the process-kill suite).
        services.AddSingleton(KillPoints.From(configuration));
        services.AddSingleton(sp => new ModelRegistry(sp.GetRequiredService<IStateStoreProvider>().Get(Components.ModelStore),
            sp.GetRequiredService<IEventPublisher>(), sp.GetService<TimeProvider>()));
        services.AddHostedService<RegistryOutboxFlush>();
        services.AddWorkflowEngine(configuration, RegisterWorkflows);
        services.AddRetraining(configuration);
        services.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals;
            o.SerializerOptions.Converters.Add(new JsonStringEnumConverter());
            // A member the request types do not have is refused (400), not skipped unread: a misspelt option is not silently dropped.
            o.SerializerOptions.UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow;
        });
        return builder;
    }

    public static WebApplication MapTraining(this WebApplication app)
    {
        app.MapTrainingRunsApi();
        app.MapModelsApi();
        app.MapRetrainingApi();
        return app;
    }
}

/// <summary>Publishes registry events left in the outbox by a crash between a transition's commit and its publish.</summary>
internal sealed class RegistryOutboxFlush(ModelRegistry registry, ILogger<RegistryOutboxFlush> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try { await registry.FlushOutboxAsync(stoppingToken); }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            logger.LogWarning(ex, "Could not flush the model registry outbox at start-up; it is retried after the next transition.");
        }
    }
}
