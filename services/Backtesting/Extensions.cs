using Platform.Contracts;
using Platform.ServiceDefaults;
using System.Text.Json.Serialization;
using Platform.Backtesting.Apis;
using Platform.Backtesting.Data;
using Platform.Backtesting.Engine.Data;
using Platform.Backtesting.Engine.Modeling;
using Platform.Backtesting.Runs;
using Platform.Backtesting.Testing;
using Platform.Backtesting.Engine.Runs;
using Platform.Backtesting.Workflows;
using Platform.BuildingBlocks;
using Platform.OfflineStore;
using Platform.Workflows;

namespace Platform.Backtesting;

/// <summary>Wires the backtesting service: its services, its subscriptions and its API.</summary>
public static class BacktestingService
{
    /// <summary>The service's composition: its own Program, the embedded host and the test host build it.</summary>
    public static ServiceModule Module { get; } = new(AppTopology.Backtesting, b => b.AddBacktesting(), a => a.MapBacktesting());

    /// <summary>
    /// Configuration: <c>Backtesting:SyntheticFallback</c> (default false) serves symbols the store lacks from the synthetic
    /// market; the report's bar source then names both sources.
    /// </summary>
    public const string SyntheticFallbackKey = "Backtesting:SyntheticFallback";

    /// <summary>The service's workflows and activities, on Dapr's registration options (read by either workflow engine).</summary>
    public static void RegisterWorkflows(Dapr.Workflow.WorkflowRuntimeOptions options)
    {
        options.RegisterWorkflow<BacktestWorkflow>();
        options.RegisterActivity<RunBacktestActivity>();
    }

    public static WebApplicationBuilder AddBacktesting(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        var configuration = builder.Configuration;
        services.AddOfflineBarReader(configuration);
        services.AddSingleton(configuration.GetSection(BacktestLimits.Section).Get<BacktestLimits>() ?? new BacktestLimits());
        services.AddSingleton<IBarSource>(sp => CreateBarSource(sp.GetRequiredService<IBarReader>(), configuration.GetValue(SyntheticFallbackKey, false)));
        services.AddSingleton<IRegisteredModelSource, RegistryModelSource>();
        // The ridge trainer is built in; registering an IWindowModelTrainer (the training service's code) replaces it.
        services.AddSingleton(sp => new BacktestRunner(sp.GetRequiredService<IBarSource>(), sp.GetService<IWindowModelTrainer>(),
            sp.GetRequiredService<IRegisteredModelSource>()));
        services.AddSingleton<BacktestReports>();
        services.AddSingleton<BacktestProgress>();
        // Test-only: inert unless Backtesting:Testing:HaltAt is set (the process-kill suite).
        services.AddSingleton(KillPoints.From(configuration));
        services.AddWorkflowEngine(configuration, RegisterWorkflows);
        services.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals;
            o.SerializerOptions.Converters.Add(new JsonStringEnumConverter());
            // A member the request types do not have is refused (400), not skipped unread: a misspelt option is not silently dropped.
            o.SerializerOptions.UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow;
        });
        return builder;
    }

    public static WebApplication MapBacktesting(this WebApplication app)
    {
        app.MapBacktestApi();
        return app;
    }

    /// <summary>Stored bars first; symbols the store does not have come from the synthetic market when the fallback is on.</summary>
    public static IBarSource CreateBarSource(IBarReader reader, bool syntheticFallback) =>
        syntheticFallback
            ? new FallbackBarSource(new OfflineStoreBarSource(reader), new SyntheticBarSource())
            : new OfflineStoreBarSource(reader);
}
