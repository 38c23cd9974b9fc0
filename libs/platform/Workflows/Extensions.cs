using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Platform.BuildingBlocks.PubSub;
using Platform.BuildingBlocks.State;

namespace Platform.Workflows;

public static class WorkflowServiceCollectionExtensions
{
    /// <summary>
    /// The embedded engine: runs the workflows and activities that <paramref name="register"/> registers on Dapr's
    /// <see cref="Dapr.Workflow.WorkflowRuntimeOptions"/> (the same registrations <c>AddDaprWorkflow</c> takes), with the
    /// <see cref="WorkflowClient"/>, <see cref="WorkflowRuns"/> and the runner as a hosted service, on the app's state store
    /// (<see cref="WorkflowRunnerOptions.StateStoreName"/> from <see cref="IStateStoreProvider"/>) and its <see cref="IEventPublisher"/>.
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
        services.TryAddSingleton(sp => new WorkflowRunner(
            StoreOf(sp, options), sp.GetRequiredService<IEventPublisher>(), sp, options, sp.GetRequiredService<WorkflowSignals>(),
            sp.GetRequiredService<ILogger<WorkflowRunner>>(), sp.GetService<TimeProvider>()));
        services.TryAddSingleton(sp => new WorkflowRuns(sp.GetRequiredService<IStateStoreProvider>(), options,
            sp.GetRequiredService<WorkflowClient>(), sp.GetService<TimeProvider>()));
        services.AddHostedService<WorkflowHostedService>();
        return services;
    }

    private static IStateStore StoreOf(IServiceProvider sp, WorkflowRunnerOptions options) =>
        sp.GetRequiredService<IStateStoreProvider>().Get(options.StateStoreName);
}

/// <summary>Runs the app's <see cref="WorkflowRunner"/> for the lifetime of the host.</summary>
public sealed class WorkflowHostedService(WorkflowRunner runner) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => runner.RunAsync(stoppingToken);
}
