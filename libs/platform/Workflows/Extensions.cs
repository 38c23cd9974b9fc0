using Dapr.Workflow;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Platform.BuildingBlocks;
using Platform.BuildingBlocks.PubSub;
using Platform.BuildingBlocks.State;

namespace Platform.Workflows;

public static class WorkflowServiceCollectionExtensions
{
    /// <summary>Configuration key choosing the engine: <c>embedded</c> or <c>dapr</c>; without it, the runtime mode's.</summary>
    public const string EngineKey = "Workflows:Engine";

    /// <summary>
    /// A service's workflows on the engine of its runtime: Dapr's workflow engine (<c>AddDaprWorkflow</c>, the sidecar's
    /// workflow API) in <c>dapr</c> mode, the embedded runner otherwise; <see cref="EngineKey"/> overrides the choice. Either
    /// way the app gets the port (<see cref="IWorkflowClient"/>) and <see cref="WorkflowRuns"/> on it, and logs the engine at
    /// start-up. The <c>Workflows</c> section binds the embedded runner's settings (<see cref="WorkflowRunnerOptions"/>).
    /// Call it after <c>AddBuildingBlocks</c>, whose runtime mode it reads.
    /// </summary>
    public static IServiceCollection AddWorkflowEngine(this IServiceCollection services, IConfiguration configuration,
        Action<WorkflowRuntimeOptions> register)
    {
        var engine = EngineOf(services, configuration);
        services.AddHostedService(sp => new WorkflowEngineStartupLog(engine, sp.GetRequiredService<ILogger<WorkflowEngineStartupLog>>()));
        if (engine == WorkflowClient.EngineName)
            return services.AddWorkflows(register, options => configuration.GetSection("Workflows").Bind(options));

        var options = new WorkflowRunnerOptions();
        configuration.GetSection("Workflows").Bind(options);
        var registrations = new WorkflowRuntimeOptions();
        register(registrations);
        var registry = WorkflowRegistry.From(registrations);
        services.AddDaprWorkflow(o =>
        {
            register(o);
            o.RegisterStatusPublishing();
        });
        services.AddExceptionHandler<WorkflowEngineUnavailableProblems>();
        services.TryAddSingleton<IWorkflowClient>(sp => new DaprEngineWorkflowClient(sp.GetRequiredService<DaprWorkflowClient>(), registry));
        services.TryAddSingleton(sp => new WorkflowRuns(sp.GetRequiredService<IStateStoreProvider>(), options.StateStoreName,
            sp.GetRequiredService<IWorkflowClient>(), sp.GetService<TimeProvider>()));
        return services;
    }

    /// <summary>
    /// The embedded engine: runs the workflows and activities that <paramref name="register"/> registers on Dapr's
    /// <see cref="Dapr.Workflow.WorkflowRuntimeOptions"/> (the same registrations <c>AddDaprWorkflow</c> takes), with the
    /// <see cref="WorkflowClient"/> (also as <see cref="IWorkflowClient"/>), <see cref="WorkflowRuns"/> and the runner as a
    /// hosted service, on the app's state store (<see cref="WorkflowRunnerOptions.StateStoreName"/> from
    /// <see cref="IStateStoreProvider"/>) and its <see cref="IEventPublisher"/>.
    /// </summary>
    public static IServiceCollection AddWorkflows(this IServiceCollection services, Action<Dapr.Workflow.WorkflowRuntimeOptions> register,
        Action<WorkflowRunnerOptions>? configure = null)
    {
        var registrations = new Dapr.Workflow.WorkflowRuntimeOptions();
        register(registrations);
        var options = new WorkflowRunnerOptions { Registry = WorkflowRegistry.From(registrations) };
        configure?.Invoke(options);
        options.Validate();
        services.AddSingleton(options);
        services.TryAddSingleton<WorkflowSignals>();
        services.TryAddSingleton(sp => new WorkflowClient(
            StoreOf(sp, options), options, sp.GetRequiredService<WorkflowSignals>(), sp.GetService<TimeProvider>()));
        services.TryAddSingleton<IWorkflowClient>(sp => sp.GetRequiredService<WorkflowClient>());
        services.TryAddSingleton(sp => new WorkflowRunner(
            StoreOf(sp, options), sp.GetRequiredService<IEventPublisher>(), sp, options, sp.GetRequiredService<WorkflowSignals>(),
            sp.GetRequiredService<ILogger<WorkflowRunner>>(), sp.GetService<TimeProvider>()));
        services.TryAddSingleton(sp => new WorkflowRuns(sp.GetRequiredService<IStateStoreProvider>(), options.StateStoreName,
            sp.GetRequiredService<IWorkflowClient>(), sp.GetService<TimeProvider>()));
        services.AddHostedService<WorkflowHostedService>();
        return services;
    }

    /// <summary><see cref="EngineKey"/> when set, otherwise the engine of the runtime mode that <c>AddBuildingBlocks</c> registered.</summary>
    private static string EngineOf(IServiceCollection services, IConfiguration configuration)
    {
        var configured = configuration[EngineKey];
        if (!string.IsNullOrEmpty(configured))
        {
            return configured.ToLowerInvariant() switch
            {
                WorkflowClient.EngineName => WorkflowClient.EngineName,
                DaprEngineWorkflowClient.EngineName => DaprEngineWorkflowClient.EngineName,
                _ => throw new InvalidOperationException($"{EngineKey} must be '{WorkflowClient.EngineName}' or '{DaprEngineWorkflowClient.EngineName}', not '{configured}'."),
            };
        }
        var runtime = services.LastOrDefault(d => d.ServiceType == typeof(RuntimeSettings))?.ImplementationInstance as RuntimeSettings
            ?? throw new InvalidOperationException("AddWorkflowEngine reads the runtime mode: call AddBuildingBlocks first.");
        return runtime.Mode == RuntimeMode.Dapr ? DaprEngineWorkflowClient.EngineName : WorkflowClient.EngineName;
    }

    private static IStateStore StoreOf(IServiceProvider sp, WorkflowRunnerOptions options) =>
        sp.GetRequiredService<IStateStoreProvider>().Get(options.StateStoreName);
}

/// <summary>Runs the app's <see cref="WorkflowRunner"/> for the lifetime of the host.</summary>
public sealed class WorkflowHostedService(WorkflowRunner runner) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => runner.RunAsync(stoppingToken);
}

/// <summary>Says at start-up which engine runs the app's workflows.</summary>
internal sealed class WorkflowEngineStartupLog(string engine, ILogger<WorkflowEngineStartupLog> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (engine == DaprEngineWorkflowClient.EngineName)
            logger.LogInformation("Workflows run on Dapr's workflow engine (the sidecar's workflow API); {Key}=embedded selects the embedded runner", WorkflowServiceCollectionExtensions.EngineKey);
        else
            logger.LogInformation("Workflows run on the embedded runner (state store and pub/sub ports); {Key}=dapr selects Dapr's workflow engine", WorkflowServiceCollectionExtensions.EngineKey);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
