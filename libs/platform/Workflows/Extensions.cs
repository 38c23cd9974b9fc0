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
    /// Registers workflows and activities, the <see cref="WorkflowClient"/> and <see cref="WorkflowRuns"/>, and the runner as a hosted service, on the
    /// app's state store (<see cref="WorkflowRuntimeOptions.StateStoreName"/> from <see cref="IStateStoreProvider"/>) and
    /// its <see cref="IEventPublisher"/>.
    /// </summary>
    public static IServiceCollection AddWorkflows(this IServiceCollection services, Action<WorkflowRuntimeOptions> configure)
    {
        var options = new WorkflowRuntimeOptions();
        configure(options);
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

    private static IStateStore StoreOf(IServiceProvider sp, WorkflowRuntimeOptions options) =>
        sp.GetRequiredService<IStateStoreProvider>().Get(options.StateStoreName);
}

/// <summary>Runs the app's <see cref="WorkflowRunner"/> for the lifetime of the host.</summary>
public sealed class WorkflowHostedService(WorkflowRunner runner) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => runner.RunAsync(stoppingToken);
}
